/**
 * A black-holed backend: its packets are dropped (nftables `drop` in a network namespace of this test's own), so
 * new connections time out and connections already open never hear back. Backend 0 of each topology is a
 * demo backend inside the namespace, reached over a veth pair (lib/local/faulty-backend.ts); the nginx configs
 * name it instead of the loopback backend 0 (same name, same route id). The targets are in
 * `expectRoutedAroundAndBack`. Every address used is inside the namespace or on the veth pair it owns; the
 * namespace (and with it the veth pair and the rule) is deleted afterwards, also when a test fails.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { bundleBackend } from '../../lib/backend/bundle';
import {
  FaultyBackend,
  startFaultyBackend,
} from '../../lib/local/faulty-backend';
import { netnsUnavailable } from '../../lib/local/netns';
import { startTopology } from '../../lib/local/topology';
import type { Topology } from '../../lib/local/topology-contract';
import { STICKY_STRATEGIES, StickyStrategy } from '../../lib/settings';
import { expectRoutedAroundAndBack } from './faults';
import { stopAll } from './topologies';

jest.setTimeout(120_000);

const skipReason = netnsUnavailable();
const maybe = skipReason ? describe.skip : describe;
if (skipReason) console.warn(`black-hole tests skipped: ${skipReason}`);

const id = process.pid % 10_000;

const holes: Promise<FaultyBackend>[] = [];
const topologies = new Map<StickyStrategy, Promise<Topology>>();
const dir = mkdtempSync(path.join(tmpdir(), 'sticky-edge-blackhole-'));

if (!skipReason) {
  const bundle = path.join(dir, 'backend.js');
  writeFileSync(bundle, bundleBackend());
  STICKY_STRATEGIES.forEach((sticky, i) => {
    const hole = startFaultyBackend(bundle, 'app-a', {
      kind: 'namespace',
      name: `se-bh-${id}-${i}`,
      subnet: `10.213.${(id + i * 64) % 250}`,
      ifPrefix: `sebh${id}${i}`,
    });
    hole.catch(() => undefined);
    holes.push(hole);
    const t = hole.then((backend) =>
      startTopology({
        lb: 'nlb',
        sticky,
        nodeConfig: (_, rendered, options) =>
          rendered.replaceAll(options.backends[0].address, backend.address),
      }),
    );
    t.catch(() => undefined);
    topologies.set(sticky, t);
  });
}

afterAll(async () => {
  await stopAll(topologies);
  await Promise.all(
    holes.map((h) =>
      h.then(
        (backend) => backend.stop(),
        () => undefined,
      ),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
});

maybe.each(STICKY_STRATEGIES)('sticky=%s, a black-holed backend', (sticky) => {
  test('is routed around within 3 s, sessions move and stay, and its return is handled per strategy', async () => {
    const topology = await topologies.get(sticky)!;
    const hole = await holes[STICKY_STRATEGIES.indexOf(sticky)];
    const { moved } = await expectRoutedAroundAndBack(topology, sticky, {
      address: hole.address,
      inject: () => hole.blackHole(),
      heal: () => hole.heal(),
      slowMs: 1_500,
    });
    expect(moved).toBeGreaterThan(0);
  });
});
