/**
 * Drives the simulated visitors: each session sends its plain requests, then requests carrying forged
 * X-Forwarded-For / X-Real-IP headers, all from one source address and with one cookie jar, as one browser
 * would. A bounded pool runs sessions side by side; at the deadline the remaining requests are skipped, so a
 * run always ends.
 */
import { CookieJar } from './cookie-jar';
import { probe, ProbeResult } from './probe';

/** Addresses a client claims for itself in forged headers: documentation ranges (RFC 5737) no real client has. */
export interface Forgery {
  readonly forwardedFor: string;
  readonly realIp: string;
}

export interface Exchange {
  /** Present on the requests that carried forged headers. */
  readonly forged?: Forgery;
  /** The routing cookie's value after this exchange (undefined: none held). */
  readonly routeCookie?: string;
  readonly result: ProbeResult;
}

export interface SessionRecord {
  readonly index: number;
  /** The source address bound for this session, when the caller chose one. */
  readonly source?: string;
  readonly exchanges: readonly Exchange[];
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
  let next = 0;
  const worker = async () => {
    while (next < options.sessions) {
      const index = next++;
      const record = await runSession(index, options, () =>
        options.onProgress?.(++done, total),
      );
      skipped += perSession - record.exchanges.length;
      records.push(record);
    }
  };
  await Promise.all(
    Array.from(
      { length: Math.min(options.concurrency, options.sessions) },
      worker,
    ),
  );
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
  const jar = new CookieJar(options.url.protocol === 'https:');
  const plan: (Forgery | undefined)[] = [
    ...Array.from({ length: options.requestsPerSession }, () => undefined),
    ...Array.from({ length: options.forgedPerSession }, (_, n) =>
      forgery(index, n),
    ),
  ];
  const exchanges: Exchange[] = [];
  for (const forged of plan) {
    if (Date.now() >= options.deadline) break;
    const cookie = jar.header();
    const result = await probe(options.url, {
      localAddress: source,
      timeoutMs: options.timeoutMs,
      tlsNameCheck: options.tlsNameCheck,
      headers: {
        ...(cookie ? { cookie } : {}),
        ...(forged
          ? {
              'x-forwarded-for': forged.forwardedFor,
              'x-real-ip': forged.realIp,
            }
          : {}),
      },
    });
    if (result.ok) jar.store(result.setCookies);
    exchanges.push({
      forged,
      routeCookie: jar.get(options.routeCookieName),
      result,
    });
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
