/**
 * The `sticky-edge local` table's figures from hand-built observations (lib/verify's records): pure, no
 * topology. The figures real traffic produces are asserted in edge.test.ts and seed.test.ts.
 */
import { ClientObservation, summarize } from '../../lib/local/measure';
import type { BackendAnswer } from '../../lib/verify/probe';
import type { Forgery } from '../../lib/verify/visitor';

const LB = '127.180.0.1';

function seen(
  id: number,
  tag: string,
  answer: Partial<BackendAnswer> | undefined,
  forged?: Forgery,
): ClientObservation {
  const source = `127.1.${id}.1`;
  return {
    client: { id },
    tag,
    source,
    forged,
    result: answer
      ? {
          ok: true,
          localAddress: source,
          setCookies: [],
          answer: {
            backend: 'app-a',
            peer: '127.2.0.1',
            clientIp: source,
            realIp: source,
            forwardedFor: source,
            sessionId: '',
            hits: 1,
            ...answer,
          },
        }
      : { ok: false, error: 'HTTP 502 Bad Gateway', status: 502 },
  };
}

test('share, stayed, both nodes, saw client / LB, forged won and failed', () => {
  const forged = { forwardedFor: '203.0.113.9', realIp: '198.51.100.9' };
  const observations = [
    // client 0: app-a twice through both nodes, its own address seen
    seen(0, 't0', {}),
    seen(0, 't1', {}),
    // client 1: app-b then app-a (switched), the LB's address seen
    seen(1, 't2', { backend: 'app-b', clientIp: LB }),
    seen(1, 't3', { backend: 'app-a', clientIp: LB }),
    // client 2: forges; the backend believed the forged X-Forwarded-For once, then a request failed
    seen(2, 't4', { backend: 'app-b', clientIp: '203.0.113.9' }, forged),
    seen(2, 't5', undefined, forged),
  ];
  const nodes = new Map([
    ['t0', 0],
    ['t1', 1],
    ['t2', 0],
    ['t3', 0],
    ['t4', 1],
  ]);
  const s = summarize(observations, ['app-a', 'app-b'], LB, nodes);
  expect(s.clients).toBe(3);
  expect(s.requests).toBe(6);
  expect(s.failed).toBe(1);
  expect([...s.share]).toEqual([
    ['app-a', 1 / 3],
    ['app-b', 2 / 3],
  ]);
  expect(s.stayed).toBeCloseTo(2 / 3);
  expect(s.onSeveralNodes).toBeCloseTo(1 / 3);
  expect(s.seen.get('client')).toBeCloseTo(2 / 5);
  expect(s.seen.get('load-balancer')).toBeCloseTo(2 / 5);
  expect(s.seen.get('forged')).toBeCloseTo(1 / 5);
  expect(s.forgedBelieved).toBe(1);
  expect(
    summarize(observations.slice(0, 4), ['app-a'], LB).forgedBelieved,
  ).toBeUndefined();
});
