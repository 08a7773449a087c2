/**
 * The load-balancer stand-in. HAProxy plays the NLB (TCP, PROXY protocol v2) or the ALB (HTTP, appending
 * X-Forwarded-For), and connects to nginx from its own address, the only address nginx trusts.
 */
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { LB_HEALTH_CHECK } from '../nginx/nginx-options';
import { HEALTH_PATH } from '../nginx/render';
import type { LbKind } from '../settings';
import { findHaproxy } from './binaries';
import { ManagedProcess, spawnManaged } from './processes';

export interface LoadBalancerConfig {
  readonly lb: LbKind;
  /** `ADDR:PORT` clients connect to. */
  readonly listen: string;
  /**
   * The address HAProxy connects to nginx from, as the NLB does with client IP preservation off (how the CDK
   * app configures its target group) and as the ALB always does.
   */
  readonly source: string;
  /** `ADDR:PORT` of each nginx node. */
  readonly nodes: readonly string[];
  /**
   * Send PROXY v2 headers in `nlb` mode. Off stands for an NLB whose target group has proxy protocol disabled,
   * which is what the seed's plain `listen 80` needs.
   * @default true
   */
  readonly proxyProtocol?: boolean;
  /**
   * `ADDR:PORT` where IPv6 clients arrive: each connection opens with a PROXY header naming its client
   * (`accept-proxy`), and HAProxy carries that address on as the client's, in its own PROXY v2 header (nlb) or
   * X-Forwarded-For (alb), as a dual-stack load balancer carries an IPv6 client's to IPv4 targets. It stands
   * for the internet side of the load balancer: only this host reaches it (loopback).
   * @default - none
   */
  readonly ipv6ClientListen?: string;
  /**
   * End TLS here with this PEM (certificate and key), as the NLB's TLS listener (still TCP and PROXY v2 to
   * nginx) or the ALB's HTTPS listener does.
   * @default - plain TCP or HTTP
   */
  readonly tlsBundle?: string;
}

export function renderLoadBalancerConfig(config: LoadBalancerConfig): string {
  const http = config.lb === 'alb';
  const sendProxy =
    !http && config.proxyProtocol !== false ? ' send-proxy-v2' : '';
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    `  mode ${http ? 'http' : 'tcp'}`,
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    // Like the ALB: append the TCP peer to whatever X-Forwarded-For the client sent, set the proto.
    ...(http ? ['  option forwardfor'] : []),
    'frontend edge',
    `  bind ${config.listen}${config.tlsBundle ? ` ssl crt ${config.tlsBundle}` : ''}`,
    ...(config.ipv6ClientListen
      ? [`  bind ${config.ipv6ClientListen} accept-proxy`]
      : []),
    ...(http
      ? [
          `  http-request set-header X-Forwarded-Proto ${config.tlsBundle ? 'https' : 'http'}`,
        ]
      : []),
    '  default_backend nginx',
    'backend nginx',
    // Round robin, so one client's consecutive connections reach different nginx nodes.
    '  balance roundrobin',
    `  source ${config.source}`,
    // The target group's health check: HTTP GET of the health path on the traffic port (with the PROXY header
    // for nlb, as the NLB sends it when proxy protocol is on), the same interval and thresholds.
    `  option httpchk GET ${HEALTH_PATH}`,
    // Neither AWS load balancer retries a failed connection on another target: a node that died since its
    // last check costs the requests sent to it until the checks take it out. HAProxy's default (3 retries,
    // the last one redispatched) would hide that.
    '  retries 0',
    `  default-server check inter ${LB_HEALTH_CHECK.intervalSeconds}s fall ${LB_HEALTH_CHECK.unhealthyThreshold} rise ${LB_HEALTH_CHECK.healthyThreshold}${sendProxy ? ' check-send-proxy' : ''}`,
    ...config.nodes.map((node, i) => `  server node${i} ${node}${sendProxy}`),
    '',
  ].join('\n');
}

/** The load-balancer stand-in: HAProxy's master process, and a way to change the nodes it sends to. */
export interface LoadBalancer extends ManagedProcess {
  /**
   * Re-renders the config with these nodes and reloads HAProxy (SIGUSR2 to the master). New connections go to
   * the new node list at once; the former worker keeps the connections it holds, like a target group's
   * deregistration delay. Resolves once the former worker has exited, or after `drainMs`, whichever is first.
   */
  setNodes(nodes: readonly string[], drainMs: number): Promise<void>;
}

export async function startLoadBalancer(
  dir: string,
  config: LoadBalancerConfig,
  signal?: AbortSignal,
): Promise<LoadBalancer> {
  const haproxy = findHaproxy();
  const file = path.join(dir, 'haproxy.cfg');
  await writeFile(file, renderLoadBalancerConfig(config));
  // -db: stay in the foreground, so stopping this process stops HAProxy. -W: master-worker mode, so a reload
  // keeps the listening sockets (no refused connection) and lets the former worker finish its connections.
  const master = spawnManaged(
    'haproxy',
    haproxy,
    ['-W', '-db', '-f', file],
    signal,
  );
  // One reload at a time; a failed one does not block the next.
  let reloads: Promise<void> = Promise.resolve();
  const setNodes = (nodes: readonly string[], drainMs: number) => {
    const reload = reloads.then(async () => {
      await writeFile(file, renderLoadBalancerConfig({ ...config, nodes }));
      const loaded = master.waitForLine(/Loading (success|failure)/, 10_000);
      const drained = master
        .waitForLine(/Former worker \(\d+\) exited/, drainMs)
        .catch(() => undefined);
      master.child.kill('SIGUSR2');
      const line = await loaded;
      if (/failure/.test(line))
        throw new Error(`haproxy did not reload: ${master.recentOutput()}`);
      await drained;
    });
    reloads = reload.catch(() => undefined);
    return reload;
  };
  return Object.assign(master, { setNodes });
}
