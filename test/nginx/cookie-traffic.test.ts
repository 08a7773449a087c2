import { ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNginx } from '../../lib/nginx/nginx-binary';
import { renderEdgeConfig, renderMainConfig, ROUTE_COOKIE } from '../../lib/nginx/render';
import { routeId } from '../../lib/nginx/validate';

/**
 * One real-traffic proof of the `cookie` strategy on stock nginx: two node:http backends behind one nginx
 * rendered for lb=alb, a client on its own loopback address. The full behaviour matrix lives with the
 * local topology.
 */

const randomLoopback = () => `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;

async function freePort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
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
    socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Backend: ${name}\r\n\r\n`);
  });
  const backend: Backend = { name, address: '', server, connections: 0 };
  server.on('connection', () => backend.connections++);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return Object.assign(backend, { address: `${host}:${(server.address() as net.AddressInfo).port}` });
}

interface Reply {
  readonly status: number;
  readonly backend?: string;
  readonly setCookies: string[];
}

function request(url: string, clientAddress: string, headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { localAddress: clientAddress, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        const backend = res.headers['content-type'] === undefined && body.startsWith('{') ? JSON.parse(body).backend : undefined;
        resolve({ status: res.statusCode ?? 0, backend, setCookies: res.headers['set-cookie'] ?? [] });
      });
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, backend: res.headers['x-backend'] as string, setCookies: res.headers['set-cookie'] ?? [] });
    });
    req.on('error', reject);
  });
}

const routeCookie = (reply: Reply) => reply.setCookies.find((c) => c.startsWith(`${ROUTE_COOKIE}=`));
const routeValue = (reply: Reply) => routeCookie(reply)?.split(';')[0].split('=')[1];

describe('cookie strategy on real nginx', () => {
  let dir: string;
  let nginx: ChildProcess;
  let nginxLog = '';
  let url: string;
  let backends: Backend[];
  const client = randomLoopback();

  beforeAll(async () => {
    backends = await Promise.all(['alpha', 'beta'].map(startBackend));
    dir = await mkdtemp(join(tmpdir(), 'sticky-edge-cookie-'));
    await chmod(dir, 0o755);
    const host = randomLoopback();
    const listen = `${host}:${await freePort(host)}`;
    url = `http://${listen}`;
    const http = renderEdgeConfig({ lb: 'alb', sticky: 'cookie', listen, trust: [`${randomLoopback()}/32`], backends: backends.map((b) => ({ address: b.address })) });
    await writeFile(join(dir, 'nginx.conf'), renderMainConfig({ http, pidFile: 'nginx.pid', errorLog: 'stderr', accessLog: 'access.log', tempDir: '.', workerProcesses: 1 }));
    nginx = spawn(findNginx(), ['-e', 'stderr', '-p', dir + '/', '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    nginx.stderr!.on('data', (chunk) => (nginxLog += chunk));
    for (let i = 0; ; i++) {
      const ok = await request(`${url}/healthz`, client).then((r) => r.status === 200, () => false);
      if (ok) break;
      if (i > 100 || nginx.exitCode !== null) throw new Error(`nginx did not start: ${nginxLog}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  afterAll(async () => {
    // SIGTERM, not SIGKILL: the master must stop its workers, which hold the stderr pipe open.
    if (nginx && nginx.exitCode === null) await new Promise((resolve) => nginx.once('exit', resolve).kill('SIGTERM'));
    for (const b of backends ?? []) b.server.closeAllConnections(), b.server.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const idOf = (backend: Backend) => routeId({ address: backend.address }, backend.address);
  const byName = (name: string | undefined) => backends.find((b) => b.name === name)!;

  test('issues a cookie naming the answering backend, sticks to it, and fails over with a re-issued cookie', async () => {
    const first = await request(url, client);
    expect(first.status).toBe(200);
    const pinned = byName(first.backend);
    const other = backends.find((b) => b !== pinned)!;
    expect(routeValue(first)).toBe(idOf(pinned));
    expect(routeCookie(first)).toBe(`${ROUTE_COOKIE}=${idOf(pinned)}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax`);
    // The backend's own cookie still reaches the client next to nginx's.
    expect(first.setCookies).toContain('app_session=1; Path=/');
    // Without the cookie, requests are balanced over both backends.
    const unpinned = await Promise.all([1, 2, 3, 4].map(() => request(url, client)));
    expect(new Set(unpinned.map((r) => r.backend))).toEqual(new Set(['alpha', 'beta']));

    const cookie = `${ROUTE_COOKIE}=${idOf(pinned)}`;
    const followers = [];
    for (let i = 0; i < 6; i++) followers.push(await request(url, client, { cookie }));
    expect(followers.map((r) => r.backend)).toEqual(Array(6).fill(pinned.name));
    expect(followers.map(routeCookie)).toEqual(Array(6).fill(undefined));

    // The backend sees the client's address, not a header the client made up.
    await request(url, client, { cookie, 'x-forwarded-for': '6.6.6.6' });
    expect(pinned.lastHeaders).toMatchObject({ 'x-forwarded-for': client, 'x-real-ip': client, 'x-forwarded-proto': 'http' });

    // A forged route id is treated like no cookie: balanced, and a genuine cookie is issued.
    const forged = await request(url, client, { cookie: `${ROUTE_COOKIE}=ffffffffffff` });
    expect(routeValue(forged)).toBe(idOf(byName(forged.backend)));

    const upgraded = await request(url, client, { cookie, connection: 'Upgrade', upgrade: 'websocket' });
    expect(upgraded).toMatchObject({ status: 101, backend: pinned.name });
    expect(pinned.lastHeaders).toMatchObject({ connection: 'upgrade', upgrade: 'websocket' });

    pinned.server.closeAllConnections();
    await new Promise((resolve) => pinned.server.close(resolve));
    const failover = await request(url, client, { cookie });
    expect(failover).toMatchObject({ status: 200, backend: other.name });
    expect(routeValue(failover)).toBe(idOf(other));
    // nginx tried the dead backend first: $upstream_addr was a list and the cookie named its last entry.
    expect(await readFile(join(dir, 'access.log'), 'utf8')).toContain(`upstream=${pinned.address}, ${other.address} `);
    const after = await request(url, client, { cookie: `${ROUTE_COOKIE}=${idOf(other)}` });
    expect(after.backend).toBe(other.name);
    expect(routeCookie(after)).toBeUndefined();
  });

  test('reuses upstream connections (keepalive) instead of opening one per request', async () => {
    const survivor = backends.find((b) => b.server.listening)!;
    const before = survivor.connections;
    for (let i = 0; i < 10; i++) await request(url, client, { cookie: `${ROUTE_COOKIE}=${idOf(survivor)}` });
    expect(survivor.connections - before).toBeLessThan(3);
    expect(await readFile(join(dir, 'access.log'), 'utf8')).toContain(`upstream=${survivor.address}`);
  });
});
