/** spread: with enough independent client keys, the sessions land on every backend that exists. */
import { hashKey, ipHashKey } from '../addresses';
import {
  allAnswered,
  answered,
  defineCheck,
  distinct,
  noRouteCookie,
  Observations,
  sessionsPerBackend,
} from './observations';

/**
 * With two equally likely backends, k independent client keys all land on one backend with probability
 * 2^(1-k); below this many keys "all on one backend" could be chance, so the spread is not judged.
 */
export const MIN_KEYS_FOR_SPREAD = 6;

export const spread = defineCheck(
  {
    id: 'spread',
    title: 'sessions are spread over the backends',
    diagnoses: [
      "address routing: nginx hashes one address (the load balancer's) for every client",
      'cookie routing: nginx set no routing cookie, so the cookie strategy is not in effect',
      'a backend answers directly but gets no session: it is missing from the upstream list',
      'otherwise: all sessions on one backend',
    ],
  },
  (o) => {
    const { id, title } = spread;
    const keys = distinct(spreadKeys(o)).length;
    const known = distinct(
      o.directBackends.flatMap((b) => (b.name ? [b.name] : [])),
    );
    const counts = sessionsPerBackend(o);
    const line =
      [...counts].map(([name, n]) => `${name}: ${n} sessions`).join(', ') ||
      'no session answered';
    if (keys < MIN_KEYS_FOR_SPREAD) {
      const why =
        o.routing === 'address'
          ? `the sessions come from ${keys} distinct client key(s) (${o.sticky === 'hash' ? 'addresses' : '/24 networks for ip_hash'}), and an address-based strategy sends one key to one backend`
          : `only ${keys} sessions`;
      return {
        id,
        title,
        status: 'not-applicable',
        evidence: [
          line,
          `not judged: ${why}; needs at least ${MIN_KEYS_FOR_SPREAD}`,
        ],
      };
    }
    if (known.length === 1)
      return {
        id,
        title,
        status: 'not-applicable',
        evidence: [line, 'only one backend exists'],
      };
    const unserved = known.filter((name) => !counts.has(name));
    const evidence = [
      line,
      o.routing === 'cookie'
        ? `${keys} sessions, each balanced on its first request`
        : `${keys} distinct client keys`,
    ];
    if (counts.size >= 2 && unserved.length === 0)
      return { id, title, status: 'pass', evidence };
    return {
      id,
      title,
      status: 'fail',
      evidence,
      diagnosis: spreadDiagnosis(o, counts, unserved),
    };
  },
);

/**
 * One key per independent routing decision: a session for cookies, otherwise a client address (IPv4; its /24
 * under ip_hash) or IPv6 /64.
 */
function spreadKeys(o: Observations): string[] {
  if (o.routing === 'cookie') return o.sessions.map((s) => String(s.index));
  return o.sessions.flatMap((session) => {
    const first = answered(session, false)[0];
    const expected = first
      ? o.expectedClientIps(first.localAddress)
      : undefined;
    if (expected?.length !== 1) return ['one caller'];
    return [
      o.sticky === 'hash' ? hashKey(expected[0]) : ipHashKey(expected[0]),
    ];
  });
}

function spreadDiagnosis(
  o: Observations,
  counts: Map<string, number>,
  unserved: readonly string[],
): string {
  const where = [...counts.keys()].join(', ') || 'none';
  if (o.routing === 'address') {
    const reported = distinct(
      allAnswered(o, false).map((x) => x.answer.clientIp),
    );
    if (reported.length === 1) {
      return `all sessions on one backend (${where}): nginx hashes one address (${reported[0]}) for every client instead of each client's own`;
    }
  }
  if (o.routing === 'cookie' && noRouteCookie(o.sessions)) {
    return `all sessions on one backend (${where}) and nginx set no ${o.routeCookieName} routing cookie: the cookie strategy is not in effect`;
  }
  if (counts.size >= 2)
    return `backend(s) ${unserved.join(', ')} answer directly but got no session: nginx does not send them traffic (check its upstream list)`;
  return `all sessions on one backend (${where})`;
}
