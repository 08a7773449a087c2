/**
 * Turns what the simulated visitors observed into checks, each with evidence and, when it fails, a
 * diagnosis that names the hop most likely at fault. Pure functions over the observations: no I/O.
 */
import { addressKind, ipHashKey } from './addresses';
import type { CheckResult, Routing } from './report';
import type { SessionRecord } from './sessions';
import type { Observation as Exchange } from './visitor';
import type { BackendAnswer } from './probe';
import type { StickyStrategy } from '../settings';

/** A backend probed on its own URL, skipping nginx. */
export interface DirectBackend {
  readonly url: string;
  readonly name?: string;
  readonly error?: string;
}

export interface Observations {
  readonly sticky: StickyStrategy | 'auto';
  readonly routing: Routing;
  readonly routeCookieName: string;
  readonly sessions: readonly SessionRecord[];
  readonly skipped: number;
  /** The addresses the endpoint's host name resolved to: the load balancer's. */
  readonly endpointAddresses: readonly string[];
  readonly directBackends: readonly DirectBackend[];
  /**
   * The addresses the backends must report for a request that left from `localAddress`, or undefined when
   * the verifier cannot know (a caller behind a NAT it does not own).
   */
  expectedClientIps(localAddress: string): readonly string[] | undefined;
}

/**
 * With two equally likely backends, k independent client keys all land on one backend with probability
 * 2^(1-k); below this many keys "all on one backend" could be chance, so the spread is not judged.
 */
const MIN_KEYS_FOR_SPREAD = 6;

const SAMPLES = 3;

/** Up to SAMPLES items, at most one per session, so the evidence shows the problem is not one session's. */
function samples<T extends { session: SessionRecord }>(
  items: readonly T[],
): T[] {
  const seen = new Set<number>();
  return items
    .filter(
      (item) => !seen.has(item.session.index) && seen.add(item.session.index),
    )
    .slice(0, SAMPLES);
}

interface Answered {
  readonly session: SessionRecord;
  readonly exchange: Exchange;
  readonly answer: BackendAnswer;
  readonly localAddress: string;
}

export function evaluate(observations: Observations): CheckResult[] {
  return [
    reachable(observations),
    sticky(observations),
    spread(observations),
    backends(observations),
    clientAddress(observations),
    forgedHeaders(observations),
  ];
}

function answered(session: SessionRecord, forged: boolean): Answered[] {
  return session.exchanges.flatMap((exchange) =>
    exchange.result.ok && (exchange.forged !== undefined) === forged
      ? [
          {
            session,
            exchange,
            answer: exchange.result.answer,
            localAddress: exchange.result.localAddress,
          },
        ]
      : [],
  );
}

function allAnswered(o: Observations, forged: boolean): Answered[] {
  return o.sessions.flatMap((session) => answered(session, forged));
}

function who(session: SessionRecord): string {
  return session.source
    ? `session ${session.index + 1} from ${session.source}`
    : `session ${session.index + 1}`;
}

function firstXff(answer: BackendAnswer): string | undefined {
  return answer.forwardedFor?.split(',')[0]?.trim() || undefined;
}

function distinct<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

function reachable(o: Observations): CheckResult {
  const title = 'the edge answers with the demo backend';
  const exchanges = o.sessions.flatMap((s) => s.exchanges);
  const failed = exchanges.flatMap((e) => (e.result.ok ? [] : [e.result]));
  const evidence = [
    `${exchanges.length - failed.length} of ${exchanges.length + o.skipped} requests answered`,
  ];
  if (failed.length === 0 && o.skipped === 0)
    return { id: 'reachable', title, status: 'pass', evidence };
  evidence.push(...distinct(failed.map((f) => f.error)).slice(0, SAMPLES));
  if (o.skipped > 0)
    evidence.push(
      `${o.skipped} requests not sent: the run reached its deadline`,
    );
  const statuses = new Set(failed.map((f) => f.status));
  let diagnosis = `${failed.length} requests failed: the edge does not answer reliably`;
  if (statuses.has(400)) {
    diagnosis =
      'the edge answers 400 Bad Request: the load balancer and nginx disagree on PROXY protocol (a PROXY header sent to a plain listen, or none sent to `listen … proxy_protocol`)';
  } else if (statuses.has(502) || statuses.has(504)) {
    diagnosis =
      'the edge answers 502/504: nginx cannot reach the backends (check the backends and the security groups between the NAT and them)';
  } else if (failed.length === 0) {
    diagnosis =
      'the run stopped at its deadline before every request was sent: the edge answers too slowly';
  }
  return { id: 'reachable', title, status: 'fail', evidence, diagnosis };
}

