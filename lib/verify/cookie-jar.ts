/**
 * The cookies one simulated visitor holds, with the browser rules (RFC 6265) that decide whether stickiness
 * survives: a cookie belongs to the host that set it and to its path, a `Secure` cookie is neither kept
 * from nor sent over plain HTTP, and `Max-Age` (which wins over `Expires`) or `Expires` ends it; an expiry
 * in the past deletes it. The `Domain` attribute is not modelled (a cookie stays host-only): the edge never
 * sets one, and honouring it properly needs the public-suffix list.
 *
 * Why not `tough-cookie`: it keeps these rules and more, but it brings the public-suffix list (tldts, about
 * 140 KB minified), which would take the post-deploy Lambda's bundle from about 25 KB past the 100 KB its
 * test holds it under, for the one rule (Domain) the edge does not use.
 */
interface Stored {
  readonly host: string;
  readonly path: string;
  readonly name: string;
  readonly value: string;
  readonly secure: boolean;
  /** Epoch milliseconds; undefined: a session cookie. */
  readonly expires?: number;
}

export class CookieJar {
  private readonly cookies = new Map<string, Stored>();

  /** Takes the `Set-Cookie` headers of one response to `url`; a cookie a browser would refuse is skipped. */
  store(url: URL | string, setCookies: readonly string[]): void {
    const target = new URL(url);
    for (const line of setCookies) this.storeOne(target, line);
  }

  /** The value of the cookie `name` that a request to `url` would carry. */
  get(url: URL | string, name: string): string | undefined {
    return this.matching(new URL(url)).find((c) => c.name === name)?.value;
  }

  /** The `Cookie` request header for `url`, or undefined when no cookie applies. */
  header(url: URL | string): string | undefined {
    const cookies = this.matching(new URL(url));
    if (cookies.length === 0) return undefined;
    return cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** Forgets every cookie, as a new private window would. */
  clear(): void {
    this.cookies.clear();
  }

  /** The cookies for a request to `url`, longer paths first (RFC 6265 5.4), then in the order they were set. */
  private matching(url: URL): Stored[] {
    const now = Date.now();
    return [...this.cookies.values()]
      .filter(
        (c) =>
          c.host === url.hostname &&
          pathMatches(url.pathname, c.path) &&
          (!c.secure || url.protocol === 'https:') &&
          (c.expires === undefined || c.expires > now),
      )
      .sort((a, b) => b.path.length - a.path.length);
  }

  private storeOne(url: URL, line: string): void {
    const [pair, ...parts] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq).trim();
    const attributes = new Map(
      parts.map((part) => {
        const at = part.indexOf('=');
        return at < 0
          ? [part.toLowerCase(), '']
          : [part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim()];
      }),
    );
    const secure = attributes.has('secure');
    if (secure && url.protocol !== 'https:') return;
    const pathAttribute = attributes.get('path');
    const path = pathAttribute?.startsWith('/')
      ? pathAttribute
      : defaultPath(url.pathname);
    const key = `${url.hostname} ${path} ${name}`;
    const expires = expiry(
      attributes.get('max-age'),
      attributes.get('expires'),
    );
    if (expires !== undefined && expires <= Date.now()) {
      this.cookies.delete(key);
      return;
    }
    // A new value replaces the old one in place, keeping its creation order.
    this.cookies.set(key, {
      host: url.hostname,
      path,
      name,
      value: pair.slice(eq + 1).trim(),
      secure,
      expires,
    });
  }
}

/** RFC 6265 5.2.2 and 5.2.1: a whole number of seconds wins over a date; anything else is ignored. */
function expiry(
  maxAge: string | undefined,
  expires: string | undefined,
): number | undefined {
  if (maxAge !== undefined && /^-?\d+$/.test(maxAge))
    return Date.now() + Number(maxAge) * 1000;
  if (expires === undefined) return undefined;
  const at = Date.parse(expires);
  return Number.isNaN(at) ? undefined : at;
}

/** RFC 6265 5.1.4: the request path's directory. */
function defaultPath(requestPath: string): string {
  const last = requestPath.lastIndexOf('/');
  return last <= 0 ? '/' : requestPath.slice(0, last);
}

/** RFC 6265 5.1.4 path-match. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  return (
    requestPath.startsWith(cookiePath) &&
    (cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/')
  );
}
