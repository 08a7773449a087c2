import type { Topology } from '../../lib/local/topology-contract';

/**
 * Starts every topology at once, keyed for the tests that use them. A failed start is held for the test
 * that awaits it (and fails there), not thrown while the file loads.
 */
export function startAll<K>(
  starts: Iterable<readonly [K, () => Promise<Topology>]>,
): Map<K, Promise<Topology>> {
  const topologies = new Map<K, Promise<Topology>>();
  for (const [key, start] of starts) {
    const topology = start();
    topology.catch(() => undefined);
    topologies.set(key, topology);
  }
  return topologies;
}

/** Stops every topology that started; one that failed to start has nothing to stop. */
export async function stopAll(
  topologies: ReadonlyMap<unknown, Promise<Topology>>,
): Promise<void> {
  await Promise.all(
    [...topologies.values()].map((t) =>
      t.then(
        (topology) => topology.stop(),
        () => undefined,
      ),
    ),
  );
}
