/**
 * Drives the simulated visitors: each session sends its plain requests, then requests carrying forged
 * X-Forwarded-For / X-Real-IP headers, all from one source address and with one cookie jar, as one browser
 * would. A bounded pool runs sessions side by side; at the deadline the remaining requests are skipped, so a
 * run always ends.
 */
import { inPool } from './pool';
import type { IpFamily } from './probe';
import { Forgery, Observation, Visitor } from './visitor';

export interface SessionRecord {
  readonly index: number;
  /** The source address bound for this session, when the caller chose one. */
  readonly source?: string;
  readonly exchanges: readonly Observation[];
}

export interface DriveOptions {
  readonly url: URL;
  readonly sessions: number;
  readonly requestsPerSession: number;
  readonly forgedPerSession: number;
  readonly sources?: readonly string[];
  readonly routeCookieName: string;
  readonly timeoutMs: number;
  readonly tlsNameCheck: boolean;
  readonly family?: IpFamily;
  /** Whose answers the visitors read: the demo backend's JSON, or nginx's name for the team's own app. */
  readonly app: 'demo' | 'own';
  /** Epoch milliseconds after which no new request starts. */
  readonly deadline: number;
  readonly concurrency: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface DriveResult {
  readonly sessions: readonly SessionRecord[];
  /** Requests not sent because the deadline passed. */
  readonly skipped: number;
}

export async function driveSessions(
  options: DriveOptions,
): Promise<DriveResult> {
  const perSession = options.requestsPerSession + options.forgedPerSession;
  const total = options.sessions * perSession;
  const records: SessionRecord[] = [];
  let done = 0;
  let skipped = 0;
  const indexes = Array.from({ length: options.sessions }, (_, i) => i);
  await inPool(indexes, options.concurrency, async (index) => {
    const record = await runSession(index, options, () =>
      options.onProgress?.(++done, total),
    );
    skipped += perSession - record.exchanges.length;
    records.push(record);
  });
  records.sort((a, b) => a.index - b.index);
  return { sessions: records, skipped };
}

async function runSession(
  index: number,
  options: DriveOptions,
  tick: () => void,
): Promise<SessionRecord> {
  const source = options.sources?.length
    ? options.sources[index % options.sources.length]
    : undefined;
  const visitor = new Visitor(source);
  const plan: (Forgery | undefined)[] = [
    ...Array.from({ length: options.requestsPerSession }, () => undefined),
    ...Array.from({ length: options.forgedPerSession }, (_, n) =>
      forgery(index, n),
    ),
  ];
  const exchanges: Observation[] = [];
  for (const forged of plan) {
    if (Date.now() >= options.deadline) break;
    exchanges.push(
      await visitor.visit(options.url, {
        forged,
        routeCookieName: options.routeCookieName,
        timeoutMs: options.timeoutMs,
        tlsNameCheck: options.tlsNameCheck,
        family: options.family,
        app: options.app,
      }),
    );
    tick();
  }
  return { index, source, exchanges };
}

/**
 * Each forged request claims a different /24, so a node that believes the header hashes it elsewhere, and
 * X-Forwarded-For and X-Real-IP claim different addresses, so the report can say which header was believed.
 */
function forgery(session: number, n: number): Forgery {
  const host = (session % 254) + 1;
  return {
    forwardedFor: `${n % 2 === 0 ? '203.0.113' : '192.0.2'}.${host}`,
    realIp: `198.51.100.${host}`,
  };
}
