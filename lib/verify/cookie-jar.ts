/**
 * The cookies one simulated visitor holds, with the browser rules that decide whether stickiness survives:
 * a `Secure` cookie is not sent over plain HTTP, and `Max-Age=0` (or an expiry in the past) deletes it.
 * Paths and domains are not modelled: the verifier only ever requests `/` on one host.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly overHttps: boolean) {}

  /** Takes the `Set-Cookie` headers of one response. */
  store(setCookies: readonly string[]): void {
    for (const line of setCookies) this.storeOne(line);
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  /** The `Cookie` request header, or undefined when the jar is empty. */
  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies]
      .map(([name, value]) => `${name}=${value}`)
      .join('; ');
  }

  private storeOne(line: string): void {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq);
    const attribute = (wanted: string) =>
      attributes.find((a) => a.toLowerCase().split('=')[0] === wanted);
    if (attribute('secure') !== undefined && !this.overHttps) return;
    if (isExpired(attribute('max-age'), attribute('expires'))) {
      this.cookies.delete(name);
      return;
    }
    this.cookies.set(name, pair.slice(eq + 1));
  }
}

function isExpired(
  maxAge: string | undefined,
  expires: string | undefined,
): boolean {
  if (maxAge !== undefined) return Number(maxAge.split('=')[1]) <= 0;
  if (expires === undefined) return false;
  const at = Date.parse(expires.slice(expires.indexOf('=') + 1));
  return !Number.isNaN(at) && at <= Date.now();
}
