/**
 * Simulated clients: each has its own source address (bound with `localAddress`, so HAProxy and nginx see a
 * real TCP peer) and a cookie jar, like a browser behind its own connection.
 */
import { request } from 'node:http';
import type { RequestFacts } from '../backend/page';
import type { Topology } from './topology-contract';

/** Clients with a /24 of their own use networks 1-250; network 251 is the carrier NAT; 252-255 are spare. */
const OWN_NETWORKS = 250;
export const CARRIER_NAT_NETWORK = 251;
/** A network no client starts in, for moving a client to a new address. */
export const ROAMING_NETWORK = 252;

export type ClientGroup = 'own-network' | 'carrier-nat';

export class Client {
  private readonly cookies = new Map<string, string>();

  constructor(
    readonly id: number,
    /** The source address; a test may change it to move the client (a phone changing networks). */
    public address: string,
    readonly group: ClientGroup,
  ) {}

  /** The /24 the client is in: what `ip_hash` looks at. */
  get network(): string {
    return this.address.split('.').slice(0, 3).join('.');
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  cookieHeader(): string | undefined {
    return this.cookies.size === 0
      ? undefined
      : [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Keeps what `Set-Cookie` headers set; an empty value or `Max-Age=0` removes the cookie. */
  storeCookies(setCookie: readonly string[]): void {
    for (const line of setCookie) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) =>
        /^\s*max-age\s*=\s*0\s*$/i.test(a),
      );
      if (value === '' || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  forgetCookies(): void {
    this.cookies.clear();
  }
}

/**
 * `count` clients: nine in ten with a /24 of their own (up to 250 networks, then another host in each), one
 * in ten sharing the carrier-NAT /24.
 */
export function makeClients(
  topology: Pick<Topology, 'clientAddress'>,
  count: number,
): Client[] {
  const natCount = Math.min(254, Math.floor(count / 10));
  const ownCount = count - natCount;
  if (ownCount > OWN_NETWORKS * 254)
    throw new Error(
      `at most ${OWN_NETWORKS * 254 + 254} clients, got ${count}`,
    );
  // A random host in each network, like real client addresses: keys that differ in one octet only would
  // land on the hash ring in a pattern (nginx hashes them with CRC32, which is linear).
  const firstHost = Array.from({ length: OWN_NETWORKS }, () =>
    Math.floor(Math.random() * 254),
  );
  const own = Array.from({ length: ownCount }, (_, i) => {
    const network = i % OWN_NETWORKS;
    const host =
      1 + ((firstHost[network] + Math.floor(i / OWN_NETWORKS)) % 254);
    return new Client(
      i,
      topology.clientAddress(1 + network, host),
      'own-network',
    );
  });
  const nat = Array.from(
    { length: natCount },
    (_, i) =>
      new Client(
        ownCount + i,
        topology.clientAddress(CARRIER_NAT_NETWORK, 1 + i),
        'carrier-nat',
      ),
  );
  return [...own, ...nat];
}

export interface Answer {
  readonly status: number;
  /** The backend's JSON answer, when it was one. */
  readonly facts?: RequestFacts;
  readonly setCookie: readonly string[];
}

/**
 * One GET from the client's address on a fresh connection (no keep-alive: every request is a new TCP
 * connection, so the load balancer picks an nginx node again). Cookies are sent and stored.
 */
export function fetchAs(
  client: Client,
  url: string,
  extraHeaders: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<Answer> {
  const cookie = client.cookieHeader();
  const headers: Record<string, string> = {
    accept: 'application/json',
    connection: 'close',
    ...extraHeaders,
    ...(cookie ? { cookie } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        localAddress: client.address,
        headers,
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('error', reject);
        res.on('end', () => {
          const setCookie = res.headers['set-cookie'] ?? [];
          client.storeCookies(setCookie);
          resolve({
            status: res.statusCode ?? 0,
            facts: parseFacts(res.headers['content-type'], body),
            setCookie,
          });
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no answer from ${url} in ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end();
  });
}

function parseFacts(
  contentType: string | undefined,
  body: string,
): RequestFacts | undefined {
  if (!contentType?.startsWith('application/json')) return undefined;
  try {
    return JSON.parse(body) as RequestFacts;
  } catch {
    return undefined;
  }
}
