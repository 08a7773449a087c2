/**
 * The verification core shared by `sticky-edge verify` and the post-deploy Lambda: it plays many visitors
 * against an endpoint and checks stickiness, the spread over backends, the client address the backends see
 * and that forged forwarding headers change nothing. No AWS or CDK dependency; it stops by itself.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isReachedWithoutNat, plainAddress } from './addresses';
import {
  countSessionsPerBackend,
  DirectBackend,
  evaluate,
  Observations,
} from './checks/index';
import { IpFamily, probe } from './probe';
import type { Routing, VerifyReport } from './report';
import { driveSessions, SessionRecord } from './sessions';
import { UserError } from '../errors';
import { ROUTE_COOKIE } from '../nginx/render';
import {
  isCookieName,
  SETTING_KEYS,
  STICKY_STRATEGIES,
  StickyStrategy,
} from '../settings';

export interface VerifyOptions {
  /** The edge's URL (the load balancer's), http or https. */
  readonly url: string;
  /**
   * The strategy the edge runs; `auto` treats the edge as cookie-routed when it sets the routing cookie.
   * @default 'auto'
   */
  readonly sticky?: StickyStrategy | 'auto';
  /**
   * The routing cookie's name (`cookieName`): how `auto` recognises cookie routing, and what the checks read.
   * @default 'sticky_edge_route'
   */
  readonly routeCookieName?: string;
  /** @default 20 */
  readonly sessions?: number;
  /** Plain requests per session; each session also sends two with forged headers. @default 4 */
  readonly requestsPerSession?: number;
  /**
   * Source addresses to bind, one per session in turn (the local topology's many clients on 127/8).
   * @default - the OS picks one address for every session
   */
  readonly sourceAddresses?: readonly string[];
  /**
   * What the backends must report as the client address (e.g. the NAT gateways' public IPs for a caller
   * inside the VPC).
   * @default - the address each request left from when the endpoint is reached without NAT (loopback or
   *   private), otherwise unknown: then any public address that is not the load balancer's passes
   */
  readonly expectedClientIps?: readonly string[];
  /**
   * Each backend's own URL, skipping nginx: proves every backend is up, which also tells failover apart
   * from nodes that disagree.
   * @default - none
   */
  readonly backendUrls?: readonly string[];
  /**
   * With `app: 'own'`, the name nginx gives each backend of `backendUrls` (its route id, in the same order):
   * a backend that answers directly is reported by it, so the spread check knows which backends exist.
   * @default - each backend is named by its URL
   */
  readonly backendNames?: readonly string[];
  /**
   * Check that an https endpoint's certificate names the URL's host. The chain is checked regardless.
   * @default true
   */
  readonly tlsNameCheck?: boolean;
  /**
   * Reach the endpoint over this IP family only: 6 resolves its name to AAAA records, so every visitor is an
   * IPv6 client of a dual-stack load balancer.
   * @default - the OS's choice among all the endpoint's addresses
   */
  readonly family?: IpFamily;
  /**
   * Whose app answers behind the edge: `demo`, the demo backend, whose JSON names the backend and the client
   * address it saw; `own`, the team's own servers (`backends`), whose answers the check cannot read: nginx names
   * the backend in `X-Sticky-Edge-Backend` (to the caller's address only), and what the app sees is not checked.
   * @default 'demo'
   */
  readonly app?: 'demo' | 'own';
  /** Per request. @default 5000 */
  readonly requestTimeoutMs?: number;
  /** For the whole run: later requests are skipped and reported. @default 90000 */
  readonly deadlineMs?: number;
  /** Sessions in flight at once. @default 8 */
  readonly concurrency?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export const LIMITS = {
  sessions: { min: 1, max: 500 },
  requestsPerSession: { min: 2, max: 50 },
  requestTimeoutMs: { min: 100, max: 60_000 },
  deadlineMs: { min: 1_000, max: 600_000 },
  concurrency: { min: 1, max: 64 },
} as const;

const FORGED_PER_SESSION = 2;

