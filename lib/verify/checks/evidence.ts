/** How the checks word their evidence: which session, and a few samples rather than every one. */
import type { SessionRecord } from '../sessions';

const SAMPLES = 3;

/** Up to a few items, at most one per session, so the evidence shows the problem is not one session's. */
export function samples<T extends { session: SessionRecord }>(
  items: readonly T[],
): T[] {
  const seen = new Set<number>();
  return items
    .filter(
      (item) => !seen.has(item.session.index) && seen.add(item.session.index),
    )
    .slice(0, SAMPLES);
}

/** The first few of a list, for evidence lines. */
export function few<T>(items: readonly T[]): T[] {
  return items.slice(0, SAMPLES);
}

export function who(session: SessionRecord): string {
  return session.source
    ? `session ${session.index + 1} from ${session.source}`
    : `session ${session.index + 1}`;
}
