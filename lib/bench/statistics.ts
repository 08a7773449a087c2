/**
 * The arithmetic behind the figures, kept free of I/O so it is checked on known inputs.
 */

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** How many clients each backend got, in the order of `backends` (backends nobody reached count 0). */
export function countPerBackend(
  assignments: readonly string[],
  backends: readonly string[],
): number[] {
  return backends.map((name) => assignments.filter((a) => a === name).length);
}

/** Each count's fraction of the total. */
export function shares(counts: readonly number[]): number[] {
  const total = counts.reduce((sum, c) => sum + c, 0);
  return counts.map((c) => (total === 0 ? 0 : c / total));
}

/**
 * The worst backend's distance from the ideal equal share, relative to that share
 * (0.1 means some backend is 10 % above or below 1/n).
 */
export function worstDeviationFromIdeal(
  backendShares: readonly number[],
): number {
  const ideal = 1 / backendShares.length;
  return Math.max(...backendShares.map((s) => Math.abs(s - ideal) / ideal));
}

export interface RemapCount {
  /** Clients asked both before and after. */
  readonly clients: number;
  /** Clients whose backend changed. */
  readonly moved: number;
  /**
   * Clients that moved from one backend to another although both were there before and after: the
   * avoidable moves. Going 2 -> 3, moving to the new backend is the rebalancing a scale-out wants;
   * going 3 -> 2, the removed backend's clients have to move. Nothing else has to.
   */
  readonly movedNeedlessly: number;
}

/** Compares each client's backend before and after a change in the backend set. */
export function countRemap(
  before: readonly string[],
  after: readonly string[],
  backendsBefore: readonly string[],
  backendsAfter: readonly string[],
): RemapCount {
  if (before.length !== after.length)
    throw new Error(
      `remap needs one answer per client, got ${before.length} before and ${after.length} after`,
    );
  const stayed = new Set(
    backendsBefore.filter((b) => backendsAfter.includes(b)),
  );
  let moved = 0;
  let movedNeedlessly = 0;
  before.forEach((old, i) => {
    if (old === after[i]) return;
    moved++;
    if (stayed.has(old) && stayed.has(after[i])) movedNeedlessly++;
  });
  return { clients: before.length, moved, movedNeedlessly };
}

/**
 * The least fraction of clients that must move when going from `from` to `to` equal backends: 1/(n+1)
 * where n+1 is the larger count (scale-out: the new backend's fair share; scale-in: the removed one's).
 */
export function idealRemap(from: number, to: number): number {
  return Math.abs(to - from) / Math.max(from, to);
}

/** `value / base`, or NaN when there is no base to compare with. */
export function ratio(value: number, base: number): number {
  return base > 0 ? value / base : NaN;
}

/** One request a failover client made: when it finished (ms since the kill) and where it landed. */
export interface SessionEvent {
  readonly atMs: number;
  /** The backend that answered, or undefined when the request failed. */
  readonly backend: string | undefined;
}

/**
 * When a session was re-pinned after a backend died: the start of the final unbroken run of
 * successful answers from one live backend (ms since the kill), or undefined if the run never began
 * (the last answer failed or came from the dead backend). Events must be in time order and start
 * at or after the kill.
 */
export function repinnedAtMs(
  events: readonly SessionEvent[],
  deadBackend: string,
): number | undefined {
  const last = events[events.length - 1];
  if (!last || last.backend === undefined || last.backend === deadBackend)
    return undefined;
  let start = events.length - 1;
  while (start > 0 && events[start - 1].backend === last.backend) start--;
  return events[start].atMs;
}

/** The middle value (the mean of the two middle ones for an even count); NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median, least and greatest of some rounds' values; NaN everywhere for no values. */
export function spread(values: readonly number[]): {
  median: number;
  min: number;
  max: number;
} {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN };
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2): how often at most k of n values fall below the true median. */
export function binomialHalfCdf(k: number, n: number): number {
  let term = 0.5 ** n; // C(n, 0) / 2^n
  let sum = 0;
  for (let i = 0; i <= Math.min(k, n); i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum;
}

/**
 * How often a perfect hash misses a balance bound by chance alone: `keys` equally weighted keys (addresses)
 * each land on one of two backends with even odds, so one backend's count is Binomial(keys, ½), and its share
 * is more than `tolerance` (relative) off ½ when the count is below keys·(1 − tolerance)/2 or, as often by
 * symmetry, above keys·(1 + tolerance)/2. With few keys (a carrier NAT's 64 addresses) that is common.
 */
export function perfectHashMissChance(keys: number, tolerance: number): number {
  const low = (keys * (1 - tolerance)) / 2;
  // The largest count strictly below the bound.
  const below = Number.isInteger(low) ? low - 1 : Math.floor(low);
  return below < 0 ? 0 : 2 * binomialHalfCdf(below, keys);
}

/** A median with a confidence interval for it, from some rounds' values. */
export interface MedianInterval {
  readonly median: number;
  readonly low: number;
  readonly high: number;
  /** The interval's coverage: the chance it holds the true median (independent rounds assumed). */
  readonly confidence: number;
}

/**
 * A distribution-free confidence interval for the median: the k-th least and the k-th greatest value,
 * with k as large as keeps the coverage, 1 − 2·P(Bin(n, ½) ≤ k − 1), at least `wanted`. It assumes
 * nothing about the values' distribution (a loaded machine's is skewed, with a long slow tail), only that
 * the rounds are independent. With too few values for `wanted` it is the least and greatest value and
 * says the lower coverage it has (5 values: 93.75 %). NaN everywhere for no values.
 */
export function medianInterval(
  values: readonly number[],
  wanted = 0.95,
): MedianInterval {
  const n = values.length;
  if (n === 0) return { median: NaN, low: NaN, high: NaN, confidence: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const coverage = (k: number) => 1 - 2 * binomialHalfCdf(k - 1, n);
  let k = 1;
  while (k + 1 <= n / 2 && coverage(k + 1) >= wanted) k++;
  return {
    median: median(values),
    low: sorted[k - 1],
    high: sorted[n - k],
    confidence: coverage(k),
  };
}

/**
 * Round i of `values` over round i of `bases`: rounds measured back to back share the machine's load of
 * that moment, which a ratio of two medians taken over the whole run does not cancel.
 */
export function pairedRatios(
  values: readonly number[],
  bases: readonly number[],
): number[] {
  if (values.length !== bases.length)
    throw new Error(
      `paired ratios need one base per round, got ${values.length} values and ${bases.length} bases`,
    );
  return values.map((v, i) => ratio(v, bases[i]));
}
