/**
 * The demo app server that runs on each external app instance: it reports which backend answered, the
 * address it believes is the client's, and a session hit counter, so a person (or the verifier) can see
 * whether stickiness and the real client address survive the load balancer, nginx and the NAT.
 */
import {
  createServer,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { deriveClientIp } from './client-address';
import {
  checkBackendName,
  normaliseAddress,
  parseTrustedProxies,
  TrustCheck,
} from './config';
import { RequestFacts, renderPage } from './page';
import { Session, sessionCookie, SessionStore } from './sessions';

export interface BackendOptions {
  /** Reported as `backend`; letters, digits, dots, dashes, underscores. */
  readonly name: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** IPs or CIDRs whose X-Forwarded-For, X-Real-IP and X-Forwarded-Proto the backend believes. */
  readonly trustedProxies: readonly string[];
}

export interface RunningBackend {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export const HEALTH_PATH = '/healthz';

/**
 * Idle keep-alive connections are kept longer than nginx's upstream `keepalive_timeout` (60s by default), so
 * nginx, not the backend, closes them: otherwise nginx can reuse a connection the backend is closing and a
 * non-idempotent request on it fails instead of being retried.
 */
const KEEP_ALIVE_MS = 65_000;

const CLOSE_GRACE_MS = 3_000;

export async function startBackend(
  options: BackendOptions,
): Promise<RunningBackend> {
  const name = checkBackendName(options.name);
  const trusted = parseTrustedProxies(options.trustedProxies);
  const sessions = new SessionStore();
  const server = createServer((req, res) => {
    // Answer once the whole request has arrived, so a POST counts only when its body got here.
    req.on('end', () => respond(req, res, name, trusted, sessions)).resume();
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1_000;
  await listen(server, options.host, options.port);
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { url: `http://${host}:${port}`, port, close: () => close(server) };
}

function respond(
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  trusted: TrustCheck,
  sessions: SessionStore,
): void {
  res.setHeader('Cache-Control', 'no-store');
  if ((req.url ?? '').split('?')[0] === HEALTH_PATH) {
    send(res, 'text/plain; charset=utf-8', 'ok\n');
    return;
  }
  const peer = normaliseAddress(req.socket.remoteAddress ?? '');
  const session = sessions.hit(req.headers.cookie);
  if (session.isNew)
    res.setHeader(
      'Set-Cookie',
      sessionCookie(session.id, viaHttps(req, peer, trusted)),
    );
  const facts = requestFacts(req, peer, name, trusted, session);
  res.setHeader('Vary', 'Accept');
  if (/\btext\/html\b/.test(req.headers.accept ?? '')) {
    send(res, 'text/html; charset=utf-8', renderPage(facts));
  } else {
    send(res, 'application/json', JSON.stringify(facts) + '\n');
  }
}

function requestFacts(
  req: IncomingMessage,
  peer: string,
  backend: string,
  trusted: TrustCheck,
  session: Session,
): RequestFacts {
  const realIp = header(req, 'x-real-ip');
  const forwardedFor = header(req, 'x-forwarded-for');
  return {
    backend,
    peer,
    clientIp: deriveClientIp(
      peer,
      { realIp: realIp ?? undefined, forwardedFor: forwardedFor ?? undefined },
      trusted,
    ),
    headers: {
      'x-real-ip': realIp,
      'x-forwarded-for': forwardedFor,
      'x-forwarded-proto': header(req, 'x-forwarded-proto'),
    },
    session: { id: session.id, hits: session.hits },
  };
}

/**
 * True when a trusted proxy says the visitor used HTTPS (the right-most X-Forwarded-Proto entry is the one
 * the nearest proxy set), so the session cookie can be `Secure`.
 */
function viaHttps(
  req: IncomingMessage,
  peer: string,
  trusted: TrustCheck,
): boolean {
  const proto = header(req, 'x-forwarded-proto')
    ?.split(',')
    .pop()
    ?.trim()
    .toLowerCase();
  return trusted(peer) && proto === 'https';
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === 'string' ? value : null;
}

function send(res: ServerResponse, contentType: string, body: string): void {
  res.writeHead(200, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Stops accepting, drops idle keep-alive connections and lets requests in flight finish; a client that has
 * not finished sending its request after `CLOSE_GRACE_MS` is cut off, so stopping never hangs on it.
 */
function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    const cutOff = setTimeout(
      () => server.closeAllConnections(),
      CLOSE_GRACE_MS,
    );
    server.close((err) => {
      clearTimeout(cutOff);
      if (err) reject(err);
      else resolve();
    });
    server.closeIdleConnections();
  });
}
