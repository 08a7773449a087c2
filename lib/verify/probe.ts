/**
 * One HTTP request to the edge (or straight to a backend) and the demo backend's answer to it. Every request
 * opens a fresh connection, as a new visitor's browser or a load balancer flow would: reusing one keep-alive
 * connection would pin every request to one nginx node and hide nodes that disagree.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { connect } from 'node:net';
import { plainAddress } from './addresses';
import { announceClient } from './proxy-header';

/** The facts the demo backend reports as JSON (see lib/backend). */
export interface BackendAnswer {
  readonly backend: string;
  /** The backend's TCP peer: nginx, or the NAT gateway nginx's traffic leaves through. */
  readonly peer: string;
  /** The address the backend derives for the client from the headers nginx sent. */
  readonly clientIp: string;
  readonly realIp: string | null;
  readonly forwardedFor: string | null;
  readonly sessionId: string;
  readonly hits: number;
}

export type ProbeResult =
  | {
      readonly ok: true;
      readonly answer: BackendAnswer;
      /** The address this request left from, as the first hop saw it. */
      readonly localAddress: string;
      readonly setCookies: readonly string[];
    }
  | {
      readonly ok: false;
      readonly error: string;
      readonly status?: number;
      /** A browser keeps the cookies of any response, an error page's too. */
      readonly setCookies?: readonly string[];
    };

/**
 * Whose answers a probe reads. `demo`: the demo backend's JSON, which names the backend and what it saw.
 * `own`: the team's own app through the edge, whose body means nothing here; nginx names the backend that
 * answered in `X-Sticky-Edge-Backend` (for the check's addresses only). `any-http`: the team's own app
 * called directly; any HTTP answer shows it is up.
 */
export type AppKind = 'demo' | 'own' | 'any-http';

/** The header nginx names the answering backend in (lib/nginx/render.ts BACKEND_HEADER), lower-cased as Node reads it. */
const BACKEND_HEADER = 'x-sticky-edge-backend';

export interface ProbeOptions {
  /** @default 'demo' */
  readonly app?: AppKind;
  /** Source address to bind (the local topology's many clients); the OS picks when absent. */
  readonly localAddress?: string;
  /**
   * Open the connection with a PROXY v2 header naming this client address (plain http only): for a listener
   * that believes such headers from this host, as the local load-balancer stand-in's IPv6 client port does.
   */
  readonly announce?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /**
   * Check that an https endpoint's certificate names its host (the chain is always checked).
   * @default true
   */
  readonly tlsNameCheck?: boolean;
  /**
   * Resolve the URL's host to this IP family only (6: its AAAA records), so a dual-stack endpoint is reached
   * over the family asked for.
   * @default - the OS's choice among all the host's addresses
   */
  readonly family?: IpFamily;
}

/** An IP version: 4 or 6. */
export type IpFamily = 4 | 6;

/** A reply larger than this is not the demo backend's. */
const MAX_BODY_BYTES = 64 * 1024;

export function probe(url: URL, options: ProbeOptions): Promise<ProbeResult> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const request = client.request(
      url,
      {
        localAddress: options.localAddress,
        // No agent: a fresh connection per request. `createConnection` is used only without one.
        ...(options.announce === undefined
          ? { agent: false }
          : { createConnection: announcing(url, options.announce) }),
        ...(options.family === undefined ? {} : { family: options.family }),
        headers: {
          accept: 'application/json',
          connection: 'close',
          ...options.headers,
        },
        signal: AbortSignal.timeout(options.timeoutMs),
        ...(options.tlsNameCheck === false
          ? { checkServerIdentity: () => undefined }
          : {}),
      },
      (response) => {
        const localAddress =
          options.announce ?? plainAddress(response.socket.localAddress ?? '');
        readBody(response)
          .then((body) =>
            resolve(
              interpret(response, body, localAddress, options.app ?? 'demo'),
            ),
          )
          .catch((err: Error) =>
            resolve({ ok: false, error: describe(err, options.timeoutMs) }),
          );
      },
    );
    request.on('error', (err) =>
      resolve({ ok: false, error: describe(err, options.timeoutMs) }),
    );
    request.end();
  });
}

