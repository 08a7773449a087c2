/** The verifier's structured result: what the CLI prints, the Lambda logs, and tests assert on. */
import type { StickyStrategy } from '../settings';

export type CheckStatus = 'pass' | 'fail' | 'not-applicable';

export type CheckId =
  | 'reachable'
  | 'sticky'
  | 'spread'
  | 'backends'
  | 'client-address'
  | 'forged-headers';

export interface CheckResult {
  readonly id: CheckId;
  /** What the check establishes when it passes, e.g. "each session stays on one backend". */
  readonly title: string;
  readonly status: CheckStatus;
  /** What was observed, a line each (counts, sample sessions, addresses). */
  readonly evidence: readonly string[];
  /** Present when the check failed: what is wrong and which hop most likely causes it. */
  readonly diagnosis?: string;
}

/** How the edge pins a visitor: by the routing cookie, or by the client address (`ip_hash`, `hash`). */
export type Routing = 'cookie' | 'address';

export interface VerifyReport {
  readonly url: string;
  readonly sticky: StickyStrategy | 'auto';
  readonly routing: Routing;
  /** True when no check failed. */
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
  readonly sessions: number;
  readonly requests: number;
  /** Sessions per backend, by where each session's first answered request landed. */
  readonly sessionsPerBackend: Readonly<Record<string, number>>;
  readonly durationMs: number;
}