function sticky(o: Observations): CheckResult {
  const title = 'each session stays on one backend';
  const judged = o.sessions
    .map((s) => answered(s, false))
    .filter((a) => a.length >= 2);
  if (judged.length === 0)
    return {
      id: 'sticky',
      title,
      status: 'not-applicable',
      evidence: ['no session got two answers'],
    };
  const flapping = judged.filter(
    (a) => distinct(a.map((x) => x.answer.backend)).length > 1,
  );
  const requests = judged.reduce((n, a) => n + a.length, 0);
  if (flapping.length === 0) {
    return {
      id: 'sticky',
      title,
      status: 'pass',
      evidence: [
        `${judged.length} sessions, ${requests} requests: every session stayed on one backend`,
      ],
    };
  }
  const evidence = [
    `${flapping.length} of ${judged.length} sessions reached more than one backend`,
    ...flapping
      .slice(0, SAMPLES)
      .map(
        (a) =>
          `${who(a[0].session)}: ${a.map((x) => x.answer.backend).join(', ')}`,
      ),
  ];
  return {
    id: 'sticky',
    title,
    status: 'fail',
    evidence,
    diagnosis: flapDiagnosis(o, flapping),
  };
}

function flapDiagnosis(
  o: Observations,
  flapping: readonly Answered[][],
): string {
  if (o.routing === 'address') {
    const moving = flapping.find(
      (a) => distinct(a.map((x) => x.answer.clientIp)).length > 1,
    );
    if (moving) {
      const seen = distinct(moving.map((x) => x.answer.clientIp)).join(', ');
      return `sessions flap: the address nginx sees changes between one client's requests (${seen}), so the hash changes with it`;
    }
  }
  if (
    o.routing === 'cookie' &&
    flapping.every((a) => a.every((x) => x.exchange.routeCookie === undefined))
  ) {
    return `sessions flap: nginx set no ${o.routeCookieName} routing cookie, so nothing pins a visitor to a backend`;
  }
  const down = o.directBackends.filter((b) => !b.name);
  if (down.length > 0) {
    return `sessions moved while ${down.map((b) => b.url).join(', ')} does not answer directly: a backend is failing, and its sessions fail over`;
  }
  const key =
    o.routing === 'cookie'
      ? 'the same routing cookie'
      : 'the same client address';
  return `sessions flap: nginx nodes disagree on the mapping (${key} reached different backends on different connections; every node must render the same upstreams and route ids in the same order)`;
}

/** One key per independent routing decision: a session for cookies, a client address (or /24) otherwise. */
function spreadKeys(o: Observations): string[] {
  if (o.routing === 'cookie') return o.sessions.map((s) => String(s.index));
  return o.sessions.flatMap((session) => {
    const first = answered(session, false)[0];
    const expected = first
      ? o.expectedClientIps(first.localAddress)
      : undefined;
    if (expected?.length !== 1) return ['one caller'];
    return [o.sticky === 'hash' ? expected[0] : ipHashKey(expected[0])];
  });
}

function sessionsPerBackend(o: Observations): Map<string, number> {
  const counts = new Map<string, number>();
  const bySession = [...o.sessions].sort((a, b) =>
    (baseline(a)?.backend ?? '').localeCompare(baseline(b)?.backend ?? ''),
  );
  for (const session of bySession) {
    const first = answered(session, false)[0];
    if (first)
      counts.set(
        first.answer.backend,
        (counts.get(first.answer.backend) ?? 0) + 1,
      );
  }
  return counts;
}

export function countSessionsPerBackend(
  o: Observations,
): Record<string, number> {
  return Object.fromEntries(sessionsPerBackend(o));
}

function spread(o: Observations): CheckResult {
  const title = 'sessions are spread over the backends';
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
      id: 'spread',
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
      id: 'spread',
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
    return { id: 'spread', title, status: 'pass', evidence };
  return {
    id: 'spread',
    title,
    status: 'fail',
    evidence,
    diagnosis: spreadDiagnosis(o, counts, unserved),
  };
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
  if (
    o.routing === 'cookie' &&
    o.sessions.every((s) =>
      s.exchanges.every((e) => e.routeCookie === undefined),
    )
  ) {
    return `all sessions on one backend (${where}) and nginx set no ${o.routeCookieName} routing cookie: the cookie strategy is not in effect`;
  }
  if (counts.size >= 2)
    return `backend(s) ${unserved.join(', ')} answer directly but got no session: nginx does not send them traffic (check its upstream list)`;
  return `all sessions on one backend (${where})`;
}

