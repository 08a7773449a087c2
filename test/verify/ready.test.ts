/** The post-deploy check waits for several answers in a row before it verifies, not for the first one. */
import { AddressInfo } from 'node:net';
import { createServer, Server } from 'node:http';
import { waitUntilAnswering } from '../../lib/verify';

const ANSWER = JSON.stringify({
  backend: 'app-a',
  peer: '127.0.0.1',
  clientIp: '127.0.0.1',
});

/** An endpoint that answers like the demo backend except where `fails(n)` says the n-th request fails. */
async function endpoint(fails: (n: number) => boolean): Promise<Server> {
  let n = 0;
  const server = createServer((_req, res) => {
    n += 1;
    if (fails(n)) res.writeHead(503).end('no healthy target');
    else res.writeHead(200, { 'content-type': 'application/json' }).end(ANSWER);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Waits for three answers in a row, with short pauses so the tests stay fast. */
const waitOn = (server: Server, withinMs: number) =>
  waitUntilAnswering(
    `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    { withinMs, intervalMs: 50, settleMs: 10, consecutive: 3 },
  );

const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

test('an endpoint that answers every time is ready after the answers in a row', async () => {
  const server = await endpoint(() => false);
  servers.push(server);
  await expect(waitOn(server, 5_000)).resolves.toBeUndefined();
});

test('an endpoint that fails every other request is never ready: the wait ends at its deadline', async () => {
  const server = await endpoint((n) => n % 2 === 0);
  servers.push(server);
  await expect(waitOn(server, 1_000)).rejects.toThrow(
    /did not answer with the demo backend within 1 s/,
  );
});

test('a late start is fine once the answers hold', async () => {
  const server = await endpoint((n) => n <= 3);
  servers.push(server);
  await expect(waitOn(server, 5_000)).resolves.toBeUndefined();
});
