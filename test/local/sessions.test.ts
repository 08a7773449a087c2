/**
 * Sessions when things change: a client's address changes (cookie), backends are added (cookie, hash).
 */
import { Client, makeClients, ROAMING_NETWORK } from '../../lib/local/clients';
import { backendsByClient } from '../../lib/local/measure';
import { startTopology } from '../../lib/local/topology';
import type { Topology } from '../../lib/local/topology-contract';
import { driveTraffic, Exchange } from '../../lib/local/traffic';
import { LB_KINDS, LbKind, StickyStrategy } from '../../lib/settings';

jest.setTimeout(90_000);

const CLIENTS = 240;
const topologies: Promise<Topology>[] = [];

function start(lb: LbKind, sticky: StickyStrategy): Promise<Topology> {
  const topology = startTopology({ lb, sticky });
  // Started before a test awaits it: a failure is reported by that test, not as an unhandled rejection.
  topology.catch(() => undefined);
  topologies.push(topology);
  return topology;
}

afterAll(async () => {
  await Promise.all(
    topologies.map((t) =>
      t.then(
        (topology) => topology.stop(),
        () => undefined,
      ),
    ),
  );
});

const drive = (topology: Topology, clients: Client[]) =>
  driveTraffic(topology.url, clients, { rounds: 2, concurrency: 16 });

/** Each client's one backend; fails the test if any request failed or a client was answered by two. */
function backendOfEach(exchanges: Exchange[]): Map<number, string> {
  expect(exchanges.filter((e) => !e.ok).map((e) => e.error)).toEqual([]);
  const byClient = backendsByClient(exchanges);
  expect([...byClient].filter(([, backends]) => backends.length !== 1)).toEqual(
    [],
  );
  return new Map([...byClient].map(([id, backends]) => [id, backends[0]]));
}

describe.each(LB_KINDS)('lb=%s', (lb) => {
  // Both topologies of this lb start while the other describe block's tests run.
  const cookieTopology = start(lb, 'cookie');
  const hashTopology = start(lb, 'hash');

  test('cookie: the session follows the cookie when the client moves, and scaling 2 → 3 backends moves none', async () => {
    const topology = await cookieTopology;
    const clients = makeClients(topology, CLIENTS);
    const before = backendOfEach(await drive(topology, clients));

    clients.forEach(
      (client, i) =>
        (client.address = topology.clientAddress(
          ROAMING_NETWORK + Math.floor(i / 254),
          1 + (i % 254),
        )),
    );
    const moved = await drive(topology, clients);
    expect(moved.filter((e) => e.facts?.clientIp !== e.source)).toEqual([]);
    expect(backendOfEach(moved)).toEqual(before);

    await topology.scaleBackends(3);
    expect(backendOfEach(await drive(topology, clients))).toEqual(before);
    // New visitors are balanced over all three, so the reload did add the backend.
    const newcomers = backendOfEach(
      await drive(topology, makeClients(topology, 60)),
    );
    expect([...newcomers.values()]).toContain(topology.backendNames[2]);
  });

  test('hash: scaling 2 → 3 backends moves about a third of the clients (at most 45 %), only to the new backend', async () => {
    const topology = await hashTopology;
    const clients = makeClients(topology, CLIENTS);
    const before = backendOfEach(await drive(topology, clients));
    await topology.scaleBackends(3);
    const after = backendOfEach(await drive(topology, clients));
    const movedTo = [...after]
      .filter(([id, backend]) => before.get(id) !== backend)
      .map(([, backend]) => backend);
    // Consistent hashing over 3 equal servers moves about a third (ip_hash's modulo: about two thirds). The new
    // server's share of the ketama ring depends on its address, random per run: measured 0.29-0.40 over 240
    // clients, so the bound leaves room for that spread.
    expect(movedTo.length / clients.length).toBeLessThanOrEqual(0.45);
    expect(movedTo.length).toBeGreaterThan(0);
    expect(new Set(movedTo)).toEqual(new Set([topology.backendNames[2]]));
  });
});
