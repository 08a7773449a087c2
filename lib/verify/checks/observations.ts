/**
 * What the checks read: the sessions the simulated visitors played and what else the verifier learnt, and
 * the ways of reading them every check shares. Pure: no I/O.
 */
import type { StickyStrategy } from '../../settings';
import type { BackendAnswer } from '../probe';
import type { CheckId, CheckResult, Routing } from '../report';
import type { SessionRecord } from '../sessions';
import type { Observation } from '../visitor';

/** A backend probed on its own URL, skipping nginx. */
export interface DirectBackend {
  readonly url: string;
  readonly name?: string;
  readonly error?: string;
}

export interface Observations {
  /**
   * Whose app answered: the demo backend (its JSON names the backend and the address it saw) or the team's own
   * (nginx names the backend; what the app saw is unknown).
   */
  readonly app: 'demo' | 'own';
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
 * One check, the way cdk-nag keeps a rule: a function from the observations to a result, carrying its id,
 * what it proves and the causes its diagnoses can name (the README's table of checks lists these).
 */
export interface Check {
  (observations: Observations): CheckResult;
  readonly id: CheckId;
  /** What the check proves when it passes; the result's title. */
  readonly title: string;
  /** The causes a failure's diagnosis can name, a few words each. */
  readonly diagnoses: readonly string[];
}

export function defineCheck(
  meta: Pick<Check, 'id' | 'title' | 'diagnoses'>,
  evaluate: (observations: Observations) => CheckResult,
): Check {
  return Object.assign(
    (observations: Observations) => evaluate(observations),
    meta,
  );
}

/** An answered request with the session it belongs to. */
export interface Answered {
  readonly session: SessionRecord;
  readonly exchange: Observation;
  readonly answer: BackendAnswer;
  readonly localAddress: string;
}

/** The session's answered requests, the plain ones or the forged ones. */
export function answered(session: SessionRecord, forged: boolean): Answered[] {
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

export function allAnswered(o: Observations, forged: boolean): Answered[] {
  return o.sessions.flatMap((session) => answered(session, forged));
}

/** The session's unforged facts: its (first) backend and the address reported for it. */
export function baseline(session: SessionRecord): BackendAnswer | undefined {
  return answered(session, false)[0]?.answer;
}

export function firstXff(answer: BackendAnswer): string | undefined {
  return answer.forwardedFor?.split(',')[0]?.trim() || undefined;
}

export function distinct<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

/** True when no answer in the run came with the routing cookie. */
export function noRouteCookie(sessions: readonly SessionRecord[]): boolean {
  return sessions.every((s) =>
    s.exchanges.every((e) => e.routeCookie === undefined),
  );
}

/** Sessions per backend, by where each session's first plain request was answered. */
export function sessionsPerBackend(o: Observations): Map<string, number> {
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
