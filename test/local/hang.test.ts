/**
 * A hung backend (SIGSTOP: the kernel still accepts its connections, nothing answers) on the local topology
 * with real nginx and the health agent beside each node, for each strategy; the targets are in `expectRoutedAroundAndBack`.
 */
import { startTopology } from '../../lib/local/topology';
import { STICKY_STRATEGIES } from '../../lib/settings';
import { expectRoutedAroundAndBack } from './faults';
import { startAll, stopAll } from './topologies';

jest.setTimeout(120_000);

const topologies = startAll(
  STICKY_STRATEGIES.map(
    (sticky) => [sticky, () => startTopology({ lb: 'nlb', sticky })] as const,
  ),
);

afterAll(() => stopAll(topologies));

describe.each(STICKY_STRATEGIES)('sticky=%s, a hung backend', (sticky) => {
  test('is routed around within 3 s, sessions move and stay, and its return is handled per strategy', async () => {
    const topology = await topologies.get(sticky)!;
    const { moved } = await expectRoutedAroundAndBack(topology, sticky, {
      address: new URL(topology.backendUrls[0]).host,
      inject: () => topology.freezeBackend(0),
      heal: () => topology.thawBackend(0),
      slowMs: 5_000,
    });
    expect(moved).toBeGreaterThan(0);
  });
});