export async function verifyEndpoint(
  options: VerifyOptions,
): Promise<VerifyReport> {
  const started = Date.now();
  const url = parseEndpoint(options.url);
  const sticky = options.sticky ?? 'auto';
  if (sticky !== 'auto' && !STICKY_STRATEGIES.includes(sticky))
    throw new UserError(
      `sticky must be ip_hash, hash, cookie or auto, got ${JSON.stringify(sticky)}`,
    );
  const routeCookieName = options.routeCookieName ?? ROUTE_COOKIE;
  if (!isCookieName(routeCookieName))
    throw new UserError(
      `routeCookieName must be ${SETTING_KEYS.cookieName}, got ${JSON.stringify(routeCookieName)}`,
    );
  const sessions = whole('sessions', options.sessions ?? 20, LIMITS.sessions);
  const requestsPerSession = whole(
    'requestsPerSession',
    options.requestsPerSession ?? 4,
    LIMITS.requestsPerSession,
  );
  const sources = addresses('source address', options.sourceAddresses ?? []);
  const expected =
    options.expectedClientIps === undefined
      ? undefined
      : addresses('expected client address', options.expectedClientIps);
  const backendUrls = (options.backendUrls ?? []).map((u) =>
    parseEndpoint(u, 'backend URL'),
  );
  const timeoutMs = whole(
    'requestTimeoutMs',
    options.requestTimeoutMs ?? 5_000,
    LIMITS.requestTimeoutMs,
  );
  const deadline =
    started +
    whole('deadlineMs', options.deadlineMs ?? 90_000, LIMITS.deadlineMs);
  const concurrency = whole(
    'concurrency',
    options.concurrency ?? 8,
    LIMITS.concurrency,
  );
  const tlsNameCheck = options.tlsNameCheck ?? true;
  const family = options.family;
  if (family !== undefined && family !== 4 && family !== 6)
    throw new UserError(`family must be 4 or 6, got ${JSON.stringify(family)}`);
  const app = options.app ?? 'demo';
  const backendNames = options.backendNames ?? [];
  if (backendNames.length > 0 && backendNames.length !== backendUrls.length)
    throw new UserError(
      `backendNames must name each of the ${backendUrls.length} backend URLs, got ${JSON.stringify(backendNames)}`,
    );
  if (app !== 'demo' && app !== 'own')
    throw new UserError(`app must be demo or own, got ${JSON.stringify(app)}`);

  const endpointAddresses = await resolve(url, family);
  const direct =
    endpointAddresses.length > 0 &&
    endpointAddresses.every(isReachedWithoutNat);
  const [directBackends, driven] = await Promise.all([
    Promise.all(
      backendUrls.map((u, i) =>
        probeBackend(u, timeoutMs, tlsNameCheck, app, backendNames[i]),
      ),
    ),
    driveSessions({
      url,
      sessions,
      requestsPerSession,
      forgedPerSession: FORGED_PER_SESSION,
      sources,
      routeCookieName,
      timeoutMs,
      tlsNameCheck,
      family,
      app,
      deadline,
      concurrency,
      onProgress: options.onProgress,
    }),
  ]);
  const observations: Observations = {
    app,
    sticky,
    routing: routing(sticky, driven.sessions),
    routeCookieName,
    sessions: driven.sessions,
    skipped: driven.skipped,
    endpointAddresses,
    directBackends,
    expectedClientIps: (localAddress) =>
      expected ?? (direct ? [localAddress] : undefined),
  };
  const checks = evaluate(observations);
  return {
    url: url.href,
    sticky,
    routing: observations.routing,
    ok: checks.every((c) => c.status !== 'fail'),
    checks,
    sessions,
    requests: driven.sessions.reduce((n, s) => n + s.exchanges.length, 0),
    sessionsPerBackend: countSessionsPerBackend(observations),
    durationMs: Date.now() - started,
  };
}

/** Only http and https: anything else is a typo or not an edge this verifier understands. */
export function parseEndpoint(text: string, what = 'url'): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(
      `${what} must be an http:// or https:// URL, got ${JSON.stringify(text)}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(
      `${what} must be an http:// or https:// URL, got ${JSON.stringify(text)}`,
    );
  }
  return url;
}

function whole(
  name: string,
  value: number,
  range: { min: number; max: number },
): number {
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new UserError(
      `${name} must be a whole number from ${range.min} to ${range.max}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function addresses(what: string, values: readonly string[]): string[] {
  return values.map((value) => {
    // The exact string: plainAddress trims, and "1.2.3.4\n" must be bad input, not a failed check.
    const plain = plainAddress(value);
    if (isIP(value) === 0 || isIP(plain) === 0)
      throw new UserError(
        `${what} must be an IP address, got ${JSON.stringify(value)}`,
      );
    return plain;
  });
}

/** The load balancer's addresses; an unresolvable name shows up as failed requests instead. */
async function resolve(url: URL, family?: IpFamily): Promise<string[]> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  try {
    return (await lookup(host, { all: true, family: family ?? 0 })).map((a) =>
      plainAddress(a.address),
    );
  } catch {
    return [];
  }
}

function routing(
  sticky: StickyStrategy | 'auto',
  sessions: readonly SessionRecord[],
): Routing {
  if (sticky !== 'auto') return sticky === 'cookie' ? 'cookie' : 'address';
  return sessions.some((s) =>
    s.exchanges.some((e) => e.routeCookie !== undefined),
  )
    ? 'cookie'
    : 'address';
}

async function probeBackend(
  url: URL,
  timeoutMs: number,
  tlsNameCheck: boolean,
  app: 'demo' | 'own',
  name: string | undefined,
): Promise<DirectBackend> {
  const result = await probe(url, {
    timeoutMs,
    tlsNameCheck,
    app: app === 'own' ? 'any-http' : 'demo',
  });
  // An own app's direct answer names no backend: it is the one configured at this URL.
  return result.ok
    ? {
        url: url.href,
        name: app === 'own' ? (name ?? url.href) : result.answer.backend,
      }
    : { url: url.href, error: result.error };
}
