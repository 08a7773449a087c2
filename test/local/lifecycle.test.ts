/**
 * Scale-in that keeps WebSockets (lib/agent/lifecycle.ts) on real nginx nodes of the local topology, each with
 * the bundled health agent beside it as on the instances. The AWS boundary is stood in for at its two edges: a
 * fake instance metadata service (IMDSv2, on loopback) that says when the group terminates the node, and a
 * fake `aws` executable first on PATH that records every call. Two nodes run side by side: one whose WebSocket
 * closes during the drain, one whose WebSocket never closes (a tiny maximum).
 */
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo, connect, Socket } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LIFECYCLE_HOOK_NAME } from '../../lib/agent/install';
import { allocateBlock, freePorts } from '../../lib/local/addresses';
import { writeAgentBundle } from '../../lib/local/health-agent';
import { NginxNode, startNginxNode } from '../../lib/local/nginx-node';
import { ManagedProcess, spawnManaged } from '../../lib/local/processes';
import { findNginx } from '../../lib/nginx/nginx-binary';
import { nginxRenderOptions } from '../../lib/nginx/nginx-options';
import { renderEdgeConfig } from '../../lib/nginx/render';
import { DEFAULT_SETTINGS } from '../../lib/settings';

jest.setTimeout(30_000);

const block = allocateBlock();
const host = block.address(0, 1);
const dir = mkdtempSync(path.join(tmpdir(), 'sticky-edge-lifecycle-'));
const GROUP = 'sticky-edge-test-group';
/** Every rig's calls land in one file; each rig picks its own by its instance id. */
const AWS_LOG = path.join(dir, 'aws-calls.log');

/** The stand-in for the AWS CLI: one line per call (time and arguments); names the group when asked. */
function writeFakeAws(): string {
  const bin = path.join(dir, 'bin');
  const aws = path.join(bin, 'aws');
  mkdirSync(bin);
  writeFileSync(
    aws,
    [
      '#!/bin/sh',
      `printf '%s %s\\n' "$(date +%s%3N)" "$*" >> '${AWS_LOG}'`,
      `if [ "$2" = describe-auto-scaling-instances ]; then echo ${GROUP}; fi`,
      '',
    ].join('\n'),
  );
  chmodSync(aws, 0o755);
  return bin;
}

interface AwsCall {
  readonly at: number;
  readonly args: string;
}

function awsCalls(instanceId: string): AwsCall[] {
  let text = '';
  try {
    text = readFileSync(AWS_LOG, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.includes(instanceId))
    .map((l) => ({
      at: Number(l.slice(0, l.indexOf(' '))),
      args: l.slice(l.indexOf(' ') + 1),
    }));
}

/** IMDSv2 as EC2 serves it: a token from PUT /latest/api/token, required on every GET. */
function fakeImds(instanceId: string) {
  let state = 'InService';
  const server = createServer((req, res) => {
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      res.writeHead(ttl >= 1 && ttl <= 21600 ? 200 : 400).end('token-1');
      return;
    }
    if (req.headers['x-aws-ec2-metadata-token'] !== 'token-1') {
      res.writeHead(401).end();
      return;
    }
    const items: Record<string, string> = {
      '/latest/meta-data/autoscaling/target-lifecycle-state': state,
      '/latest/meta-data/instance-id': instanceId,
    };
    const item = items[req.url ?? ''];
    res.writeHead(item === undefined ? 404 : 200).end(item);
  });
  return {
    server,
    terminate: () => (state = 'Terminated'),
  };
}

/** The backend end of a WebSocket: answers the handshake with 101 and echoes; plain requests get 200. */
function webSocketBackend(): Server {
  const server = createServer((_req, res) => res.end('ok\n'));
  server.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    );
    socket.on('data', (d) => socket.write(d));
    // The http server's sockets allow half-open connections: close when the peer does, as a WebSocket server would.
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
  });
  return server;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen({ host, port: 0 }, () =>
      resolve((server.address() as AddressInfo).port),
    ),
  );
}

/** A WebSocket handshake through the node; resolves with the upgraded socket. */
function openWebSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = request({
      host,
      port,
      path: '/ws',
      headers: { Connection: 'Upgrade', Upgrade: 'websocket' },
    });
    req.on('upgrade', (_res, socket: Socket) => resolve(socket));
    req.on('response', (res) =>
      reject(new Error(`no upgrade: HTTP ${res.statusCode}`)),
    );
    req.on('error', reject);
    req.end();
  });
}

function echo(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('data', (d) => resolve(String(d)));
    socket.once('error', reject);
    socket.write(text);
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
}