/** A connection that starts with a PROXY v2 header naming `client`, before the request's first byte. */
function announcing(url: URL, client: string) {
  if (url.protocol !== 'http:')
    throw new Error(`announcing a client address needs http, got ${url.href}`);
  return () => {
    const socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
    });
    socket.write(announceClient(client));
    return socket;
  };
}

function interpret(
  response: http.IncomingMessage,
  body: string,
  localAddress: string,
  app: AppKind,
): ProbeResult {
  const status = response.statusCode ?? 0;
  const setCookies = response.headers['set-cookie'] ?? [];
  if (app !== 'demo')
    return interpretOwn(response, status, setCookies, localAddress, app);
  if (status < 200 || status > 299)
    return {
      ok: false,
      status,
      error: `HTTP ${status} ${response.statusMessage ?? ''}`.trim(),
      setCookies,
    };
  const answer = parseAnswer(body);
  if (answer === undefined)
    return {
      ok: false,
      status,
      error: `HTTP ${status} but not the demo backend's JSON: ${JSON.stringify(body.slice(0, 80))}`,
      setCookies,
    };
  return { ok: true, answer, localAddress, setCookies };
}

/** What the check knows of an own app's answer: the backend's name only, never what the app saw. */
function ownAnswer(backend: string): BackendAnswer {
  return {
    backend,
    peer: '',
    clientIp: '',
    realIp: null,
    forwardedFor: null,
    sessionId: '',
    hits: 0,
  };
}

/**
 * The team's own app: whatever status it chose (a 404 or a redirect is its answer too), a backend answered
 * when nginx names it. nginx's own 502/504 name none, and neither does an edge that does not reveal the
 * backend to this caller.
 */
function interpretOwn(
  response: http.IncomingMessage,
  status: number,
  setCookies: readonly string[],
  localAddress: string,
  app: AppKind,
): ProbeResult {
  if (app === 'any-http')
    return {
      ok: true,
      answer: ownAnswer(`an HTTP server (${status})`),
      localAddress,
      setCookies,
    };
  const named = response.headers[BACKEND_HEADER];
  if (typeof named === 'string' && named !== '')
    return { ok: true, answer: ownAnswer(named), localAddress, setCookies };
  return {
    ok: false,
    status,
    error:
      `HTTP ${status} ${response.statusMessage ?? ''} naming no backend (no X-Sticky-Edge-Backend)`.replace(
        /\s+\(/,
        ' (',
      ),
    setCookies,
  };
}

function parseAnswer(body: string): BackendAnswer | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return undefined;
  }
  const facts = raw as {
    backend?: unknown;
    peer?: unknown;
    clientIp?: unknown;
    headers?: Record<string, unknown>;
    session?: Record<string, unknown>;
  };
  if (
    typeof facts?.backend !== 'string' ||
    typeof facts.peer !== 'string' ||
    typeof facts.clientIp !== 'string'
  )
    return undefined;
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  return {
    backend: facts.backend,
    peer: plainAddress(facts.peer),
    clientIp: plainAddress(facts.clientIp),
    realIp: text(facts.headers?.['x-real-ip']),
    forwardedFor: text(facts.headers?.['x-forwarded-for']),
    sessionId: text(facts.session?.id) ?? '',
    hits: typeof facts.session?.hits === 'number' ? facts.session.hits : 0,
  };
}

function readBody(response: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES)
        response.destroy(
          new Error(`reply larger than ${MAX_BODY_BYTES} bytes`),
        );
      else chunks.push(chunk);
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}

function describe(err: Error, timeoutMs: number): string {
  if (err.name === 'AbortError' || err.name === 'TimeoutError')
    return `no answer within ${timeoutMs} ms`;
  const code = (err as { code?: string }).code;
  return code ? `${code}: ${err.message}` : err.message;
}
