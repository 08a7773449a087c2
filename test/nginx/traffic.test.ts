import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAccessLog } from '../../lib/nginx/access-log';
import { findNginx } from '../../lib/nginx/nginx-binary';
import {
  HEALTH_PATH,
  renderEdgeConfig,
  renderMainConfig,
  ROUTE_COOKIE,
} from '../../lib/nginx/render';
import { routeId } from '../../lib/nginx/validate';
import { STICKY_STRATEGIES } from '../../lib/settings';

/**
 * Compact real-traffic proofs on stock nginx (node:http backends, clients on their own loopback addresses):
 * the `cookie` strategy, and which client address nginx believes behind each load balancer kind. The full
 * behaviour matrix lives with the local topology.
 */

const randomLoopback = () =>
  `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;

async function freePort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) =>
    server.once('error', reject).listen(0, host, resolve),
  );
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Backend {
  readonly name: string;
  readonly address: string;
  readonly server: http.Server;
  /** TCP connections nginx opened to this backend (keepalive keeps this below the request count). */
  connections: number;
  /** The forwarding headers of the last request. */
  lastHeaders?: http.IncomingHttpHeaders;
}

async function startBackend(name: string): Promise<Backend> {
  const host = randomLoopback();
  const server = http.createServer((req, res) => {
    backend.lastHeaders = req.headers;
    res.setHeader('Set-Cookie', 'app_session=1; Path=/');
    res.end(JSON.stringify({ backend: name }));
  });
  server.on('upgrade', (req, socket) => {
    backend.lastHeaders = req.headers;
    socket.end(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Backend: ${name}\r\n\r\n`,
    );
  });
  const backend: Backend = { name, address: '', server, connections: 0 };
  server.on('connection', () => backend.connections++);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return Object.assign(backend, {
    address: `${host}:${(server.address() as net.AddressInfo).port}`,
  });
}

async function stopBackend(backend: Backend): Promise<void> {
  backend.server.closeAllConnections();
  await new Promise((resolve) => backend.server.close(resolve));
}

interface Reply {
  readonly status: number;
  readonly backend?: string;
  readonly setCookies: string[];
}

function request(
  url: string,
  clientAddress: string,
  headers: http.OutgoingHttpHeaders = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { localAddress: clientAddress, headers, agent: false },
      (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => {
          const backend =
            res.headers['content-type'] === undefined && body.startsWith('{')
              ? JSON.parse(body).backend
              : undefined;
          resolve({
            status: res.statusCode ?? 0,
            backend,
            setCookies: res.headers['set-cookie'] ?? [],
          });
        });
      },
    );
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({
        status: res.statusCode ?? 0,
        backend: res.headers['x-backend'] as string,
        setCookies: res.headers['set-cookie'] ?? [],
      });
    });
    req.on('error', reject);
  });
}

const accessLog = async (dir: string) =>
  parseAccessLog(await readFile(join(dir, 'access.log'), 'utf8'));

const routeCookie = (reply: Reply) =>
  reply.setCookies.find((c) => c.startsWith(`${ROUTE_COOKIE}=`));
const routeValue = (reply: Reply) =>
  routeCookie(reply)?.split(';')[0].split('=')[1];

interface RunningNginx {
  readonly url: string;
  /** Its prefix: nginx.conf, access.log. */
  readonly dir: string;
  stop(): Promise<void>;
}

