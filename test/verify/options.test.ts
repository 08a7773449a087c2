/** verifyEndpoint refuses bad options up front with one line naming the value, and every run ends by itself. */
import { AddressInfo, createServer, Socket } from 'node:net';
import { UserError } from '../../lib/errors';
import { verifyEndpoint, VerifyOptions } from '../../lib/verify';

const URL_THAT_IS_NEVER_CALLED = 'http://127.0.0.1:9/';

test.each<[Partial<VerifyOptions>, string]>([
  [
    { url: 'file:///etc/passwd' },
    'url must be an http:// or https:// URL, got "file:///etc/passwd"',
  ],
  [
    { sticky: 'sticky' as never },
    'sticky must be ip_hash, hash, cookie or auto, got "sticky"',
  ],
  [{ sessions: 501 }, 'sessions must be a whole number from 1 to 500, got 501'],
  [
    { requestsPerSession: 1 },
    'requestsPerSession must be a whole number from 2 to 50, got 1',
  ],
  [
    { sourceAddresses: ['127.0.0.300'] },
    'source address must be an IP address, got "127.0.0.300"',
  ],
  [
    { expectedClientIps: ['nat-gateway'] },
    'expected client address must be an IP address, got "nat-gateway"',
  ],
  [
    { backendUrls: ['10.0.0.1:3000'] },
    'backend URL must be an http:// or https:// URL, got "10.0.0.1:3000"',
  ],
  [
    { requestTimeoutMs: 0 },
    'requestTimeoutMs must be a whole number from 100 to 60000, got 0',
  ],
  [
    { deadlineMs: 10 },
    'deadlineMs must be a whole number from 1000 to 600000, got 10',
  ],
  [
    { concurrency: 0 },
    'concurrency must be a whole number from 1 to 64, got 0',
  ],
  [{ family: 5 as never }, 'family must be 4 or 6, got 5'],
])('fails when given %j', async (bad, message) => {
  const progress = jest.fn();
  await expect(
    verifyEndpoint({
      url: URL_THAT_IS_NEVER_CALLED,
      onProgress: progress,
      ...bad,
    }),
  ).rejects.toEqual(new UserError(message));
  expect(progress).not.toHaveBeenCalled();
});

describe('a run is bounded', () => {
  const host = `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;
  const held: Socket[] = [];
  // Accepts connections and never answers: the edge that hangs.
  const silent = createServer((socket) => held.push(socket));

  beforeAll(
    () => new Promise<void>((resolve) => silent.listen(0, host, resolve)),
  );
  afterAll(() => {
    held.forEach((s) => s.destroy());
    return new Promise((resolve) => silent.close(resolve));
  });

  test('an endpoint that never answers: each request times out, the deadline skips the rest, and the run ends', async () => {
    const { port } = silent.address() as AddressInfo;
    const report = await verifyEndpoint({
      url: `http://${host}:${port}/`,
      sessions: 4,
      requestsPerSession: 2,
      requestTimeoutMs: 200,
      deadlineMs: 1_000,
      concurrency: 2,
    });
    const reachable = report.checks.find((c) => c.id === 'reachable');
    expect(reachable?.status).toBe('fail');
    expect(reachable?.evidence).toContain('no answer within 200 ms');
    expect(
      reachable?.evidence.some((line) =>
        /^\d+ requests not sent: the run reached its deadline$/.test(line),
      ),
    ).toBe(true);
    expect(report.ok).toBe(false);
  });
});