function backends(o: Observations): CheckResult {
  const title = 'every backend answers on its own address';
  if (o.directBackends.length === 0) {
    return {
      id: 'backends',
      title,
      status: 'not-applicable',
      evidence: ['no direct backend URLs given'],
    };
  }
  const evidence = o.directBackends.map(
    (b) => `${b.url}: ${b.name ? `answers as ${b.name}` : b.error}`,
  );
  const down = o.directBackends.filter((b) => !b.name);
  if (down.length === 0)
    return { id: 'backends', title, status: 'pass', evidence };
  const diagnosis = `${down.map((b) => b.url).join(', ')} does not answer directly: the backend is down or its security group does not admit this caller`;
  return { id: 'backends', title, status: 'fail', evidence, diagnosis };
}

type AddressProblem = 'wrong-client' | 'headers-disagree';

function addressProblem(
  o: Observations,
  x: Answered,
): AddressProblem | undefined {
  const { clientIp } = x.answer;
  const expected = o.expectedClientIps(x.localAddress);
  const wrong = expected
    ? !expected.includes(clientIp)
    : addressKind(clientIp) !== 'public' ||
      o.endpointAddresses.includes(clientIp);
  if (wrong) return 'wrong-client';
  if (x.answer.realIp !== clientIp || firstXff(x.answer) !== clientIp)
    return 'headers-disagree';
  return undefined;
}

function describeAnswer(o: Observations, x: Answered): string {
  const expected = o.expectedClientIps(x.localAddress);
  const want = expected ? `, expected ${expected.join(' or ')}` : '';
  const a = x.answer;
  return `${who(x.session)}: clientIp ${a.clientIp}, X-Real-IP ${a.realIp ?? '(none)'}, X-Forwarded-For ${a.forwardedFor ?? '(none)'}${want}`;
}

function clientAddress(o: Observations): CheckResult {
  const title = "backends see the caller's own address";
  const answers = allAnswered(o, false);
  if (answers.length === 0)
    return {
      id: 'client-address',
      title,
      status: 'not-applicable',
      evidence: ['no request answered'],
    };
  const problems = answers.flatMap((x) => {
    const problem = addressProblem(o, x);
    return problem ? [{ x, problem }] : [];
  });
  const seen = distinct(answers.map((x) => x.answer.clientIp));
  const known = o.expectedClientIps(answers[0].localAddress) !== undefined;
  const summary = `${answers.length} answers; backends reported ${seen.length} distinct client address(es): ${seen.slice(0, 6).join(', ')}${seen.length > 6 ? ', …' : ''}`;
  if (problems.length === 0) {
    const how = known
      ? 'each equals the address the request left from'
      : "this caller's public address is not known here: checked that it is public, not the load balancer's, and that X-Real-IP and X-Forwarded-For agree";
    return {
      id: 'client-address',
      title,
      status: 'pass',
      evidence: [summary, how],
    };
  }
  const evidence = [
    summary,
    `${problems.length} of ${answers.length} answers wrong`,
    ...samples(problems.map((p) => p.x)).map((x) => describeAnswer(o, x)),
  ];
  const wrong = problems
    .filter((p) => p.problem === 'wrong-client')
    .map((p) => p.x);
  const diagnosis =
    wrong.length > 0
      ? wrongClientDiagnosis(o, wrong)
      : headersDisagreeDiagnosis(problems[0].x);
  return { id: 'client-address', title, status: 'fail', evidence, diagnosis };
}

function wrongClientDiagnosis(
  o: Observations,
  wrong: readonly Answered[],
): string {
  const reported = distinct(wrong.map((x) => x.answer.clientIp));
  // The peer standing in for the client is a fault only when nginx's headers named someone else (or nobody).
  if (
    wrong.every(
      (x) =>
        x.answer.clientIp === x.answer.peer &&
        x.answer.realIp !== x.answer.clientIp,
    )
  ) {
    return `backends see their TCP peer (${reported.join(', ')}) as the client: nginx sends no X-Real-IP / X-Forwarded-For the backends trust`;
  }
  const callers = distinct(
    wrong.flatMap((x) => o.expectedClientIps(x.localAddress) ?? []),
  );
  const oneForAll =
    reported.length === 1 &&
    (callers.length > 1 ||
      o.endpointAddresses.includes(reported[0]) ||
      addressKind(reported[0]) === 'private');
  if (oneForAll) {
    const kind =
      addressKind(reported[0]) === 'private' ? 'a private address, ' : '';
    return `backends see ${reported[0]} (${kind}the same for every client): nginx is not reading the PROXY header (NLB) or the load balancer's X-Forwarded-For (ALB), so it reports and hashes the load balancer's address`;
  }
  const want = callers.length > 0 ? callers.join(', ') : 'a public address';
  return `backends see ${reported.slice(0, 3).join(', ')}, not the caller's address (${want}): an address-rewriting hop between the load balancer and the backends is not accounted for`;
}

