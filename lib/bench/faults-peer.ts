/**
 * The faults figure's HAProxy peer: what a user would run instead of the nginx tier, HAProxy nodes doing the
 * same sticky job with their own active health checks, behind the same load-balancer stand-in. Each node pins
 * clients with an inserted cookie, checks each backend's health path (`check inter`), and redispatches a
 * client whose server is down or refuses the connection (`option redispatch`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import * as path from 'node:path';
import { AGENT_DEFAULTS } from '../agent/agent';
import { findHaproxy } from '../local/binaries';
import {
  killWithChildren,
  spawnManaged,
  listeningOrStopped,
} from '../local/processes';
import { HEALTH_PATH } from '../nginx/render';
import type { ManagedProcess } from '../local/processes';

/** The nginx edge's connect timeout (`proxy_connect_timeout 2s`) and `upstreamTimeout`'s default (10 s). */
export const PEER_TIMEOUTS = { connectSeconds: 2, serverSeconds: 10 } as const;

/** The prefix of each request's log line on the peer's stdout. */
const LOG_PREFIX = 'sticky-edge-peer';

export interface FaultPeerConfig {
  /** `ADDR:PORT` the node listens on, behind the stand-in (PROXY v2, as nginx's listener in `nlb` mode). */
  readonly listen: string;
  /** `ADDR:PORT` of each backend; server `app<i>` is backend `i`. */
  readonly backends: readonly string[];
  /** The node's own directory (its stats socket, for seamless reloads). */
  readonly dir: string;
}

/**
 * Checks as often and with the same thresholds as the health agent beside nginx (every 0.5 s, 0.4 s to answer,
 * 3 failures down, 2 successes up), so detection is compared at equal settings; timeouts as the nginx edge's.
 * The stand-in checks the node on `monitor-uri`. Each request is logged to stdout with the server that
 * answered and the retries (`+` when redispatched), which is how the figure tells the requests that reached
 * a faulty server. The stats socket with `expose-fd listeners` (as Debian's packaged haproxy.cfg has it) lets
 * a reload pass the listening sockets to the new worker instead of closing them.
 */
export function renderFaultPeerConfig(config: FaultPeerConfig): string {
  const a = AGENT_DEFAULTS;
  return [
    'global',
    '  maxconn 4096',
    // Several nodes share the machine, as the topology's nginx nodes run one worker each.
    '  nbthread 1',
    '  log stdout format raw local0',
    `  stats socket ${path.join(config.dir, 'admin.sock')} mode 600 level admin expose-fd listeners`,
    'defaults',
    '  mode http',
    '  log global',
    `  log-format "${LOG_PREFIX} %HU %s %rc %ST"`,
    `  timeout connect ${PEER_TIMEOUTS.connectSeconds}s`,
    '  timeout client 60s',
    `  timeout server ${PEER_TIMEOUTS.serverSeconds}s`,
    `  timeout check ${a.timeoutMs}ms`,
    '  option redispatch',
    '  retries 2',
    'frontend peer',
    `  bind ${config.listen} accept-proxy`,
    `  monitor-uri ${HEALTH_PATH}`,
    '  default_backend app',
    'backend app',
    '  balance roundrobin',
    '  cookie SRV insert indirect nocache',
    `  option httpchk GET ${a.healthPath}`,
    `  default-server check inter ${a.intervalMs}ms fall ${a.fall} rise ${a.rise}`,
    ...config.backends.map(
      (address, i) => `  server app${i} ${address} cookie app${i}`,
    ),
    '',
  ].join('\n');
}

/** One request as the peer logged it. */
export interface PeerLogLine {
  readonly uri: string;
  /** `app<i>`, or `<NOSRV>` when no server was picked. */
  readonly server: string;
  /** Connection retries; `+N` when the last one was redispatched to another server. */
  readonly retries: string;
  readonly status: number;
}

