/**
 * IPv6 clients on the local topology: they reach the load-balancer stand-in with a PROXY header naming an
 * address in fd00::/8 (its `ipv6Url`), and HAProxy carries it on as a dual-stack NLB (PROXY v2) or ALB
 * (X-Forwarded-For) would, through two real nginx nodes to the demo backends. One topology per lb, each with
 * an address strategy: the backend sees the IPv6 address, a client keeps its backend while its address
 * rotates inside its /64, different /64s spread, and forged headers change nothing.
 */
import { startTopology } from '../../lib/local/topology';
import type { Topology } from '../../lib/local/topology-contract';
import type { LbKind, StickyStrategy } from '../../lib/settings';
import { inPool } from '../../lib/verify/pool';
import { answerOf, Observation, Visitor } from '../../lib/verify/visitor';
import { startAll, stopAll } from './topologies';

jest.setTimeout(60_000);

/**
 * /64s, one client each. The first ROTATING clients send REQUESTS plain requests, from a new address in their
 * /64 every time; the others one. 2,000 so the sample's own spread (one standard deviation: 1.1 points of a
 * 50 % share) leaves the 5-point bound for what the strategy does: `hash`'s ketama ring, whose shares vary
 * with the backends' random ports, measured at most 1.8 points off even with `HASH_RING_WEIGHT` (up to 7.9
 * points with nginx's default weight).
 */
const NETWORKS = 2000;
const ROTATING = 100;
const REQUESTS = 3;
/** Clients that then send two requests with forged headers (IPv6 and IPv4 claims). */
const FORGERS = 40;
const FORGED = {
  forwardedFor: '2001:db8::bad, 203.0.113.9',
  realIp: '2001:db8::1',
};
const TIMEOUT_MS = 10_000;

const CASES: readonly (readonly [LbKind, StickyStrategy])[] = [
  ['nlb', 'ip_hash'],
  ['alb', 'hash'],
];

interface Client {
  readonly network: number;
  readonly addresses: string[];
  readonly plain: Observation[];
  readonly forged: Observation[];
}

async function drive(topology: Topology): Promise<Client[]> {
  const clients: Client[] = Array.from({ length: NETWORKS }, (_, i) => ({
    network: i + 1,
    addresses: [],
    plain: [],
    forged: [],
  }));
  await inPool(clients, 16, async (client) => {
    const visitor = new Visitor(undefined, 'announce');
    const plain = client.network <= ROTATING ? REQUESTS : 1;
    for (let r = 0; r < plain + (client.network <= FORGERS ? 2 : 0); r++) {
      // A temporary address: the same /64, a new interface id every request.
      visitor.address = topology.ipv6ClientAddress(
        client.network,
        1 + ((client.network * 7919 + r * 104729) % 0xfffffffe),
      );
      client.addresses.push(visitor.address);
      const forged = r >= plain;
      const o = await visitor.visit(topology.ipv6Url, {
        timeoutMs: TIMEOUT_MS,
        forged: forged ? FORGED : undefined,
      });
      (forged ? client.forged : client.plain).push(o);
    }
  });
  return clients;
}

const topologies = startAll(
  CASES.map(
    ([lb, sticky]) =>
      [
        `${lb}/${sticky}`,
        async () => startTopology({ lb, sticky, healthAgent: false }),
      ] as const,
  ),
);
const runs = new Map(
  [...topologies].map(([key, topology]) => {
    const run = topology.then(drive);
    run.catch(() => undefined);
    return [key, run] as const;
  }),
);

afterAll(() => stopAll(topologies));

describe.each(CASES)('lb=%s sticky=%s, IPv6 clients', (lb, sticky) => {
  const clients = () => runs.get(`${lb}/${sticky}`)!;

  test('every request is answered by a backend', async () => {
    const failed = (await clients()).flatMap((c) =>
      [...c.plain, ...c.forged].filter((o) => !o.result.ok),
    );
    expect(failed.map((o) => o.result)).toEqual([]);
  });

  test("the backend sees the client's IPv6 address in X-Real-IP and X-Forwarded-For", async () => {
    const wrong = (await clients()).flatMap((c) =>
      c.plain.flatMap((o) => {
        const a = answerOf(o);
        return a &&
          a.clientIp === o.source &&
          a.realIp === o.source &&
          a.forwardedFor === o.source
          ? []
          : [{ source: o.source, answer: a }];
      }),
    );
    expect(wrong).toEqual([]);
    expect((await clients())[0].plain[0].source).toMatch(/^fd00:/);
  });

  test('a client keeps its backend while its address rotates inside its /64', async () => {
    const all = (await clients()).filter((c) => c.network <= ROTATING);
    expect(all.every((c) => c.plain.length === REQUESTS)).toBe(true);
    const moved = all.filter(
      (c) => new Set(c.plain.map((o) => answerOf(o)?.backend)).size !== 1,
    );
    expect(moved.map((c) => c.addresses)).toEqual([]);
    // Every request came from another address.
    expect(
      all.every((c) => new Set(c.addresses).size === c.addresses.length),
    ).toBe(true);
  });

  test('different /64s spread within 10 % of even (45-55 % each)', async () => {
    const counts = new Map<string, number>();
    for (const c of await clients()) {
      const backend = answerOf(c.plain[0])!.backend;
      counts.set(backend, (counts.get(backend) ?? 0) + 1);
    }
    expect(counts.size).toBe(2);
    for (const n of counts.values()) {
      expect(n / NETWORKS).toBeGreaterThanOrEqual(0.45);
      expect(n / NETWORKS).toBeLessThanOrEqual(0.55);
    }
  });

  test('forged X-Forwarded-For and X-Real-IP change neither the address nor the backend', async () => {
    const forgers = (await clients()).filter((c) => c.forged.length > 0);
    expect(forgers).toHaveLength(FORGERS);
    const wrong = forgers.flatMap((c) =>
      c.forged.flatMap((o) => {
        const a = answerOf(o);
        return a &&
          a.clientIp === o.source &&
          a.realIp === o.source &&
          a.backend === answerOf(c.plain[0])?.backend
          ? []
          : [{ source: o.source, answer: a }];
      }),
    );
    expect(wrong).toEqual([]);
  });
});
