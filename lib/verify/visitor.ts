/**
 * One simulated visitor: a source address of its own (bound with `localAddress`, so the load balancer and
 * nginx see a real TCP peer; the local topology's clients live on 127/8), a cookie jar kept the way a browser
 * keeps one, and, on the requests that carry them, forged forwarding headers. Every request it sends becomes
 * an `Observation`: the one record the verifier's checks, the local demo's figures and the benchmarks read.
 */
import { CookieJar } from './cookie-jar';
import { AppKind, BackendAnswer, IpFamily, probe, ProbeResult } from './probe';

/**
 * Addresses a client claims for itself in forged headers. Callers use documentation ranges (RFC 5737) that
 * no real client has; X-Forwarded-For may hold a list.
 */
export interface Forgery {
  readonly forwardedFor?: string;
  readonly realIp?: string;
}

/** One request a visitor sent and what came back. */
export interface Observation {
  /** The source address bound for this request (undefined: the OS picked one). */
  readonly source?: string;
  /** Present on the requests that carried forged headers. */
  readonly forged?: Forgery;
  /** The routing cookie's value after this exchange (undefined: none held). */
  readonly routeCookie?: string;
  readonly result: ProbeResult;
}

export interface VisitOptions {
  readonly timeoutMs: number;
  readonly forged?: Forgery;
  /** The cookie whose value the observation records as `routeCookie`. */
  readonly routeCookieName?: string;
  /** @default true */
  readonly tlsNameCheck?: boolean;
  /** As in ProbeOptions. @default - the OS's choice */
  readonly family?: IpFamily;
  /** Whose answers the visitor reads (see `AppKind`). @default 'demo' */
  readonly app?: AppKind;
}

/** The request headers that carry a forgery. */
export function forgedHeaders(
  forged: Forgery | undefined,
): Record<string, string> {
  return {
    ...(forged?.forwardedFor !== undefined
      ? { 'x-forwarded-for': forged.forwardedFor }
      : {}),
    ...(forged?.realIp !== undefined ? { 'x-real-ip': forged.realIp } : {}),
  };
}

/** The backend's answer an observation holds, when the request was answered by the demo backend. */
export function answerOf(o: Observation): BackendAnswer | undefined {
  return o.result.ok ? o.result.answer : undefined;
}

/** True when `address` is one the forgery claimed (any entry of X-Forwarded-For, or X-Real-IP). */
export function claimedBy(
  forged: Forgery | undefined,
  address: string,
): boolean {
  if (!forged) return false;
  const claimed = [
    ...(forged.forwardedFor?.split(',') ?? []),
    ...(forged.realIp !== undefined ? [forged.realIp] : []),
  ];
  return claimed.some((entry) => entry.trim() === address);
}

export class Visitor {
  readonly cookies = new CookieJar();
  private lastUrl?: URL;

  constructor(
    /** The source address to bind; a caller may change it to move the visitor (a phone changing networks). */
    public address?: string,
    /**
     * `announce`: do not bind `address`, name it in a PROXY v2 header at the start of each connection instead,
     * for a listener that believes such headers (the local topology's IPv6 clients: `Topology.ipv6Url`). How
     * the local topology has clients at IPv6 addresses no interface of this host holds.
     * @default 'bind'
     */
    private readonly addressing: 'bind' | 'announce' = 'bind',
  ) {}

  /**
   * One GET on a fresh connection (no keep-alive: every request is a new TCP connection, so the load balancer
   * picks an nginx node again), sending and keeping cookies as a browser does.
   */
  async visit(url: URL | string, options: VisitOptions): Promise<Observation> {
    const target = new URL(url);
    this.lastUrl = target;
    const source = this.address;
    const cookie = this.cookies.header(target);
    const announced = this.addressing === 'announce';
    const result = await probe(target, {
      localAddress: announced ? undefined : source,
      announce: announced ? source : undefined,
      timeoutMs: options.timeoutMs,
      tlsNameCheck: options.tlsNameCheck,
      family: options.family,
      app: options.app,
      headers: {
        ...forgedHeaders(options.forged),
        ...(cookie ? { cookie } : {}),
      },
    });
    if (result.setCookies) this.cookies.store(target, result.setCookies);
    return {
      source,
      forged: options.forged,
      routeCookie: options.routeCookieName
        ? this.cookies.get(target, options.routeCookieName)
        : undefined,
      result,
    };
  }

  /** The value of a cookie the visitor holds for the last URL it visited. */
  cookie(name: string): string | undefined {
    return this.lastUrl ? this.cookies.get(this.lastUrl, name) : undefined;
  }

  forgetCookies(): void {
    this.cookies.clear();
  }
}
