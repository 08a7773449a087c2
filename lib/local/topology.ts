/**
 * The local topology: HAProxy as the load balancer, nginx edge nodes running the rendered config, demo
 * backends as separate processes, all on their own 127.x.y.z addresses. It mirrors the AWS deployment:
 *
 *   client 127.R.n.h ──► HAProxy 127.R.0.1 ──► nginx 127.R.0.1x ──► (source 127.0.0.1) ──► backend 127.R.0.2x
 *
 * nginx trusts only the load balancer's address (127.R.0.1/32), as it trusts only the NLB's subnets in AWS.
 * nginx reaches the backends from 127.0.0.1, the address Linux picks for loopback connections; it stands for
 * the NAT gateway's address, and it is the only proxy address the backends trust.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { findNginx } from '../nginx/nginx-binary';
import type { EdgeRenderOptions } from '../nginx/render-options';
import {
  AddressBlock,
  allocateBlock,
  freePort,
  freePorts,
  ipv6ClientAddress,
  releaseBlock,
} from './addresses';
import {
  BackendProcess,
  startBackendProcess,
  writeBackendBundle,
} from './backend-process';
import { findHaproxy } from './binaries';
import { LocalCertificate, makeCertificate } from './certificate';
import { LoadBalancer, startLoadBalancer } from './haproxy';
import { startHealthAgent, writeAgentBundle } from './health-agent';
import { NginxNode, startNginxNode } from './nginx-node';
import { nodeHttpConfig, nodeRenderOptions } from './node-config';
import { ManagedProcess, waitUntilListening } from './processes';
import type { Topology, TopologyOptions } from './topology-contract';

/** The address nginx connects to the backends from: Linux's source address for loopback destinations. */
export const NAT_ADDRESS = '127.0.0.1';

const LB_HOST = 1;
const FIRST_NODE_HOST = 11;
const FIRST_BACKEND_HOST = 21;
const MAX_NODES = 9;
const MAX_BACKENDS = 9;

const backendName = (index: number) => `app-${String.fromCharCode(97 + index)}`;

/** Something started that must be stopped, whatever happens next. */
type Stoppable = { stop(): Promise<void> };

