/**
 * One visitor against a real HTTP server on loopback: the source address it binds, the cookies it keeps and
 * sends back (an error page's too), the forged headers it sends, and the observation it records.
 */
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerOf, claimedBy, Visitor } from '../../lib/verify/visitor';

let server: Server;
let url: string;
const seen: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req);
    if (req.url === '/fail') {
      res.writeHead(502, { 'set-cookie': 'route=b; Path=/' });
      res.end('bad gateway');
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      'set-cookie': ['route=a; Path=/', 'hits=1; Path=/; Secure'],
    });
    res.end(
      JSON.stringify({
        backend: 'app-a',
        peer: req.socket.remoteAddress,
        clientIp: req.socket.remoteAddress,
        headers: {
          'x-real-ip': req.headers['x-real-ip'] ?? null,
          'x-forwarded-for': req.headers['x-forwarded-for'] ?? null,
        },
        session: { id: 's1', hits: 1 },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

test('binds its source address, keeps the routing cookie a browser would keep and sends it back', async () => {
  const visitor = new Visitor('127.0.0.77');
  const first = await visitor.visit(`${url}/`, {
    timeoutMs: 2000,
    routeCookieName: 'route',
  });
  expect(first.source).toBe('127.0.0.77');
  expect(answerOf(first)).toMatchObject({
    backend: 'app-a',
    clientIp: '127.0.0.77',
  });
  expect(first.routeCookie).toBe('a');
  expect(seen.at(-1)?.headers.cookie).toBeUndefined();
  await visitor.visit(`${url}/`, { timeoutMs: 2000 });
  // The Secure cookie was refused over plain HTTP, as a browser refuses it.
  expect(seen.at(-1)?.headers.cookie).toBe('route=a');
  expect(visitor.cookie('route')).toBe('a');
  visitor.forgetCookies();
  expect(visitor.cookie('route')).toBeUndefined();
});

test("keeps an error page's cookies and records the failure", async () => {
  const visitor = new Visitor('127.0.0.78');
  const failed = await visitor.visit(`${url}/fail`, {
    timeoutMs: 2000,
    routeCookieName: 'route',
  });
  expect(failed.result).toMatchObject({ ok: false, status: 502 });
  expect(answerOf(failed)).toBeUndefined();
  expect(failed.routeCookie).toBe('b');
});

test('sends the forged headers and records them; claimedBy matches any claimed address', async () => {
  const visitor = new Visitor('127.0.0.79');
  const forged = {
    forwardedFor: '203.0.113.7, 192.0.2.1',
    realIp: '198.51.100.7',
  };
  const o = await visitor.visit(`${url}/`, { timeoutMs: 2000, forged });
  expect(seen.at(-1)?.headers).toMatchObject({
    'x-forwarded-for': '203.0.113.7, 192.0.2.1',
    'x-real-ip': '198.51.100.7',
  });
  expect(o.forged).toEqual(forged);
  expect(claimedBy(o.forged, '192.0.2.1')).toBe(true);
  expect(claimedBy(o.forged, '198.51.100.7')).toBe(true);
  expect(claimedBy(o.forged, '127.0.0.79')).toBe(false);
  expect(claimedBy(undefined, '198.51.100.7')).toBe(false);
});

test('family 6 resolves the name to its AAAA records only: a name with an A record alone is not reached', async () => {
  // `localhost` resolves to 127.0.0.1 here; asked for IPv6 only, the lookup finds nothing and nothing is sent
  // (where /etc/hosts also names ::1, the connection to ::1 is refused: the server listens on 127.0.0.1 only).
  const byName = url.replace('127.0.0.1', 'localhost');
  const visitor = new Visitor();
  const v4 = await visitor.visit(`${byName}/`, { timeoutMs: 2000, family: 4 });
  expect(v4.result.ok).toBe(true);
  const v6 = await visitor.visit(`${byName}/`, { timeoutMs: 2000, family: 6 });
  expect(v6.result).toMatchObject({
    ok: false,
    error: expect.stringMatching(/ENOTFOUND|EAI_|ECONNREFUSED/),
  });
});
