import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import { RunningBackend, startBackend } from '../../lib/backend/server';
import { cookieOf, randomLoopback, request } from './loopback';

const proxy = randomLoopback();
const stranger = randomLoopback();
const running: RunningBackend[] = [];

async function backend(
  name: string,
  trustedProxies: readonly string[] = [proxy],
  host = randomLoopback(),
): Promise<RunningBackend> {
  const started = await startBackend({ name, host, port: 0, trustedProxies });
  running.push(started);
  return started;
}

const json = (body: string) => JSON.parse(body);

afterAll(async () => {
  await Promise.all(running.map((b) => b.close()));
});

describe('the JSON answer', () => {
  test('reports the backend, the peer, the client, the headers and a new session', async () => {
    const a = await backend('app-a');
    const reply = await request(a.url, {
      path: '/any/path?x=1',
      from: stranger,
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.headers['cache-control']).toBe('no-store');
    const body = json(reply.body);
    expect(body).toEqual({
      backend: 'app-a',
      peer: stranger,
      clientIp: stranger,
      headers: {
        'x-real-ip': null,
        'x-forwarded-for': null,
        'x-forwarded-proto': null,
      },
      session: { id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), hits: 1 },
    });
    expect(reply.headers['set-cookie']).toEqual([
      `session=${body.session.id}; Path=/; HttpOnly; SameSite=Lax`,
    ]);
  });

  test('ignores forwarding headers from a peer it does not trust, but still shows them', async () => {
    const a = await backend('a');
    const spoofed = {
      'X-Real-IP': '198.51.100.9',
      'X-Forwarded-For': '198.51.100.9',
      'X-Forwarded-Proto': 'https',
    };
    const reply = await request(a.url, { from: stranger, headers: spoofed });
    const body = json(reply.body);
    expect(body.clientIp).toBe(stranger);
    expect(body.headers).toEqual({
      'x-real-ip': '198.51.100.9',
      'x-forwarded-for': '198.51.100.9',
      'x-forwarded-proto': 'https',
    });
    expect(reply.headers['set-cookie']?.[0]).not.toMatch(/Secure/);
  });

  test('believes X-Real-IP from a trusted proxy', async () => {
    const a = await backend('a');
    const reply = await request(a.url, {
      from: proxy,
      headers: { 'X-Real-IP': '203.0.113.7', 'X-Forwarded-For': '192.0.2.1' },
    });
    expect(json(reply.body)).toMatchObject({
      peer: proxy,
      clientIp: '203.0.113.7',
    });
  });

  test('takes the right-most X-Forwarded-For entry that is not a trusted proxy', async () => {
    const a = await backend('a', [proxy, '10.1.0.0/16']);
    const forged = '192.0.2.66, 203.0.113.7, 10.1.2.3';
    const reply = await request(a.url, {
      from: proxy,
      headers: { 'X-Forwarded-For': forged },
    });
    expect(json(reply.body)).toMatchObject({
      peer: proxy,
      clientIp: '203.0.113.7',
      headers: { 'x-forwarded-for': forged },
    });
  });

  test('marks the cookie Secure when a trusted proxy says the visitor came over HTTPS', async () => {
    const a = await backend('a');
    const reply = await request(a.url, {
      from: proxy,
      headers: { 'X-Forwarded-Proto': 'https' },
    });
    expect(reply.headers['set-cookie']?.[0]).toMatch(/; Secure$/);
  });

  test('reports an IPv4 peer of a dual-stack socket without the ::ffff: prefix', async () => {
    const host = randomLoopback();
    const a = await backend('a', [proxy], `::ffff:${host}`);
    const reply = await request(`http://${host}:${a.port}`, {
      from: proxy,
      headers: { 'X-Real-IP': '::ffff:203.0.113.7' },
    });
    expect(json(reply.body)).toMatchObject({
      peer: proxy,
      clientIp: '203.0.113.7',
    });
  });
});