export function parsePeerLogLine(line: string): PeerLogLine | undefined {
  const m = new RegExp(`^${LOG_PREFIX} (\\S+) (\\S+) (\\S+) (-?\\d+)$`).exec(
    line.trim(),
  );
  return m
    ? { uri: m[1], server: m[2], retries: m[3], status: Number(m[4]) }
    : undefined;
}

/**
 * Whether the request touched server `server`: that server answered (or timed out), or the connection was
 * retried, which with two servers means its first attempt went to the one that failed.
 */
export function touched(line: PeerLogLine, server: string): boolean {
  // `+0`: redispatched without a retry (the cookie named a server that is down), so it never went there.
  return line.server === server || Number(line.retries.replace('+', '')) > 0;
}

export interface PeerNode {
  readonly host: string;
  readonly port: number;
  /** Every request line logged so far. */
  readonly log: readonly PeerLogLine[];
  /** Whether the node's checks hold server `server` (`app<i>`) fully up, from its stats socket. */
  serverUp(server: string): Promise<boolean>;
  /** The servers (`app<i>`) the node's checks hold down now. */
  downServers(): Promise<string[]>;
  /** Re-reads the config and starts a new worker (SIGUSR2 to the master); the old one finishes what it holds. */
  reload(): Promise<void>;
  /** SIGKILL to the master and its worker: the stand-in must notice by its health checks. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPeerNode(
  config: FaultPeerConfig,
  signal?: AbortSignal,
): Promise<PeerNode> {
  await mkdir(config.dir, { recursive: true });
  const file = path.join(config.dir, 'haproxy.cfg');
  await writeFile(file, renderFaultPeerConfig(config));
  // -W: master-worker, so a reload starts a new worker; -db: foreground, so stopping this process stops HAProxy.
  const master: ManagedProcess = spawnManaged(
    `haproxy peer ${config.listen}`,
    findHaproxy(),
    ['-W', '-db', '-f', file],
    signal,
  );
  const log: PeerLogLine[] = [];
  let partial = '';
  master.child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const parsed = parsePeerLogLine(line);
      if (parsed) log.push(parsed);
    }
  });
  const socket = path.join(config.dir, 'admin.sock');
  const separator = config.listen.lastIndexOf(':');
  const host = config.listen.slice(0, separator);
  const port = Number(config.listen.slice(separator + 1));
  await listeningOrStopped(master, host, port, 10_000);
  return {
    host,
    port,
    log,
    serverUp: async (server) =>
      statusOf(await ask(socket, 'show stat'), server) === 'UP',
    async downServers() {
      const csv = await ask(socket, 'show stat');
      return config.backends
        .map((_, i) => `app${i}`)
        .filter((server) => /^(DOWN|MAINT)/.test(statusOf(csv, server) ?? ''));
    },
    async reload() {
      const loaded = master.waitForLine(/Loading (success|failure)/, 10_000);
      master.child.kill('SIGUSR2');
      if (/failure/.test(await loaded))
        throw new Error(
          `haproxy peer did not reload: ${master.recentOutput()}`,
        );
    },
    kill: () => killWithChildren(master),
    stop: () => master.stop(),
  };
}

/** One command on HAProxy's stats socket; its whole answer. */
function ask(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const conn = connect(socket, () => conn.end(`${command}\n`));
    conn.setTimeout(5_000, () =>
      conn.destroy(new Error(`no answer to ${command} on ${socket}`)),
    );
    conn.on('data', (chunk) => (answer += chunk.toString()));
    conn.on('end', () => resolve(answer));
    conn.on('error', reject);
  });
}

/** Server `server`'s status in backend `app` from `show stat` CSV (`UP`, `DOWN`, `UP 1/2` while rising, …). */
export function statusOf(csv: string, server: string): string | undefined {
  const [header, ...rows] = csv.trim().split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const [px, sv, status] = ['pxname', 'svname', 'status'].map((c) =>
    columns.indexOf(c),
  );
  return rows
    .map((r) => r.split(','))
    .find((cells) => cells[px] === 'app' && cells[sv] === server)?.[status];
}
