/**
 * Configuration changes under load (issue 11, part 3): while clients keep sending requests, every nginx node is
 * re-rendered and reloaded for a scale-out (2 → 3 backends), a backend marked down by the health agent (and
 * back up), and a scale-in (3 → 2, the removed backend stopped only once no worker routes to it). nginx
 * reloads gracefully (new workers take new connections, old ones finish what they hold), so no request may fail.
 */
import { makeClients } from '../../lib/local/clients';
import { startTopology } from '../../lib/local/topology';
import { LbKind, STICKY_STRATEGIES, StickyStrategy } from '../../lib/settings';
import {
  agentsSay,
  trafficUntil,
  type Timed,
} from '../../lib/local/fault-traffic';
import { startAll, stopAll } from './topologies';

jest.setTimeout(120_000);

/** Every strategy behind the NLB stand-in, and the cookie strategy behind the ALB stand-in (HTTP keep-alive). */
const CASES: [LbKind, StickyStrategy][] = [
  ...STICKY_STRATEGIES.map((sticky): [LbKind, StickyStrategy] => [
    'nlb',
    sticky,
  ]),
  ['alb', 'cookie'],
];
const topologies = startAll(
  CASES.map(
    ([lb, sticky]) =>
      [`${lb} ${sticky}`, () => startTopology({ lb, sticky })] as const,
  ),
);

afterAll(() => stopAll(topologies));

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(CASES)('lb=%s sticky=%s under load', (lb, sticky) => {
  test('scale-out, a backend marked down and up, and scale-in reload every node with 0 failed requests', async () => {
    const topology = await topologies.get(`${lb} ${sticky}`)!;
    const clients = makeClients(topology, 32);
    const stop = new AbortController();
    const requests: Timed[] = [];
    const traffic = (async () => {
      while (!stop.signal.aborted)
        requests.push(
          ...(await trafficUntil(topology.url, clients, Date.now() + 500)),
        );
    })();
    const changes: string[] = [];
    try {
      await pause(500);
      await topology.scaleBackends(3);
      changes.push('scale-out');
      await pause(500);
      const address = new URL(topology.backendUrls[1]).host;
      topology.freezeBackend(1);
      await agentsSay(topology, new RegExp(`down: ${address}`), 5_000);
      changes.push('marked down');
      topology.thawBackend(1);
      await agentsSay(topology, /nginx reloaded; down: none/, 5_000);
      changes.push('marked up');
      await pause(500);
      await topology.scaleBackends(2);
      changes.push('scale-in');
      await pause(1_000);
    } finally {
      stop.abort();
      await traffic;
    }
    expect(topology.backendNames).toEqual(['app-a', 'app-b']);
    expect(changes).toEqual([
      'scale-out',
      'marked down',
      'marked up',
      'scale-in',
    ]);
    expect(requests.length).toBeGreaterThan(clients.length * 4);
    expect(requests.filter((r) => r.error !== undefined)).toEqual([]);
    // Each backend of the 3 answered some request, so every change actually carried traffic.
    expect(new Set(requests.map((r) => r.backend))).toEqual(
      new Set(['app-a', 'app-b', 'app-c']),
    );
  });
});