function headersDisagreeDiagnosis(x: Answered): string {
  const a = x.answer;
  if (a.realIp === null)
    return `nginx sends no X-Real-IP (the backend reports ${a.clientIp})`;
  return `the headers disagree with the client address ${a.clientIp} (X-Real-IP ${a.realIp}, first X-Forwarded-For entry ${firstXff(a) ?? '(none)'}): nginx forwards a header it did not set from the real client address`;
}

type ForgeryEffect =
  'believed-xff' | 'believed-real-ip' | 'moved' | 'passed-on' | 'changed';

const FORGERY_DIAGNOSES: Record<ForgeryEffect, string> = {
  'believed-xff':
    'client chose its own address with X-Forwarded-For: nginx trusts every address (set_real_ip_from must list only the load balancer)',
  'believed-real-ip':
    'client chose its own address with X-Real-IP: a hop takes X-Real-IP from the client instead of setting it',
  moved:
    'a forged header moved the session to another backend: nginx routes on an address the client chose',
  'passed-on':
    "backends receive the client's forged value as the first X-Forwarded-For entry: nginx appends to the client's header ($proxy_add_x_forwarded_for) instead of sending the real address first",
  changed:
    'a forged header changed the address the backends report: a hop believes client-supplied forwarding headers',
};

/** The session's unforged facts: its (first) backend and the address reported for it. */
function baseline(session: SessionRecord): BackendAnswer | undefined {
  return answered(session, false)[0]?.answer;
}

function forgeryEffect(
  x: Answered,
  base: BackendAnswer,
): ForgeryEffect | undefined {
  const forged = x.exchange.forged;
  if (!forged) return undefined;
  const a = x.answer;
  if (a.clientIp === forged.forwardedFor) return 'believed-xff';
  if (a.clientIp === forged.realIp) return 'believed-real-ip';
  if (a.backend !== base.backend) return 'moved';
  if (firstXff(a) === forged.forwardedFor || a.realIp === forged.realIp)
    return 'passed-on';
  if (a.clientIp !== base.clientIp) return 'changed';
  return undefined;
}

function forgedHeaders(o: Observations): CheckResult {
  const title =
    'forged X-Forwarded-For / X-Real-IP change neither the address nor the backend';
  const results = o.sessions.flatMap((session) => {
    const base = baseline(session);
    return base
      ? answered(session, true).map((x) => ({
          x,
          effect: forgeryEffect(x, base),
        }))
      : [];
  });
  if (results.length === 0)
    return {
      id: 'forged-headers',
      title,
      status: 'not-applicable',
      evidence: ['no forged request answered next to a plain one'],
    };
  const bad = results.filter((r) => r.effect !== undefined);
  if (bad.length === 0) {
    return {
      id: 'forged-headers',
      title,
      status: 'pass',
      evidence: [
        `${results.length} forged requests: address and backend unchanged`,
      ],
    };
  }
  const evidence = [
    `${bad.length} of ${results.length} forged requests changed something`,
    ...samples(bad.map((r) => r.x)).map((x) => {
      const f = x.exchange.forged;
      return `${who(x.session)} sent X-Forwarded-For ${f?.forwardedFor}, X-Real-IP ${f?.realIp}: backend ${x.answer.backend}, clientIp ${x.answer.clientIp}, X-Forwarded-For ${x.answer.forwardedFor ?? '(none)'}`;
    }),
  ];
  const order: ForgeryEffect[] = [
    'believed-xff',
    'believed-real-ip',
    'moved',
    'passed-on',
    'changed',
  ];
  const worst =
    order.find((effect) => bad.some((r) => r.effect === effect)) ?? 'changed';
  return {
    id: 'forged-headers',
    title,
    status: 'fail',
    evidence,
    diagnosis: FORGERY_DIAGNOSES[worst],
  };
}
