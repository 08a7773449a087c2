/**
 * HAProxy doing alone the job the project gives nginx: pin each client to a backend with an inserted
 * cookie, and send it elsewhere when that backend is down. The overhead figure's bar for the nginx hop.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { findHaproxy } from '../local/binaries';
import { spawnManaged, waitUntilListening } from '../local/processes';

/** One thread per core, as the benchmark's nginx nodes run one worker per core (`worker_processes auto`). */
export const PEER_THREADS = availableParallelism();

export interface PeerConfig {
  /** `ADDR:PORT` the peer listens on. */
  readonly listen: string;
  /** `ADDR:PORT` of each backend. */
  readonly backends: readonly string[];
  /**
   * Log every request as nginx does when its access log is on: `option httplog` into an in-memory ring
   * (HAProxy writes no files itself; a ring is its cheapest destination, as nginx's buffered log is its).
   * @default false
   */
  readonly log?: boolean;
  /**
   * HAProxy's threads (`nbthread`). The instructions figure runs one, as it runs one nginx worker.
   * @default PEER_THREADS
   */
  readonly threads?: number;
}

/**
 * `cookie SRV insert indirect nocache` is HAProxy's documented sticky-cookie setup; `option redispatch`
 * lets a client pinned to a dead server be sent to another, as nginx's backup servers do. Timeouts match
 * the nginx edge (2 s connect) so neither waits longer on a dead backend. As many threads as the nginx
 * node has workers: the two proxies get the same share of the machine.
 */
export function renderPeerConfig(config: PeerConfig): string {
  const log = config.log
    ? {
        ring: [
          'ring requests',
          '  format raw',
          '  maxlen 1024',
          '  size 1048576',
        ],
        defaults: ['  log ring@requests local0', '  option httplog'],
      }
    : { ring: [], defaults: [] };
  return [
    ...log.ring,
    'global',
    '  maxconn 4096',
    `  nbthread ${config.threads ?? PEER_THREADS}`,
    'defaults',
    '  mode http',
    ...log.defaults,
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  option redispatch',
    '  retries 2',
    'frontend peer',
    `  bind ${config.listen}`,
    '  default_backend app',
    'backend app',
    '  balance roundrobin',
    '  cookie SRV insert indirect nocache',
    ...config.backends.map(
      (address, i) => `  server app${i} ${address} cookie app${i}`,
    ),
    '',
  ].join('\n');
}

export interface RunningPeer {
  readonly url: string;
  /** HAProxy's pid (one process, a thread per core). */
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts the peer; `signal` stops it when it aborts. */
export async function startPeer(
  config: PeerConfig,
  signal?: AbortSignal,
): Promise<RunningPeer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sticky-edge-bench-peer-'));
  const file = path.join(dir, 'haproxy.cfg');
  await writeFile(file, renderPeerConfig(config));
  // -db: foreground, so stopping this process stops HAProxy.
  const haproxy = spawnManaged(
    'haproxy peer',
    findHaproxy(),
    ['-db', '-f', file],
    signal,
  );
  const peer: RunningPeer = {
    url: `http://${config.listen}`,
    pid: haproxy.child.pid as number,
    async stop() {
      await haproxy.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  const separator = config.listen.lastIndexOf(':');
  try {
    await waitUntilListening(
      haproxy,
      config.listen.slice(0, separator),
      Number(config.listen.slice(separator + 1)),
      10_000,
    );
  } catch (err) {
    await peer.stop();
    throw err;
  }
  return peer;
}
