/**
 * The nginx tier scaling under load on the local topology: nodes join and leave the load-balancer stand-in
 * (HAProxy reloaded with the new node list, leaving nodes drained first) while clients keep sending. Every node
 * renders the same mapping, so no request fails and no client changes backend.
 */
import { makeClients } from '../../lib/local/clients';
import { backendsByClient } from '../../lib/local/measure';
import { startTopology } from '../../lib/local/topology';
import { driveTraffic, nodesServing } from '../../lib/local/traffic';
import type { LbKind, StickyStrategy } from '../../lib/settings';

jest.setTimeout(180_000);

const CLIENTS = 120;
/** Rounds sent while a node joins or leaves. */
const ROUNDS = 4;

const COMBOS: [LbKind, StickyStrategy][] = [
  ['nlb', 'ip_hash'],
  ['alb', 'hash'],
  ['nlb', 'cookie'],
];

test.each(COMBOS)(
  '%s %s: nodes join (2 → 4) and leave (4 → 2) under load; no request fails, no session moves',
  async (lb, sticky) => {
    const topology = await startTopology({ lb, sticky, nginxNodes: 2 });
    try {
      const clients = makeClients(topology, CLIENTS);
      const drive = (rounds: number) =>
        driveTraffic(topology.url, clients, { rounds, concurrency: 16 });
      // Nodes join while clients send, then the four-node tier serves on its own.
      const [joining] = await Promise.all([
        drive(ROUNDS),
        topology.scaleNginx(4),
      ]);
      const grownLogs = [...topology.accessLogs];
      const grown = await drive(2);
      // Nodes leave while clients send (drained first), then the two-node tier serves on its own.
      const [leaving] = await Promise.all([
        drive(ROUNDS),
        topology.scaleNginx(2, 2_000),
      ]);
      const after = await drive(1);
      expect(grownLogs).toHaveLength(4);
      expect(topology.nginxUrls).toHaveLength(2);

      const exchanges = [...joining, ...grown, ...leaving, ...after];
      expect(exchanges.filter((e) => !e.ok).map((e) => e.error)).toEqual([]);
      expect(exchanges).toHaveLength(CLIENTS * (2 * ROUNDS + 3));
      const moved = [...backendsByClient(exchanges).values()].filter(
        (backends) => backends.length !== 1,
      );
      expect(moved).toEqual([]);
      const served = await nodesServing({ accessLogs: grownLogs }, exchanges);
      const nodeOf = (e: { tag: string }) => served.get(e.tag);
      // The nodes that joined did serve: the load balancer really sent to them.
      expect(new Set(grown.map(nodeOf))).toEqual(new Set([0, 1, 2, 3]));
      // Once they left, only the first two nodes serve.
      expect(new Set(after.map(nodeOf))).toEqual(new Set([0, 1]));
    } finally {
      await topology.stop();
    }
  },
);

test('fails when scaleNginx is asked for no node or more than nine', async () => {
  const topology = await startTopology({
    lb: 'nlb',
    sticky: 'ip_hash',
    nginxNodes: 1,
  });
  try {
    await expect(topology.scaleNginx(0)).rejects.toThrow(
      'scaleNginx needs 1-9 nodes, got 0',
    );
    await expect(topology.scaleNginx(10)).rejects.toThrow(
      'scaleNginx needs 1-9 nodes, got 10',
    );
  } finally {
    await topology.stop();
  }
});
