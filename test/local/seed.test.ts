/**
 * The seed article's configuration (`render --naive`) on the same topology fails where the seed says it
 * fails, so the suite notices if the project's fix stops mattering (or the topology stops reproducing AWS).
 */
import { Client, makeClients } from '../../lib/local/clients';
import { addressSeen, backendsByClient } from '../../lib/local/measure';
import { startTopology } from '../../lib/local/topology';
import type { Topology } from '../../lib/local/topology-contract';
import { driveTraffic, Exchange } from '../../lib/local/traffic';
import type { LbKind } from '../../lib/settings';
import type { Forgery } from '../../lib/verify/visitor';

jest.setTimeout(60_000);

const CLIENTS = 260;
const forges = (client: Client) => client.id % 10 === 5;
const forgery = (client: Client): Forgery | undefined =>
  forges(client) ? { forwardedFor: `203.0.113.${client.id % 250}` } : undefined;

interface Run {
  readonly topology: Topology;
  readonly exchanges: Exchange[];
}

const runs = new Map<LbKind, Promise<Run>>();

async function startAndDrive(lb: LbKind): Promise<Run> {
  const topology = await startTopology({ lb, sticky: 'ip_hash', naive: true });
  try {
    const exchanges = await driveTraffic(
      topology.url,
      makeClients(topology, CLIENTS),
      { rounds: 3, concurrency: 16, forge: forgery },
    );
    return { topology, exchanges };
  } catch (err) {
    await topology.stop();
    throw err;
  }
}

beforeAll(() => {
  for (const lb of ['nlb', 'alb'] as const) {
    const run = startAndDrive(lb);
    run.catch(() => undefined);
    runs.set(lb, run);
  }
});

afterAll(async () => {
  await Promise.all(
    [...runs.values()].map((run) =>
      run.then(
        (r) => r.topology.stop(),
        () => undefined,
      ),
    ),
  );
});

test('nlb without proxy protocol: the backend sees the load balancer, and ip_hash puts every client on one backend', async () => {
  const { topology, exchanges } = await (runs.get('nlb') as Promise<Run>);
  const honest = exchanges.filter((e) => !forges(e.client));
  expect(honest.filter((e) => !e.ok)).toEqual([]);
  expect(
    honest.filter(
      (e) => addressSeen(e, topology.lbAddress) !== 'load-balancer',
    ),
  ).toEqual([]);
  const backends = new Set([...backendsByClient(honest)].map(([, b]) => b[0]));
  expect(backends.size).toBe(1);
});

test('alb: set_real_ip_from 0.0.0.0/0 lets a forged X-Forwarded-For choose the address the backend sees', async () => {
  const { topology, exchanges } = await (runs.get('alb') as Promise<Run>);
  const forging = exchanges.filter((e) => forges(e.client));
  expect(forging.length).toBeGreaterThan(0);
  expect(
    forging.filter((e) => addressSeen(e, topology.lbAddress) !== 'forged'),
  ).toEqual([]);
});
