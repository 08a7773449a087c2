/**
 * Hand-built observations for the checks' tests: what the local topology cannot produce (a private VPC
 * address reaching the backends, a caller behind a NAT, a 400 from a PROXY protocol mismatch…) as well as
 * the passing cases. Pure and fast: no network. The diagnoses real nginx produces are asserted in
 * test/verify/local-edge.test.ts.
 */
import type { Observations } from '../../../lib/verify/checks/index';
import type { BackendAnswer, ProbeResult } from '../../../lib/verify/probe';
import type { SessionRecord } from '../../../lib/verify/sessions';
import type { Forgery, Observation } from '../../../lib/verify/visitor';

export const CALLER = '198.51.100.20';
export const LB = '203.0.113.80';

export function answer(overrides: Partial<BackendAnswer> = {}): BackendAnswer {
  return {
    backend: 'app-a',
    peer: '192.0.2.50',
    clientIp: CALLER,
    realIp: CALLER,
    forwardedFor: CALLER,
    sessionId: 's',
    hits: 1,
    ...overrides,
  };
}

export function ok(a: BackendAnswer, localAddress = '10.40.3.9'): ProbeResult {
  return { ok: true, answer: a, localAddress, setCookies: [] };
}

export function session(
  index: number,
  exchanges: Observation[],
): SessionRecord {
  return { index, exchanges };
}

/** `count` sessions of two plain answers each, then one forged request answered by `forged`. */
export function sessions(
  count: number,
  plain: (i: number) => BackendAnswer,
  forged?: (i: number, f: Required<Forgery>) => BackendAnswer,
  routeCookie?: string,
): SessionRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const f = {
      forwardedFor: `203.0.113.${i + 1}`,
      realIp: `198.51.100.${i + 100}`,
    };
    return session(i, [
      { result: ok(plain(i)), routeCookie },
      { result: ok(plain(i)), routeCookie },
      ...(forged ? [{ forged: f, result: ok(forged(i, f)), routeCookie }] : []),
    ]);
  });
}

/** Sessions whose plain answers alternate between app-a and app-b, each holding `routeCookie`. */
export function flapping(count: number, routeCookie?: string): SessionRecord[] {
  return sessions(count, () => answer()).map((s) => ({
    ...s,
    exchanges: s.exchanges.map((e, n) => ({
      ...e,
      routeCookie,
      result: ok(answer({ backend: n % 2 ? 'app-a' : 'app-b' })),
    })),
  }));
}

export function observe(overrides: Partial<Observations>): Observations {
  return {
    app: 'demo',
    sticky: 'auto',
    routing: 'address',
    routeCookieName: 'sticky_edge_route',
    sessions: [],
    skipped: 0,
    endpointAddresses: [LB],
    directBackends: [],
    expectedClientIps: () => undefined,
    ...overrides,
  };
}