/** nginx in the foreground in its own temp prefix, serving `http(listen)`; resolves once /healthz answers. */
async function startNginx(
  http: (listen: string) => string,
  healthCheck: (url: string) => Promise<boolean>,
  workerProcesses = 1,
): Promise<RunningNginx> {
  const dir = await mkdtemp(join(tmpdir(), 'sticky-edge-traffic-'));
  // nginx started as root runs its workers as nobody, who must be able to enter the prefix.
  await chmod(dir, 0o755);
  const host = randomLoopback();
  const port = await freePort(host);
  // Unbuffered log: the tests read a request's log line right after its answer.
  const main = renderMainConfig({
    http: http(`${host}:${port}`),
    pidFile: 'nginx.pid',
    errorLog: 'stderr',
    accessLog: 'access.log',
    bufferAccessLog: false,
    tempDir: '.',
    workerProcesses,
  });
  await writeFile(join(dir, 'nginx.conf'), main);
  const nginx = spawn(
    findNginx(),
    [
      '-e',
      'stderr',
      '-p',
      dir + '/',
      '-c',
      join(dir, 'nginx.conf'),
      '-g',
      'daemon off;',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  nginx.stderr!.on('data', (chunk) => (log += chunk));
  const stop = async () => {
    // SIGTERM, not SIGKILL: the master must stop its workers, which hold the stderr pipe open.
    if (nginx.exitCode === null)
      await new Promise((resolve) =>
        nginx.once('exit', resolve).kill('SIGTERM'),
      );
    await rm(dir, { recursive: true, force: true });
  };
  const url = `http://${host}:${port}`;
  for (
    let attempt = 0;
    !(await healthCheck(url).catch(() => false));
    attempt++
  ) {
    if (attempt > 100 || nginx.exitCode !== null) {
      await stop();
      throw new Error(`nginx did not start: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, dir, stop };
}

describe('cookie strategy on real nginx', () => {
  let nginx: RunningNginx;
  let url: string;
  let dir: string;
  let backends: Backend[];
  const client = randomLoopback();

  beforeAll(async () => {
    backends = await Promise.all(['alpha', 'beta'].map(startBackend));
    const trust = [`${randomLoopback()}/32`];
    nginx = await startNginx(
      (listen) =>
        renderEdgeConfig({
          lb: 'alb',
          sticky: 'cookie',
          listen,
          trust,
          backends: backends.map((b) => ({ address: b.address })),
        }),
      async (base) =>
        (await request(`${base}${HEALTH_PATH}`, client)).status === 200,
    );
    ({ url, dir } = nginx);
  });

  afterAll(async () => {
    await nginx?.stop();
    await Promise.all(
      (backends ?? []).filter((b) => b.server.listening).map(stopBackend),
    );
  });

  const idOf = (backend: Backend) =>
    routeId({ address: backend.address }, backend.address);
  const byName = (name: string | undefined) =>
    backends.find((b) => b.name === name)!;

  test('reuses upstream connections (keepalive) instead of opening one per request', async () => {
    const [backend] = backends;
    const before = backend.connections;
    for (let i = 0; i < 10; i++)
      await request(url, client, {
        cookie: `${ROUTE_COOKIE}=${idOf(backend)}`,
      });
    expect(backend.connections - before).toBeLessThan(3);
    expect(await accessLog(dir)).toContainEqual(
      expect.objectContaining({ upstream: backend.address }),
    );
  });

  test('issues a cookie naming the answering backend, sticks to it, and fails over with a re-issued cookie', async () => {
    const first = await request(url, client);
    expect(first.status).toBe(200);
    const pinned = byName(first.backend);
    const other = backends.find((b) => b !== pinned)!;
    expect(routeValue(first)).toBe(idOf(pinned));
    expect(routeCookie(first)).toBe(
      `${ROUTE_COOKIE}=${idOf(pinned)}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax`,
    );
    // The backend's own cookie still reaches the client next to nginx's.
    expect(first.setCookies).toContain('app_session=1; Path=/');
    // Without the cookie, requests are balanced over both backends.
    const unpinned = await Promise.all(
      [1, 2, 3, 4].map(() => request(url, client)),
    );
    expect(new Set(unpinned.map((r) => r.backend))).toEqual(
      new Set(['alpha', 'beta']),
    );

    const cookie = `${ROUTE_COOKIE}=${idOf(pinned)}`;
    const followers = [];
    for (let i = 0; i < 6; i++)
      followers.push(await request(url, client, { cookie }));
    expect(followers.map((r) => r.backend)).toEqual(Array(6).fill(pinned.name));
    // Every answer refreshes the cookie, so its Max-Age counts from the last request, not the first.
    expect(followers.map(routeValue)).toEqual(Array(6).fill(idOf(pinned)));

    // The backend sees the client's address, not a header the client made up.
    await request(url, client, { cookie, 'x-forwarded-for': '6.6.6.6' });
    expect(pinned.lastHeaders).toMatchObject({
      'x-forwarded-for': client,
      'x-real-ip': client,
      'x-forwarded-proto': 'http',
    });

    // A forged route id is treated like no cookie: balanced, and a genuine cookie is issued.
    const forged = await request(url, client, {
      cookie: `${ROUTE_COOKIE}=ffffffffffff`,
    });
    expect(routeValue(forged)).toBe(idOf(byName(forged.backend)));

    const upgraded = await request(url, client, {
      cookie,
      connection: 'Upgrade',
      upgrade: 'websocket',
    });
    expect(upgraded).toMatchObject({ status: 101, backend: pinned.name });
    expect(pinned.lastHeaders).toMatchObject({
      connection: 'upgrade',
      upgrade: 'websocket',
    });

    // Only WebSocket is upgraded: an h2c upgrade reaches the backend as a plain request, with neither header.
    const h2c = await request(url, client, {
      cookie,
      connection: 'Upgrade, HTTP2-Settings',
      upgrade: 'h2c',
      'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA',
    });
    expect(h2c).toMatchObject({ status: 200, backend: pinned.name });
    expect(pinned.lastHeaders).toMatchObject({ 'x-real-ip': client });
    expect(pinned.lastHeaders).not.toHaveProperty('upgrade');
    expect(pinned.lastHeaders).not.toHaveProperty('connection');

    await stopBackend(pinned);
    const failover = await request(url, client, { cookie });
    expect(failover).toMatchObject({ status: 200, backend: other.name });
    expect(routeValue(failover)).toBe(idOf(other));
    // nginx tried the dead backend first: $upstream_addr was a list and the cookie named its last entry.
    expect(await accessLog(dir)).toContainEqual(
      expect.objectContaining({
        upstream: `${pinned.address}, ${other.address}`,
        backend: other.address,
      }),
    );
    const after = await request(url, client, {
      cookie: `${ROUTE_COOKIE}=${idOf(other)}`,
    });
    expect(after.backend).toBe(other.name);
    expect(routeValue(after)).toBe(idOf(other));

    // With every backend down nobody answered: a 502 and no cookie naming a dead backend.
    await stopBackend(other);
    const down = await request(url, client);
    expect(down.status).toBe(502);
    expect(routeCookie(down)).toBeUndefined();
  });
});

/** A PROXY protocol v2 header (what an NLB sends) announcing a TCP/IPv4 client. */
function proxyV2Header(source: string, destination: string): Buffer {
  const address = (ip: string) => Buffer.from(ip.split('.').map(Number));
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(50000, 0);
  ports.writeUInt16BE(80, 2);
  const body = Buffer.concat([address(source), address(destination), ports]);
  const signature = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
  return Buffer.concat([
    signature,
    Buffer.from([0x21, 0x11, 0, body.length]),
    body,
  ]);
}

/** One GET on a fresh connection from `localAddress`, preceded by `preamble` (a PROXY header); the raw response. */
function rawRequest(
  url: string,
  localAddress: string,
  preamble: Buffer,
  headers: string[] = [],
): Promise<string> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(
      { host: hostname, port: Number(port), localAddress },
      () => {
        const request = [
          `GET ${pathname} HTTP/1.1`,
          `Host: ${hostname}`,
          'Connection: close',
          ...headers,
          '',
          '',
        ].join('\r\n');
        // write, not end: nginx treats a half-closed client as gone and drops a proxied request (499).
        socket.write(Buffer.concat([preamble, Buffer.from(request)]));
      },
    );
    let response = '';
    socket.on('data', (chunk) => (response += chunk));
    socket.on('close', () => resolve(response));
    socket.on('error', reject);
  });
}

describe('real client address on real nginx', () => {
  const loadBalancer = randomLoopback();
  const stranger = randomLoopback();
  let backend: Backend;
  let nlb: RunningNginx;
  let alb: RunningNginx;

  beforeAll(async () => {
    backend = await startBackend('solo');
    const options = (lb: 'nlb' | 'alb', listen: string) =>
      renderEdgeConfig({
        lb,
        sticky: 'ip_hash',
        listen,
        trust: [`${loadBalancer}/32`],
        backends: [{ address: backend.address }],
      });
    [nlb, alb] = await Promise.all([
      startNginx(
        (listen) => options('nlb', listen),
        async (base) =>
          /^HTTP\/1.1 200/.test(
            await rawRequest(
              `${base}${HEALTH_PATH}`,
              loadBalancer,
              proxyV2Header('10.0.0.9', '10.0.0.1'),
            ),
          ),
      ),
      startNginx(
        (listen) => options('alb', listen),
        async (base) =>
          (await request(`${base}${HEALTH_PATH}`, loadBalancer)).status === 200,
      ),
    ]);
  });

  afterAll(async () => {
    await Promise.all([nlb?.stop(), alb?.stop()]);
    if (backend) await stopBackend(backend);
  });

  test('nlb: believes the PROXY v2 header from the load balancer and passes only that address on', async () => {
    const response = await rawRequest(
      `${nlb.url}/whoami`,
      loadBalancer,
      proxyV2Header('203.0.113.7', '10.0.0.1'),
      ['X-Forwarded-For: 6.6.6.6', 'Forwarded: for=6.6.6.6'],
    );
    expect(response).toMatch(/^HTTP\/1.1 200/);
    expect(backend.lastHeaders).toMatchObject({
      'x-forwarded-for': '203.0.113.7',
      'x-real-ip': '203.0.113.7',
    });
    expect(backend.lastHeaders).not.toHaveProperty('forwarded');
  });

  test('nlb: ignores a PROXY header from anyone but the load balancer', async () => {
    expect(
      await rawRequest(
        `${nlb.url}/whoami`,
        stranger,
        proxyV2Header('203.0.113.7', '10.0.0.1'),
      ),
    ).toMatch(/^HTTP\/1.1 200/);
    expect(backend.lastHeaders).toMatchObject({
      'x-forwarded-for': stranger,
      'x-real-ip': stranger,
    });
  });

  test('nlb: answers the health check that carries the PROXY header, and nothing without one', async () => {
    const health = await rawRequest(
      `${nlb.url}${HEALTH_PATH}`,
      loadBalancer,
      proxyV2Header('10.0.0.9', '10.0.0.1'),
    );
    expect(health).toMatch(/^HTTP\/1.1 200 [^]*\r\n\r\nok\n$/);
    expect(
      await rawRequest(
        `${nlb.url}${HEALTH_PATH}`,
        loadBalancer,
        Buffer.alloc(0),
      ),
    ).toBe('');
  });

  test('alb: takes the right-most X-Forwarded-For entry the load balancer added', async () => {
    await request(`${alb.url}/whoami`, loadBalancer, {
      'x-forwarded-for': '6.6.6.6, 198.51.100.9',
    });
    expect(backend.lastHeaders).toMatchObject({
      'x-forwarded-for': '198.51.100.9',
      'x-real-ip': '198.51.100.9',
    });
  });

  test('alb: ignores X-Forwarded-For from anyone but the load balancer', async () => {
    await request(`${alb.url}/whoami`, stranger, {
      'x-forwarded-for': '198.51.100.9',
    });
    expect(backend.lastHeaders).toMatchObject({
      'x-forwarded-for': stranger,
      'x-real-ip': stranger,
    });
  });
});

/** Listening TCP sockets on `host:port`, from /proc/net/tcp (little-endian hex address, state 0A). */
async function listeningSockets(host: string, port: number): Promise<number> {
  const address = host
    .split('.')
    .map((b) => Number(b).toString(16).padStart(2, '0'))
    .reverse()
    .join('');
  const local =
    `${address}:${port.toString(16).padStart(4, '0')}`.toUpperCase();
  const table = await readFile('/proc/net/tcp', 'utf8');
  return table
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(
      ([, localAddress, , state]) => localAddress === local && state === '0A',
    ).length;
}

describe('listeners on real nginx', () => {
  const loadBalancer = randomLoopback();
  const statusHost = randomLoopback();
  let nginx: RunningNginx;
  let statusPort: number;

  beforeAll(async () => {
    statusPort = await freePort(statusHost);
    const backend = await startBackend('solo');
    await stopBackend(backend);
    nginx = await startNginx(
      (listen) =>
        renderEdgeConfig({
          lb: 'nlb',
          sticky: 'ip_hash',
          listen,
          trust: [`${loadBalancer}/32`],
          backends: [{ address: backend.address }],
          statusListen: `${statusHost}:${statusPort}`,
        }),
      async (base) =>
        /^HTTP\/1.1 200/.test(
          await rawRequest(
            `${base}${HEALTH_PATH}`,
            loadBalancer,
            proxyV2Header('10.0.0.9', '10.0.0.1'),
          ),
        ),
      2,
    );
  });

  afterAll(async () => {
    await nginx?.stop();
  });

  test('gives each worker its own socket on the load-balancer listener (reuseport), and the status listener one', async () => {
    const { hostname, port } = new URL(nginx.url);
    expect(await listeningSockets(hostname, Number(port))).toBe(2);
    expect(await listeningSockets(statusHost, statusPort)).toBe(1);
  });
});

describe.each(STICKY_STRATEGIES)(
  'JSON access log on real nginx (%s): every field a metric filter reads',
  (sticky) => {
    let nginx: RunningNginx;
    let backends: Backend[];
    let host: string;
    const client = randomLoopback();
    const idOf = (backend: Backend) =>
      routeId({ address: backend.address }, backend.address);

    beforeAll(async () => {
      backends = await Promise.all(['alpha', 'beta'].map(startBackend));
      nginx = await startNginx(
        (listen) => {
          host = listen.split(':')[0];
          return renderEdgeConfig({
            lb: 'alb',
            sticky,
            listen,
            trust: [`${randomLoopback()}/32`],
            backends: backends.map((b) => ({ address: b.address })),
          });
        },
        async (base) =>
          (await request(`${base}${HEALTH_PATH}`, client)).status === 200,
      );
    });

    afterAll(async () => {
      await nginx?.stop();
      await Promise.all(
        (backends ?? []).filter((b) => b.server.listening).map(stopBackend),
      );
    });

    test('names the client, node, backend, routes and times; a moved session is re-pinned only under cookie', async () => {
      const first = await request(`${nginx.url}/a?x="q"`, client);
      const pinned = backends.find((b) => b.name === first.backend)!;
      const other = backends.find((b) => b !== pinned)!;
      const carried = `${ROUTE_COOKIE}=${idOf(pinned)}`;
      await stopBackend(pinned);
      const moved = await request(`${nginx.url}/b`, client, {
        cookie: carried,
      });
      expect(moved).toMatchObject({ status: 200, backend: other.name });
      await stopBackend(other);
      expect((await request(`${nginx.url}/c`, client)).status).toBe(502);

      const entries = (await accessLog(nginx.dir)).filter(
        (e) => e.uri !== HEALTH_PATH,
      );
      expect(entries).toHaveLength(3);
      for (const entry of entries) {
        expect(entry).toMatchObject({
          node: host,
          client,
          method: 'GET',
          route_set:
            entry.backend === '-' || sticky !== 'cookie'
              ? ''
              : expect.any(String),
        });
        expect(Date.parse(entry.time)).not.toBeNaN();
        expect(typeof entry.request_time).toBe('number');
        expect(typeof entry.status).toBe('number');
      }
      const [a, b, c] = entries;
      // escape=json keeps the line one JSON object whatever the request carried.
      expect(a).toMatchObject({
        uri: '/a?x=%22q%22',
        status: 200,
        backend: pinned.address,
        route: '',
        route_set: sticky === 'cookie' ? idOf(pinned) : '',
        repinned: 0,
      });
      expect(b).toMatchObject({
        uri: '/b',
        status: 200,
        upstream: `${pinned.address}, ${other.address}`,
        backend: other.address,
        route: idOf(pinned),
        route_set: sticky === 'cookie' ? idOf(other) : '',
        repinned: sticky === 'cookie' ? 1 : 0,
      });
      // Nobody answered: no backend, no route, not a re-pin.
      expect(c).toMatchObject({
        uri: '/c',
        status: 502,
        backend: '-',
        route_set: '',
        repinned: 0,
      });
    });
  },
);

describe.each(STICKY_STRATEGIES)(
  'large answers to a slow client on real nginx (%s)',
  (sticky) => {
    /** Larger than loopback's socket buffers on both sides, so a paused client does hold the backend. */
    const SIZE = 32 * 1024 * 1024;
    const CHUNK = Buffer.alloc(64 * 1024, 'x');
    let nginx: RunningNginx;
    let server: http.Server;
    const client = randomLoopback();
    const events: string[] = [];
    let backendFinished: () => void = () => undefined;

    beforeAll(async () => {
      const host = randomLoopback();
      server = http.createServer((req, res) => {
        if (req.url === HEALTH_PATH) return void res.end('ok');
        res.setHeader('content-length', SIZE);
        let sent = 0;
        const write = () => {
          while (sent < SIZE) {
            sent += CHUNK.length;
            if (!res.write(CHUNK)) return void res.once('drain', write);
          }
          res.end();
        };
        res.on('finish', () => {
          events.push('backend finished');
          backendFinished();
        });
        write();
      });
      await new Promise<void>((resolve) => server.listen(0, host, resolve));
      const { port } = server.address() as net.AddressInfo;
      nginx = await startNginx(
        (listen) =>
          renderEdgeConfig({
            lb: 'alb',
            sticky,
            listen,
            trust: [`${randomLoopback()}/32`],
            backends: [{ address: `${host}:${port}` }],
          }),
        async (base) =>
          (await request(`${base}${HEALTH_PATH}`, client)).status === 200,
      );
    });

    afterAll(async () => {
      await nginx?.stop();
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
    });

    test('passes the answer through unbuffered (no temp file): the backend finishes only as the client reads', async () => {
      const received = await new Promise<number>((resolve, reject) => {
        http
          .get(
            `${nginx.url}/large`,
            { localAddress: client, agent: false },
            (res) => {
              res.pause();
              // A buffering nginx would read the whole answer into a temp file and let the backend finish
              // while the client waits; unbuffered, the backend cannot finish. Wait for either, 1.5 s at most.
              const finished = new Promise<void>(
                (done) => (backendFinished = done),
              );
              const waited = new Promise<void>((done) =>
                setTimeout(done, 1500).unref(),
              );
              void Promise.race([finished, waited]).then(() => {
                events.push('client starts reading');
                let bytes = 0;
                res.on('data', (chunk: Buffer) => (bytes += chunk.length));
                res.on('end', () => resolve(bytes));
                res.resume();
              });
            },
          )
          .on('error', reject);
      });
      expect(received).toBe(SIZE);
      expect(events).toEqual(['client starts reading', 'backend finished']);
    });
  },
);
