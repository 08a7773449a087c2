import { randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'session';

/** A visitor's session on one backend: ids are local to it, so a request that lands elsewhere starts over. */
export interface Session {
  readonly id: string;
  readonly hits: number;
  /** True when this request created the session (the response must set the cookie). */
  readonly isNew: boolean;
}

/**
 * How many sessions one backend remembers by default. A load test without cookies makes a new session per request;
 * past this bound the least recently used are forgotten so memory stays flat (about 100 bytes each).
 */
const MAX_SESSIONS = 100_000;

const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/** In-memory hit counters keyed by session id. */
export class SessionStore {
  private readonly hits = new Map<string, number>();

  constructor(private readonly maxSessions = MAX_SESSIONS) {}

  /** Counts one hit on the session named by the Cookie header, or on a new one when it is absent or unknown. */
  hit(cookieHeader: string | undefined): Session {
    const presented = readCookie(cookieHeader, SESSION_COOKIE);
    const known =
      presented !== undefined && ID_PATTERN.test(presented)
        ? this.hits.get(presented)
        : undefined;
    if (presented !== undefined && known !== undefined) {
      this.remember(presented, known + 1);
      return { id: presented, hits: known + 1, isNew: false };
    }
    const id = randomBytes(16).toString('base64url');
    this.remember(id, 1);
    return { id, hits: 1, isNew: true };
  }

  /** A Map iterates in insertion order: re-inserting on every hit keeps the least recently used first. */
  private remember(id: string, hits: number): void {
    this.hits.delete(id);
    if (this.hits.size >= this.maxSessions) {
      const leastRecent = this.hits.keys().next().value;
      if (leastRecent !== undefined) this.hits.delete(leastRecent);
    }
    this.hits.set(id, hits);
  }
}

/** The `Set-Cookie` value for a new session; `Secure` only when the visitor reached us over HTTPS. */
export function sessionCookie(id: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

function readCookie(
  header: string | undefined,
  name: string,
): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name)
      return pair.slice(eq + 1).trim();
  }
  return undefined;
}
