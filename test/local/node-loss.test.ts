/**
 * Losing an nginx node under load (issue 11, part 2). The load-balancer stand-in checks the nodes as the
 * target group does (HTTP GET of the health path on the traffic port, PROXY v2 for nlb, every 10 s, 2 failures
 * to take a node out), so after one node is killed (SIGKILL, master and workers) requests sent to it fail until
 * the stand-in has seen two failed checks: at most 2 × 10 s, plus a margin. After that no request fails, and
 * every client keeps its backend all along, because every node renders the same mapping.
 */
import { makeClients } from '../../lib/local/clients';
import { startTopology } from '../../lib/local/topology';
import { LB_HEALTH_CHECK } from '../../lib/nginx/nginx-options';
import { STICKY_STRATEGIES, StickyStrategy } from '../../lib/settings';
import {
  backendsOf,
  oneRound,
  trafficUntil,
} from '../../lib/local/fault-traffic';
import { startAll, stopAll } from './topologies';

jest.setTimeout(120_000);

const WINDOW_MS =
  LB_HEALTH_CHECK.unhealthyThreshold * LB_HEALTH_CHECK.intervalSeconds * 1000 +
  3_000;

const topologies = startAll(
  STICKY_STRATEGIES.map(
    (sticky) => [sticky, () => startTopology({ lb: 'nlb', sticky })] as const,
  ),
);

afterAll(() => stopAll(topologies));

async function loseNode(sticky: StickyStrategy) {
  const topology = await topologies.get(sticky)!;
  const clients = makeClients(topology, 16);
  const warm = await oneRound(topology.url, clients);
  expect(warm.filter((r) => r.error)).toEqual([]);
  const before = backendsOf(warm);
  await topology.killNginxNode(1);
  const killedAt = Date.now();
  const during = await trafficUntil(
    topology.url,
    clients,
    killedAt + WINDOW_MS + 3_000,
  );
  const failed = during.filter((r) => r.error !== undefined);
  return { before, during, failed, killedAt };
}

test('nlb: after the stand-in’s detection window no request fails, and every client keeps its backend', async () => {
  const results = await Promise.all(STICKY_STRATEGIES.map(loseNode));
  STICKY_STRATEGIES.forEach((sticky, i) => {
    const { before, during, failed, killedAt } = results[i];
    const lastFailure = Math.max(killedAt, ...failed.map((r) => r.sentAt));
    // The figure the issue asks for, printed for the record (not asserted beyond the window).
    console.log(
      `${sticky}: ${failed.length} of ${during.length} requests failed, the last one sent ${lastFailure - killedAt} ms after the kill`,
    );
    expect(failed.filter((r) => r.sentAt >= killedAt + WINDOW_MS)).toEqual([]);
    expect(during.length).toBeGreaterThan(failed.length);
    for (const [id, backends] of backendsOf(during))
      expect(backends).toEqual(before.get(id));
  });
});