describe('sessions', () => {
  test('count hits per session, POSTs included, and restart when the cookie is unknown here', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const first = await request(a.url, { from: stranger });
    const cookie = cookieOf(first);
    const second = await request(a.url, {
      from: stranger,
      headers: { Cookie: `theme=dark; ${cookie}` },
    });
    const posted = await request(a.url, {
      from: stranger,
      method: 'POST',
      body: 'x'.repeat(100_000),
      headers: { Cookie: cookie },
    });
    expect(second.headers['set-cookie']).toBeUndefined();
    expect(json(second.body).session).toEqual({
      id: json(first.body).session.id,
      hits: 2,
    });
    expect(json(posted.body).session.hits).toBe(3);

    const elsewhere = await request(b.url, {
      from: stranger,
      headers: { Cookie: cookie },
    });
    expect(json(elsewhere.body).session.hits).toBe(1);
    expect(cookieOf(elsewhere)).not.toBe(cookie);

    const forged = await request(a.url, {
      from: stranger,
      headers: { Cookie: 'session=not-one-of-ours' },
    });
    expect(json(forged.body).session.hits).toBe(1);
  });
});

describe('the page for browsers', () => {
  test('shows the same facts as HTML, escaping what the visitor sent', async () => {
    const a = await backend('app-a');
    const cookie = cookieOf(await request(a.url, { from: stranger }));
    const reply = await request(a.url, {
      from: stranger,
      headers: {
        Accept: 'text/html,application/xhtml+xml',
        Cookie: cookie,
        'X-Forwarded-For': '<script>alert("x")</script>',
      },
    });
    expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(reply.body).toContain('<h1 id="backend">app-a</h1>');
    expect(reply.body).toContain('hit 2 of this session');
    expect(reply.body).toContain(`<td>${stranger}</td>`);
    expect(reply.body).toContain(`<td>${cookie.split('=')[1]}</td>`);
    expect(reply.body).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;',
    );
    expect(reply.body).not.toContain('<script>');
  });
});

describe('the rest of the contract', () => {
  test('/healthz answers ok without a session', async () => {
    const a = await backend('a');
    const reply = await request(a.url, { path: '/healthz', from: stranger });
    expect(reply).toMatchObject({ status: 200, body: 'ok\n' });
    expect(reply.headers['set-cookie']).toBeUndefined();
  });

  test('keeps connections alive for nginx upstream keepalive', async () => {
    const a = await backend('a');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await request(a.url, {
      from: stranger,
      agent,
      method: 'POST',
      body: 'one',
    });
    const second = await request(a.url, { from: stranger, agent });
    agent.destroy();
    expect([first.reusedSocket, second.reusedSocket]).toEqual([false, true]);
    expect(first.headers['keep-alive']).toBe('timeout=65');
  });

  test('close() returns with an idle keep-alive connection open, and then refuses connections', async () => {
    const a = await startBackend({
      name: 'a',
      host: randomLoopback(),
      port: 0,
      trustedProxies: [],
    });
    const agent = new http.Agent({ keepAlive: true });
    await request(a.url, { agent });
    await a.close();
    agent.destroy();
    await expect(request(a.url)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  test('close() cuts off a client that never finishes its request', async () => {
    const a = await startBackend({
      name: 'a',
      host: randomLoopback(),
      port: 0,
      trustedProxies: [],
    });
    const hanging = net.connect(a.port, new URL(a.url).hostname);
    await once(hanging, 'connect');
    hanging.write(
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc',
    );
    await a.close();
    await once(hanging, 'close');
    expect(hanging.destroyed).toBe(true);
  }, 15_000);

  test.each([
    [
      'a trusted proxy is not an address',
      { trustedProxies: ['nginx.local'] },
      /^trusted proxy must be an IP or CIDR, got "nginx.local"$/,
    ],
    [
      'a trusted prefix is too long',
      { trustedProxies: ['10.0.0.0/33'] },
      /prefix 1-32\), got "10.0.0.0\/33"$/,
    ],
    [
      'every address is trusted',
      { trustedProxies: ['0.0.0.0/0'] },
      /narrower than \/0 .*got "0.0.0.0\/0"$/,
    ],
    [
      'every IPv6 address is trusted',
      { trustedProxies: ['::/0'] },
      /got "::\/0"$/,
    ],
    ['the name has a space', { name: 'app a' }, /^name must be .*got "app a"$/],
  ])('fails when %s', async (_why, override, message) => {
    await expect(
      startBackend({
        name: 'a',
        host: randomLoopback(),
        port: 0,
        trustedProxies: [],
        ...override,
      }),
    ).rejects.toThrow(message);
  });
});