export async function startTopology(
  options: TopologyOptions,
): Promise<Topology> {
  const nodeCount = options.nginxNodes ?? 2;
  const backendCount = options.backends ?? 2;
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > MAX_NODES)
    throw new Error(`nginxNodes must be 1-${MAX_NODES}, got ${nodeCount}`);
  if (
    !Number.isInteger(backendCount) ||
    backendCount < 1 ||
    backendCount > MAX_BACKENDS
  ) {
    throw new Error(`backends must be 1-${MAX_BACKENDS}, got ${backendCount}`);
  }
  options.signal?.throwIfAborted();
  // A missing nginx or HAProxy is reported (with how to install it) before anything starts.
  findNginx();
  findHaproxy();
  const dir = await mkdtemp(
    path.join(options.tempParent ?? tmpdir(), 'sticky-edge-local-'),
  );
  const block = allocateBlock();
  const started: Stoppable[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanUp = () => {
    cleaning ??= (async () => {
      await Promise.all(started.map((s) => s.stop()));
      await rm(dir, { recursive: true, force: true });
      releaseBlock(block);
      options.signal?.removeEventListener('abort', onAbort);
    })();
    return cleaning;
  };
  // Each process also gets the signal, so one that starts after the abort is stopped at once.
  const onAbort = () => void cleanUp();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await build(
      options,
      block,
      dir,
      nodeCount,
      backendCount,
      started,
      cleanUp,
    );
  } catch (err) {
    await cleanUp();
    // An abort cleans up while the start is still under way, and a step already running then (a node writing
    // its config) can create files in the directory again: remove it once more now that the start has settled.
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function build(
  options: TopologyOptions,
  block: AddressBlock,
  dir: string,
  nodeCount: number,
  backendCount: number,
  started: Stoppable[],
  cleanUp: () => Promise<void>,
): Promise<Topology> {
  const lbAddress = block.address(0, LB_HOST);
  const bundle = await writeBackendBundle(dir);
  const backends: BackendProcess[] = [];
  const addBackends = async (count: number) => {
    const fresh = await allStarted(
      Array.from({ length: count - backends.length }, async (_, i) => {
        const index = backends.length + i;
        const host = block.address(0, FIRST_BACKEND_HOST + index);
        const backend = await startBackendProcess(
          bundle,
          backendName(index),
          host,
          await freePort(host),
          NAT_ADDRESS,
          options.signal,
        );
        started.push(backend);
        return backend;
      }),
    );
    backends.push(...fresh);
  };
  await addBackends(backendCount);

  const nodeHosts = Array.from({ length: MAX_NODES }, (_, i) =>
    block.address(0, FIRST_NODE_HOST + i),
  );
  // Each node slot's traffic and status ports, found when the slot is first used.
  const nodePorts: number[] = [];
  const statusPorts: number[] = [];
  // What the nodes drain (a node joining later too), and a node's own drain mid-roll (drainNode).
  let drainAll = options.drain;
  const drains: (readonly string[] | undefined)[] = [];
  const renderFor = (
    index: number,
  ): { options: EdgeRenderOptions; http: string } => {
    const renderOptions = nodeRenderOptions(
      { ...options, drain: drains[index] ?? drainAll },
      {
        listen: `${nodeHosts[index]}:${nodePorts[index]}`,
        statusListen: `${nodeHosts[index]}:${statusPorts[index]}`,
        trust: [`${lbAddress}/32`],
        // Route ids are the backends' names, as the CDK app names its app servers.
        backends: backends.map((b) => ({ address: b.address, id: b.name })),
      },
    );
    return {
      options: renderOptions,
      http: nodeHttpConfig(options, index, renderOptions),
    };
  };
  const startNode = async (i: number): Promise<NginxNode> => {
    const host = nodeHosts[i];
    if (nodePorts[i] === undefined)
      [nodePorts[i], statusPorts[i]] = await freePorts(host, 2);
    const nodeDir = path.join(dir, `nginx-${i}`);
    await mkdir(nodeDir, { recursive: true });
    const node = await startNginxNode(
      nodeDir,
      host,
      nodePorts[i],
      renderFor(i).http,
      {
        workerProcesses: options.nginxWorkers ?? 1,
        bufferAccessLog: options.bufferAccessLog ?? false,
      },
      options.signal,
    );
    started.push(node);
    return node;
  };

  const nodes: NginxNode[] = await allStarted(
    Array.from({ length: nodeCount }, (_, i) => startNode(i)),
  );
  const nodeAddresses = () => nodes.map((n) => `${n.host}:${n.port}`);

  const [lbPort, ipv6Port] = await freePorts(lbAddress, 2);
  const certificate: LocalCertificate | undefined = options.tls
    ? await makeCertificate(dir, 'lb', [
        lbAddress,
        ...(options.tls.hostnames ?? []),
      ])
    : undefined;
  const lb: LoadBalancer = await startLoadBalancer(
    dir,
    {
      lb: options.lb,
      listen: `${lbAddress}:${lbPort}`,
      source: lbAddress,
      nodes: nodeAddresses(),
      ipv6ClientListen: `${lbAddress}:${ipv6Port}`,
      // The seed listens without proxy_protocol: its NLB would have proxy protocol off.
      proxyProtocol: !options.naive,
      tlsBundle: certificate?.bundleFile,
    },
    options.signal,
  );
  started.push(lb);
  await waitUntilListening(lb, lbAddress, lbPort, 10_000);
  await waitUntilListening(lb, lbAddress, ipv6Port, 10_000);

  // The seed has no agent: it stands for the article's configuration as written.
  const agents: ManagedProcess[] =
    (options.healthAgent ?? true) && !options.naive
      ? await (async () => {
          const agentBundle = await writeAgentBundle(dir);
          return allStarted(
            nodes.map(async (node, i) => {
              const agent = await startHealthAgent(
                agentBundle,
                path.join(dir, `nginx-${i}`),
                node.configFile,
                options.signal,
              );
              started.push(agent);
              return agent;
            }),
          );
        })()
      : [];
  const backendAt = (index: number) => {
    const backend = backends[index];
    if (backend === undefined)
      throw new Error(`no backend ${index}: there are ${backends.length}`);
    return backend;
  };

  let renderedOptions = nodes.map((_, i) => renderFor(i).options);
  return {
    url: `${certificate ? 'https' : 'http'}://${lbAddress}:${lbPort}`,
    ipv6Url: `http://${lbAddress}:${ipv6Port}`,
    certificate,
    get nginxUrls() {
      return nodes.map((n) => `http://${n.host}:${n.port}`);
    },
    get backendUrls() {
      return backends.map((b) => b.url);
    },
    get backendPids() {
      return backends.map((b) => b.pid);
    },
    get nginxPids() {
      return nodes.map((n) => n.pid);
    },
    lbPid: lb.child.pid as number,
    get backendNames() {
      return backends.map((b) => b.name);
    },
    lbAddress,
    natAddress: NAT_ADDRESS,
    get renderOptions() {
      return renderedOptions[0];
    },
    get nodeRenderOptions() {
      return renderedOptions;
    },
    get accessLogs() {
      return nodes.map((n) => n.accessLog);
    },
    get nginxConfigFiles() {
      return nodes.map((n) => n.configFile);
    },
    // The seed's config has no status listener.
    get statusUrls() {
      return options.naive
        ? []
        : nodes.map((n, i) => `http://${n.host}:${statusPorts[i]}`);
    },
    ipv6ClientAddress: (network, host) =>
      ipv6ClientAddress(block, network, host),
    clientAddress: (network, host) => {
      if (network < 1)
        throw new Error(`client network must be 1-255, got ${network}`);
      return block.address(network, host);
    },
    async scaleBackends(count) {
      if (!Number.isInteger(count) || count < 1 || count > MAX_BACKENDS) {
        throw new Error(
          `scaleBackends needs 1-${MAX_BACKENDS} backends, got ${count}`,
        );
      }
      await addBackends(count);
      const removed = backends.splice(count);
      await Promise.all(nodes.map((node, i) => node.reload(renderFor(i).http)));
      renderedOptions = nodes.map((_, i) => renderFor(i).options);
      await Promise.all(removed.map((b) => b.stop()));
    },
    async scaleNginx(count, drainMs = 5_000) {
      if (!Number.isInteger(count) || count < 1 || count > MAX_NODES)
        throw new Error(`scaleNginx needs 1-${MAX_NODES} nodes, got ${count}`);
      if (count > nodes.length) {
        nodes.push(
          ...(await allStarted(
            Array.from({ length: count - nodes.length }, (_, i) =>
              startNode(nodes.length + i),
            ),
          )),
        );
        renderedOptions = nodes.map((_, i) => renderFor(i).options);
        await lb.setNodes(nodeAddresses(), drainMs);
        return;
      }
      // Leaving nodes stop taking new connections first and keep the ones they hold for the drain.
      const leaving = nodes.splice(count);
      renderedOptions = nodes.map((_, i) => renderFor(i).options);
      await lb.setNodes(nodeAddresses(), drainMs);
      await Promise.all(leaving.map((node) => node.stop()));
    },
    async drain(names) {
      const before = { drainAll, drains: [...drains] };
      drainAll = names;
      drains.length = 0;
      let configs: string[];
      try {
        // Rendered (and so validated) for every node before any reloads.
        configs = nodes.map((_, i) => renderFor(i).http);
      } catch (err) {
        drainAll = before.drainAll;
        drains.push(...before.drains);
        throw err;
      }
      await Promise.all(nodes.map((node, i) => node.reload(configs[i])));
      renderedOptions = nodes.map((_, i) => renderFor(i).options);
    },
    async drainNode(index, names) {
      const node = nodes[index];
      if (node === undefined)
        throw new Error(`no nginx node ${index}: there are ${nodes.length}`);
      const before = drains[index];
      drains[index] = names;
      let http: string;
      try {
        http = renderFor(index).http;
      } catch (err) {
        drains[index] = before;
        throw err;
      }
      await node.reload(http);
      renderedOptions = nodes.map((_, i) => renderFor(i).options);
    },
    async killBackend(index) {
      await backendAt(index).kill();
    },
    async killNginxNode(index) {
      const node = nodes[index];
      if (node === undefined)
        throw new Error(`no nginx node ${index}: there are ${nodes.length}`);
      await node.kill();
    },
    freezeBackend: (index) => backendAt(index).freeze(),
    thawBackend: (index) => backendAt(index).thaw(),
    healthAgentOutput: () => agents.map((a) => a.recentOutput()),
    stop: cleanUp,
  };
}

/**
 * Like `Promise.all`, but waits for every start to settle before failing, so nothing is still starting (and
 * about to be added to the stop list) when the clean-up runs.
 */
async function allStarted<T>(starts: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(starts);
  const failure = results.find(
    (r): r is PromiseRejectedResult => r.status === 'rejected',
  );
  if (failure) throw failure.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
