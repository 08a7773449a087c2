/**
 * The diagnoses the local topology cannot produce (a private VPC address reaching the backends, a caller
 * behind a NAT, a 400 from a PROXY protocol mismatch…), from hand-built observations. The diagnoses real
 * nginx produces are asserted in local-edge.test.ts.
 */
import { evaluate, Observations } from '../../lib/verify/checks/index';
import { CookieJar } from '../../lib/verify/cookie-jar';
import type { BackendAnswer, ProbeResult } from '../../lib/verify/probe';
import type { CheckId } from '../../lib/verify/report';
import type { SessionRecord } from '../../lib/verify/sessions';
import type {
  Forgery,
  Observation as Exchange,
} from '../../lib/verify/visitor';

const CALLER = '198.51.100.20';
const LB = '203.0.113.80';

function answer(overrides: Partial<BackendAnswer> = {}): BackendAnswer {
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

function ok(a: BackendAnswer, localAddress = '10.40.3.9'): ProbeResult {
  return { ok: true, answer: a, localAddress, setCookies: [] };
}

function session(index: number, exchanges: Exchange[]): SessionRecord {
  return { index, exchanges };
}

/** `count` sessions of `plain` plain answers each, then one forged request answered by `forged`. */
function sessions(
  count: number,
  plain: (i: number) => BackendAnswer,
  forged?: (i: number, f: Forgery) => BackendAnswer,
  routeCookie?: string,
): SessionRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const f: Forgery = {
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

function observe(overrides: Partial<Observations>): Observations {
  return {
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

const checkOf = (o: Observations, id: CheckId) =>
  evaluate(o).find((c) => c.id === id)!;

test('a private address reaching the backends of a public endpoint: nginx is not reading the PROXY header', () => {
  const nlbNode = '10.40.0.17';
  const o = observe({
    sessions: sessions(3, () =>
      answer({ clientIp: nlbNode, realIp: nlbNode, forwardedFor: nlbNode }),
    ),
  });
  expect(checkOf(o, 'client-address')).toMatchObject({
    status: 'fail',
    diagnosis: `backends see ${nlbNode} (a private address, the same for every client): nginx is not reading the PROXY header (NLB) or the load balancer's X-Forwarded-For (ALB), so it reports and hashes the load balancer's address`,
  });
});

test("a caller behind a NAT it does not own passes with a public address that is not the load balancer's", () => {
  const o = observe({ sessions: sessions(3, () => answer()) });
  const check = checkOf(o, 'client-address');
  expect(check.status).toBe('pass');
  expect(check.evidence.join('\n')).toContain(
    "this caller's public address is not known here",
  );
});

test("the load balancer's own public address reported as the client fails", () => {
  const o = observe({
    sessions: sessions(2, () =>
      answer({ clientIp: LB, realIp: LB, forwardedFor: LB }),
    ),
  });
  expect(checkOf(o, 'client-address').diagnosis).toMatch(
    new RegExp(
      `^backends see ${LB.replace(/\./g, '\\.')} \\(the same for every client\\)`,
    ),
  );
});

test("inside the VPC the backends' peer is the NAT address and so is the client: that passes when EC2 names it", () => {
  const nat = '192.0.2.50';
  const o = observe({
    sessions: sessions(3, () =>
      answer({ clientIp: nat, realIp: nat, forwardedFor: nat, peer: nat }),
    ),
    expectedClientIps: () => [nat],
  });
  expect(checkOf(o, 'client-address').status).toBe('pass');
});

test('a backend that falls back to its TCP peer: nginx sends no header the backends trust', () => {
  const peer = '192.0.2.50';
  const o = observe({
    sessions: sessions(2, () =>
      answer({ clientIp: peer, realIp: null, forwardedFor: null, peer }),
    ),
    expectedClientIps: () => [CALLER],
  });
  expect(checkOf(o, 'client-address').diagnosis).toBe(
    `backends see their TCP peer (${peer}) as the client: nginx sends no X-Real-IP / X-Forwarded-For the backends trust`,
  );
});

test('a right client address with a foreign first X-Forwarded-For entry fails on the headers', () => {
  const o = observe({
    sessions: sessions(2, () =>
      answer({ forwardedFor: `10.1.1.1, ${CALLER}` }),
    ),
    expectedClientIps: () => [CALLER],
  });
  expect(checkOf(o, 'client-address').diagnosis).toMatch(
    /^the headers disagree with the client address 198\.51\.100\.20 .*first X-Forwarded-For entry 10\.1\.1\.1\)/,
  );
});

test("a forged X-Forwarded-For passed on first, while nginx itself ignores it: nginx appends to the client's header", () => {
  const o = observe({
    sessions: sessions(
      2,
      () => answer(),
      (_, f) => answer({ forwardedFor: `${f.forwardedFor}, ${CALLER}` }),
    ),
  });
  expect(checkOf(o, 'forged-headers').diagnosis).toMatch(
    /^backends receive the client's forged value as the first X-Forwarded-For entry/,
  );
});

test('a forged X-Real-IP believed: the client chose its own address with X-Real-IP', () => {
  const o = observe({
    sessions: sessions(
      2,
      () => answer(),
      (_, f) => answer({ clientIp: f.realIp, realIp: f.realIp }),
    ),
  });
  expect(checkOf(o, 'forged-headers').diagnosis).toMatch(
    /^client chose its own address with X-Real-IP/,
  );
});

test('cookie routing with no routing cookie: sessions flap because nothing pins them', () => {
  const o = observe({
    routing: 'cookie',
    sessions: sessions(2, (i) =>
      answer({ backend: i % 2 ? 'app-a' : 'app-b' }),
    ),
  });
  const flapping = o.sessions.map((s) => ({
    ...s,
    exchanges: s.exchanges.map((e, n) => ({
      ...e,
      result: ok(answer({ backend: n % 2 ? 'app-a' : 'app-b' })),
    })),
  }));
  expect(checkOf({ ...o, sessions: flapping }, 'sticky').diagnosis).toBe(
    'sessions flap: nginx set no sticky_edge_route routing cookie, so nothing pins a visitor to a backend',
  );
});

test('sessions that move while a backend is down are reported as failover, not as nodes that disagree', () => {
  const flapping = sessions(2, () => answer()).map((s) => ({
    ...s,
    exchanges: s.exchanges.map((e, n) => ({
      ...e,
      routeCookie: 'r1',
      result: ok(answer({ backend: n % 2 ? 'app-a' : 'app-b' })),
    })),
  }));
  const o = observe({
    routing: 'cookie',
    sessions: flapping,
    directBackends: [{ url: 'http://192.0.2.9:3000/', error: 'ECONNREFUSED' }],
  });
  expect(checkOf(o, 'sticky').diagnosis).toBe(
    'sessions moved while http://192.0.2.9:3000/ does not answer directly: a backend is failing, and its sessions fail over',
  );
  expect(checkOf({ ...o, directBackends: [] }, 'sticky').diagnosis).toMatch(
    /^sessions flap: nginx nodes disagree on the mapping \(the same routing cookie/,
  );
});

test('cookie routing with every session on one backend and no routing cookie: the cookie strategy is not in effect', () => {
  const o = observe({
    routing: 'cookie',
    sessions: sessions(8, () => answer()),
  });
  expect(checkOf(o, 'spread').diagnosis).toBe(
    'all sessions on one backend (app-a) and nginx set no sticky_edge_route routing cookie: the cookie strategy is not in effect',
  );
});

test('cookie routing that spreads passes; too few client keys leave the spread not applicable', () => {
  const spread = observe({
    routing: 'cookie',
    sessions: sessions(
      8,
      (i) => answer({ backend: i % 2 ? 'app-a' : 'app-b' }),
      undefined,
      'r1',
    ),
  });
  expect(checkOf(spread, 'spread').status).toBe('pass');
  const few = observe({
    routing: 'address',
    sessions: sessions(8, () => answer()),
    expectedClientIps: () => [CALLER],
  });
  expect(checkOf(few, 'spread')).toMatchObject({ status: 'not-applicable' });
});

test('a backend that answers directly but gets no session: nginx does not send it traffic', () => {
  const o = observe({
    routing: 'cookie',
    sessions: sessions(
      8,
      (i) => answer({ backend: i % 2 ? 'app-a' : 'app-b' }),
      undefined,
      'r1',
    ),
    directBackends: ['app-a', 'app-b', 'app-c'].map((name) => ({
      url: `http://192.0.2.9/${name}`,
      name,
    })),
  });
  expect(checkOf(o, 'spread').diagnosis).toBe(
    'backend(s) app-c answer directly but got no session: nginx does not send them traffic (check its upstream list)',
  );
});

test('400 answers: the load balancer and nginx disagree on PROXY protocol', () => {
  const o = observe({
    sessions: [
      session(0, [
        { result: { ok: false, status: 400, error: 'HTTP 400 Bad Request' } },
      ]),
    ],
  });
  expect(checkOf(o, 'reachable').diagnosis).toMatch(
    /^the edge answers 400 Bad Request: the load balancer and nginx disagree on PROXY protocol/,
  );
  expect(
    evaluate(o)
      .filter((c) => c.id !== 'reachable' && c.id !== 'backends')
      .map((c) => c.status),
  ).toEqual([
    'not-applicable',
    'not-applicable',
    'not-applicable',
    'not-applicable',
  ]);
});

test('a run cut short by its deadline fails the reachability check', () => {
  const o = observe({ sessions: sessions(1, () => answer()), skipped: 4 });
  expect(checkOf(o, 'reachable')).toMatchObject({
    status: 'fail',
    diagnosis: expect.stringContaining('deadline'),
  });
});

describe('cookie jar', () => {
  // Loopback, as the local topology: over plain HTTP it is not a secure origin here.
  const HTTP = 'http://127.0.0.1:8080/';
  const HTTPS = 'https://edge.example/';
  test('keeps a Secure cookie only over HTTPS, as a browser does', () => {
    const overHttp = new CookieJar();
    overHttp.store(HTTP, [
      'route=a; Path=/; Secure; HttpOnly',
      'session=x; Path=/',
    ]);
    expect(overHttp.header(HTTP)).toBe('session=x');
    const overHttps = new CookieJar();
    overHttps.store(HTTPS, ['route=a; Path=/; Secure']);
    expect(overHttps.header(HTTPS)).toBe('route=a');
  });

  test('Max-Age=0 and a past Expires delete a cookie; a new value replaces the old', () => {
    const jar = new CookieJar();
    jar.store(HTTP, ['a=1', 'b=2', 'c=3']);
    jar.store(HTTP, [
      'a=; Max-Age=0',
      'b=; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
      'c=4',
    ]);
    expect(jar.header(HTTP)).toBe('c=4');
    expect(jar.get(HTTP, 'a')).toBeUndefined();
  });
});
