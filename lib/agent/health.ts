/**
 * Each backend's health as the agent sees it: up until `fall` probes in a row fail, then down until `rise`
 * probes in a row succeed (HAProxy's `check fall N rise M`). A backend the agent has not probed yet is up,
 * as nginx treats it.
 */

export interface Thresholds {
  /** Consecutive failed probes that take a backend out. */
  readonly fall: number;
  /** Consecutive good probes that bring it back. */
  readonly rise: number;
}

export interface BackendHealth {
  readonly up: boolean;
  /** Probes in a row that disagreed with `up`. */
  readonly streak: number;
}

export const UNPROBED: BackendHealth = { up: true, streak: 0 };

/** The health after one more probe. */
export function observe(
  health: BackendHealth,
  ok: boolean,
  t: Thresholds,
): BackendHealth {
  if (ok === health.up) return { up: health.up, streak: 0 };
  const streak = health.streak + 1;
  return streak >= (health.up ? t.fall : t.rise)
    ? { up: ok, streak: 0 }
    : { up: health.up, streak };
}

/**
 * The backends to mark `down`. When every backend is down, none is: then the probes are more likely broken on
 * this node than every backend at once, and nginx's own passive checks still let a request through to
 * whichever backend answers (marking all down would answer every request with a 502).
 */
export function downSet(
  backends: readonly string[],
  health: ReadonlyMap<string, BackendHealth>,
): Set<string> {
  const down = backends.filter((b) => health.get(b)?.up === false);
  return new Set(down.length === backends.length ? [] : down);
}