async function until<T>(
  what: string,
  probe: () => T | undefined,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`${what} did not happen in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Rig {
  readonly instanceId: string;
  readonly node: NginxNode;
  readonly agent: ManagedProcess;
  readonly webSocket: Socket;
  readonly terminate: () => void;
  readonly stop: () => Promise<void>;
}

let bundle: string;
let fakeAwsBin: string;
let backendPort: number;
const backend = webSocketBackend();

async function startRig(name: string, drainSeconds: number): Promise<Rig> {
  const instanceId = `i-0${name}`;
  const imds = fakeImds(instanceId);
  const imdsPort = await listen(imds.server);
  const [port, statusPort] = await freePorts(host, 2);
  const nodeDir = path.join(dir, name);
  mkdirSync(nodeDir);
  const http = renderEdgeConfig(
    nginxRenderOptions(
      { ...DEFAULT_SETTINGS, lb: 'alb', certificateArn: undefined },
      {
        trust: [`${block.prefix}.9.0/24`],
        backends: [{ address: `${host}:${backendPort}`, id: 'app-a' }],
        listen: `${host}:${port}`,
        statusListen: `${host}:${statusPort}`,
      },
    ),
  );
  const node = await startNginxNode(nodeDir, host, port, http, {
    workerProcesses: 1,
    bufferAccessLog: false,
  });
  const agent = spawnManaged(
    `agent ${name}`,
    process.execPath,
    [
      bundle,
      '--conf',
      node.configFile,
      '--prefix',
      nodeDir,
      '--nginx',
      findNginx(),
      '--lifecycle-hook',
      LIFECYCLE_HOOK_NAME,
      '--region',
      'us-east-1',
      '--websocket-drain',
      String(drainSeconds),
      '--heartbeat',
      '1',
      '--lifecycle-poll',
      '100',
      '--imds',
      `http://${host}:${imdsPort}`,
    ],
    undefined,
    { ...process.env, PATH: `${fakeAwsBin}:${process.env.PATH}` },
  );
  await agent.waitForLine(/watching the instance's lifecycle/, 10_000);
  const webSocket = await openWebSocket(port);
  webSocket.on('error', () => undefined);
  return {
    instanceId,
    node,
    agent,
    webSocket,
    terminate: imds.terminate,
    async stop() {
      webSocket.destroy();
      await agent.stop();
      await node.stop();
      await new Promise((resolve) => imds.server.close(resolve));
    },
  };
}

const rigs: Promise<Rig>[] = [];

beforeAll(async () => {
  fakeAwsBin = writeFakeAws();
  bundle = await writeAgentBundle(dir);
  backendPort = await listen(backend);
  rigs.push(startRig('closes', 60), startRig('stays', 2));
  await Promise.all(rigs);
});

afterAll(async () => {
  await Promise.all(rigs.map(async (r) => (await r).stop()));
  await new Promise((resolve) => backend.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const calls = (r: Rig, verb: string) =>
  awsCalls(r.instanceId).filter((c) =>
    c.args.startsWith(`autoscaling ${verb} `),
  );

test('a terminating node keeps its WebSocket with heartbeats, takes no new connection, and completes soon after the WebSocket closes', async () => {
  const r = await rigs[0];
  expect(await echo(r.webSocket, 'before')).toBe('before');
  // In service: the agent only watches.
  expect(awsCalls(r.instanceId)).toEqual([]);
  r.terminate();
  await r.agent.waitForLine(/terminating: nginx quits gracefully/, 5_000);
  expect(await refused(r.node.port)).toBe(true);
  await until(
    'two heartbeats',
    () =>
      calls(r, 'record-lifecycle-action-heartbeat').length >= 2
        ? true
        : undefined,
    5_000,
  );
  expect(await echo(r.webSocket, 'during')).toBe('during');
  expect(calls(r, 'complete-lifecycle-action')).toEqual([]);
  const closedAt = Date.now();
  r.webSocket.end();
  const complete = await until(
    'complete-lifecycle-action',
    () => calls(r, 'complete-lifecycle-action')[0],
    5_000,
  );
  // The agent looks every 250 ms; the rest is a loaded machine spawning the fake aws.
  expect(complete.at - closedAt).toBeLessThan(2_500);
  const action = `--lifecycle-hook-name ${LIFECYCLE_HOOK_NAME} --auto-scaling-group-name ${GROUP} --instance-id ${r.instanceId}`;
  expect(complete.args).toBe(
    `autoscaling complete-lifecycle-action ${action} --lifecycle-action-result CONTINUE --region us-east-1`,
  );
  for (const beat of calls(r, 'record-lifecycle-action-heartbeat'))
    expect(beat.args).toBe(
      `autoscaling record-lifecycle-action-heartbeat ${action} --region us-east-1`,
    );
  expect(awsCalls(r.instanceId)[0].args).toMatch(
    /^autoscaling describe-auto-scaling-instances --instance-ids i-0closes /,
  );
  expect(calls(r, 'complete-lifecycle-action')).toHaveLength(1);
});

test('a WebSocket that never closes is closed by the node at the maximum, and the action completes then', async () => {
  const r = await rigs[1];
  const closed = new Promise<number>((resolve) =>
    r.webSocket.once('close', () => resolve(Date.now())),
  );
  const terminatedAt = Date.now();
  r.terminate();
  await r.agent.waitForLine(/terminating: nginx quits gracefully/, 5_000);
  expect(await echo(r.webSocket, 'held')).toBe('held');
  const complete = await until(
    'complete-lifecycle-action',
    () => calls(r, 'complete-lifecycle-action')[0],
    8_000,
  );
  // The maximum is 2 s from when the agent saw Terminated (after this test set it); the agent looks every 250 ms.
  expect(complete.at - terminatedAt).toBeGreaterThanOrEqual(2_000);
  expect(complete.at - terminatedAt).toBeLessThan(6_000);
  expect((await closed) - terminatedAt).toBeLessThan(6_000);
  expect(
    calls(r, 'record-lifecycle-action-heartbeat').length,
  ).toBeGreaterThanOrEqual(1);
  expect(r.agent.recentOutput()).toMatch(
    /connections still open after 2 s: nginx stops and closes them/,
  );
});
