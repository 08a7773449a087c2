/**
 * The cookies one simulated visitor holds, kept by `tough-cookie` (RFC 6265, as browsers keep them) so the
 * rules that decide whether stickiness survives are a browser's, not ours: a `Secure` cookie is neither
 * stored from nor sent over plain HTTP, `Max-Age=0` or an expiry in the past deletes a cookie, and paths and
 * domains scope it.
 */
import { CookieJar as ToughCookieJar } from 'tough-cookie';

export class CookieJar {
  // Loopback over plain HTTP is not treated as secure: the local topology stands in for a remote http edge,
  // where a browser drops a `Secure` cookie.
  private readonly jar = new ToughCookieJar(undefined, {
    allowSecureOnLocal: false,
  });

  /** Takes the `Set-Cookie` headers of one response to `url`; a cookie a browser would refuse is skipped. */
  store(url: URL | string, setCookies: readonly string[]): void {
    for (const line of setCookies)
      this.jar.setCookieSync(line, String(url), { ignoreError: true });
  }

  /** The value of the cookie `name` that a request to `url` would carry. */
  get(url: URL | string, name: string): string | undefined {
    return this.jar.getCookiesSync(String(url)).find((c) => c.key === name)
      ?.value;
  }

  /** The `Cookie` request header for `url`, or undefined when no cookie applies. */
  header(url: URL | string): string | undefined {
    return this.jar.getCookieStringSync(String(url)) || undefined;
  }

  /** Forgets every cookie, as a new private window would. */
  clear(): void {
    this.jar.removeAllCookiesSync();
  }
}
