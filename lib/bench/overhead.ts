/**
 * The overhead figure: the same load through each way to a backend, rounds interleaved so a burst of
 * other work on the machine hits every path alike.
 */
import { allocateBlock, freePort, releaseBlock } from '../local/addresses';
import { startPeer } from './haproxy-peer';
import { measureLoad, type LoadSettings } from './load';
import type { LoadPath, LoadRow, OverheadResult } from './results';
import type { TopologyPool } from './topology-pool';

export interface OverheadSettings extends LoadSettings {
  readonly rounds: number;
}

const hostPort = (url: string) => new URL(url).host;

/** The round with the median throughput: one slow or lucky round does not set the figure. */
function medianRound(rounds: readonly LoadRow[]): LoadRow {
  const sorted = [...rounds].sort(
    (a, b) => a.requestsPerSecond - b.requestsPerSecond,
  );
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

export async function measureOverhead(
  pool: TopologyPool,
  settings: OverheadSettings,
  progress: (message: string) => void,
): Promise<OverheadResult> {
  // ALB mode: nginx listens for plain HTTP, so the load generator can also talk to a node directly.
  const project = await pool.get({ lb: 'alb', sticky: 'cookie' });
  const seed = await pool.get({ lb: 'alb', sticky: 'ip_hash', naive: true });
  const block = allocateBlock();
  const peerHost = block.address(0, 1);
  const peer = await startPeer({
    listen: `${peerHost}:${await freePort(peerHost)}`,
    backends: project.topology.backendUrls.map(hostPort),
  });
  try {
    const paths: [LoadPath, string][] = [
      ['direct', project.topology.backendUrls[0]],
      ['haproxy-peer', peer.url],
      ['nginx', project.topology.nginxUrls[0]],
      ['seed-nginx', seed.topology.nginxUrls[0]],
      ['edge', project.topology.url],
      ['seed-edge', seed.topology.url],
    ];
    const rounds = new Map<LoadPath, LoadRow[]>(
      paths.map(([path]) => [path, []]),
    );
    for (let round = 1; round <= settings.rounds; round++) {
      for (const [path, url] of paths) {
        progress(
          `overhead round ${round}/${settings.rounds}: ${path} (${settings.connections} connections, ${settings.durationSeconds} s)`,
        );
        rounds
          .get(path)
          ?.push(await measureLoad(path, url, settings, round === 1));
      }
    }
    return {
      connections: settings.connections,
      durationSeconds: settings.durationSeconds,
      rounds: settings.rounds,
      rows: paths.map(([path]) => medianRound(rounds.get(path) ?? [])),
    };
  } finally {
    await peer.stop();
    releaseBlock(block);
  }
}
