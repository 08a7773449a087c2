import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  countPath,
  findValgrind,
  instructionsPerRequest,
  measureInstructions,
  nginxPathConfig,
  nginxProcess,
  parseCallgrindOutput,
  sendRequests,
  VALGRIND_MISSING,
} from '../../lib/bench/instructions';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOAD_GENERATOR_SOURCE } from '../../lib/bench/overhead';
import { IP_HASH_BALANCING } from '../../lib/nginx/render';
import type { InstructionsRow } from '../../lib/bench/results';
import type { TopologyPool } from '../../lib/bench/topology-pool';
import {
  allocateBlock,
  freePorts,
  releaseBlock,
} from '../../lib/local/addresses';
import {
  startBackendProcess,
  writeBackendBundle,
  type BackendProcess,
} from '../../lib/local/backend-process';

/** The head and tail of a real callgrind file (valgrind 3.19, `--dump-line=no`), counts made up. */
const callgrindFile = (events: string, summary: string, totals?: string) =>
  [
    '# callgrind format',
    'version: 1',
    'creator: callgrind-3.19.0',
    'pid: 4242',
    'cmd:  nginx -p /tmp/x -c /tmp/x/nginx.conf',
    'part: 1',
    '',
    'desc: I1 cache: ',
    'desc: Timerange: Basic block 0 - 1234',
    'desc: Trigger: Program termination',
    '',
    'positions: instr',
    `events: ${events}`,
    `summary: ${summary}`,
    '',
    'ob=(1) /usr/sbin/nginx',
    'fl=(1) ???',
    'fn=(1) main',
    '0x12345 7',
    '',
    ...(totals === undefined ? [] : [`totals: ${totals}`]),
    '',
  ].join('\n');

describe('parseCallgrindOutput', () => {
  test('reads the Ir total from the totals line', () => {
    expect(
      parseCallgrindOutput(callgrindFile('Ir', '123456789', '123456789')),
    ).toBe(123456789);
  });

  test('falls back to the summary line in a file without totals', () => {
    expect(parseCallgrindOutput(callgrindFile('Ir', '987654321'))).toBe(
      987654321,
    );
  });

  test('takes the Ir column when more events are counted', () => {
    expect(
      parseCallgrindOutput(
        callgrindFile('Dr Ir Dw', '5 1000 7', '500 1200000 70'),
      ),
    ).toBe(1200000);
  });

  test('sums the parts of a file with several dumps', () => {
    const twoParts =
      callgrindFile('Ir', '100', '100') + 'part: 2\ntotals: 250\n';
    expect(parseCallgrindOutput(twoParts)).toBe(350);
  });

  test.each([
    [
      'fails when there is no events line',
      'summary: 12\n',
      'no "events:" line',
    ],
    [
      'fails when Ir is not counted',
      'events: Dr Dw\nsummary: 1 2\n',
      'counts no Ir (events: Dr Dw)',
    ],
    [
      'fails when there is no total',
      'events: Ir\n',
      'no "totals:" or "summary:" line',
    ],
    [
      'fails when the total is not a count',
      'events: Ir\ntotals: lots\n',
      `Ir total is not a count: "lots"`,
    ],
  ])('%s', (_, text, message) => {
    expect(() => parseCallgrindOutput(text)).toThrow(message);
  });
});

describe('instructionsPerRequest', () => {
  test('is the slope between the runs: what both runs spend once cancels', () => {
    // 50 M instructions of start-up and shut-down in both, 40,000 per request.
    const startUp = 50_000_000;
    const short = { requests: 1000, instructions: startUp + 1000 * 40_000 };
    const long = { requests: 3500, instructions: startUp + 3500 * 40_000 };
    expect(instructionsPerRequest(short, long)).toBe(40_000);
  });

  test('fails when the long run completed no more requests than the short one', () => {
    expect(() =>
      instructionsPerRequest(
        { requests: 900, instructions: 10 },
        { requests: 900, instructions: 20 },
      ),
    ).toThrow(
      "the long run completed 900 requests, not more than the short run's 900",
    );
  });

  test('fails when the long run executed no more instructions than the short one', () => {
    expect(() =>
      instructionsPerRequest(
        { requests: 900, instructions: 20 },
        { requests: 1900, instructions: 20 },
      ),
    ).toThrow(
      "the long run executed 20 instructions, not more than the short run's 20",
    );
  });
});

describe('nginxPathConfig', () => {
  const addresses = {
    listen: '127.9.0.1:8080',
    statusListen: '127.9.0.1:8081',
    // The node's own trust (the stand-in); every path believes the load generator beside it.
    trust: ['127.9.0.2/32'],
    backends: [
      { address: '127.9.0.3:9000', id: 'app-a' },
      { address: '127.9.0.4:9000', id: 'app-b' },
    ],
  };

  test('round-robin is the ip_hash config without ip_hash, to the first backend only', () => {
    const roundRobin = nginxPathConfig('nginx-round-robin', addresses);
    expect(roundRobin).not.toContain(IP_HASH_BALANCING);
    expect(roundRobin).toContain('127.9.0.3:9000');
    expect(roundRobin).not.toContain('127.9.0.4:9000');
    expect(nginxPathConfig('nginx-ip_hash', addresses)).toContain(
      IP_HASH_BALANCING,
    );
  });

  test('every nginx path listens where asked and believes the load generator', () => {
    for (const p of [
      'nginx-cookie',
      'nginx-ip_hash',
      'nginx-hash',
      'nginx-round-robin',
    ] as const) {
      const http = nginxPathConfig(p, addresses);
      expect(http).toContain('listen 127.9.0.1:8080');
      expect(http).toContain(`set_real_ip_from ${LOAD_GENERATOR_SOURCE};`);
    }
  });

  test('fails when the path is not an nginx one', () => {
    expect(() => nginxPathConfig('haproxy-peer', addresses)).toThrow(
      'haproxy-peer is not an nginx path',
    );
  });
});

describe('without valgrind', () => {
  const savedPath = process.env.PATH;
  // valgrind lives in /usr/bin; findExecutable also looks in the sbin folders, which do not hold it.
  beforeEach(() => (process.env.PATH = '/nonexistent'));
  afterEach(() => (process.env.PATH = savedPath));

  test('the figure is skipped with a one-line note, and starts nothing', async () => {
    expect(findValgrind()).toBeUndefined();
    const pool = {
      get: () => Promise.reject(new Error('no topology should start')),
    } as unknown as TopologyPool;
    const notes: string[] = [];
    const result = await measureInstructions(
      pool,
      { shortRequests: 400, longRequests: 2000, connections: 4 },
      (note) => notes.push(note),
      new AbortController().signal,
    );
    expect(result).toEqual({
      connections: 4,
      shortRequests: 400,
      longRequests: 2000,
      skipped: VALGRIND_MISSING,
      nginxLogs: false,
      rows: [],
    });
    expect(VALGRIND_MISSING).not.toContain('\n');
    expect(notes).toEqual([VALGRIND_MISSING]);
  });
});

// A real measurement: one demo backend, nginx under callgrind, a fixed number of requests. Needs valgrind (`npm run setup`).
const valgrind = findValgrind();
const skipReason = valgrind
  ? undefined
  : 'valgrind is not installed (npm run setup installs it)';
if (skipReason) console.warn(`callgrind measurement skipped: ${skipReason}`);
const maybe = skipReason ? describe.skip : describe;

maybe('one nginx config counted under callgrind', () => {
  jest.setTimeout(120_000);
  const block = allocateBlock();
  const host = block.address(0, 1);
  let dir: string;
  let backend: BackendProcess;
  const controller = new AbortController();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sticky-edge-instr-test-'));
    const backendHost = block.address(0, 2);
    const [backendPort] = await freePorts(backendHost, 1);
    backend = await startBackendProcess(
      await writeBackendBundle(dir),
      'app-a',
      backendHost,
      backendPort,
      '127.0.0.1',
    );
  });

  afterAll(async () => {
    controller.abort();
    await backend?.stop();
    releaseBlock(block);
    await rm(dir, { recursive: true, force: true });
  });

  const count = async (
    p: 'nginx-round-robin' | 'nginx-cookie',
  ): Promise<InstructionsRow> => {
    const [port, statusPort] = await freePorts(host, 2);
    const nginx = await nginxProcess(
      p,
      path.join(dir, p),
      { host, port },
      nginxPathConfig(p, {
        listen: `${host}:${port}`,
        statusListen: `${host}:${statusPort}`,
        // The stand-in's place; the path believes the load generator beside it.
        trust: [`${block.address(0, 2)}/32`],
        backends: [{ address: backend.address, id: backend.name }],
      }),
    );
    return countPath(
      valgrind as string,
      p,
      nginx,
      backend.name,
      { shortRequests: 200, longRequests: 1000, connections: 4 },
      dir,
      controller.signal,
    );
  };

  test('counts a positive number per request, and round-robin fewer than cookie', async () => {
    const roundRobin = await count('nginx-round-robin');
    const cookie = await count('nginx-cookie');
    for (const row of [roundRobin, cookie]) {
      expect([row.short.requests, row.long.requests]).toEqual([200, 1000]);
      expect(row.short.failed + row.long.failed).toBe(0);
      expect(row.perRequest).toBeGreaterThan(0);
    }
    // The cookie strategy's proxy_pass through a variable and its Set-Cookie header cost instructions
    // round-robin does not spend (36,900 against 41,400 in `npm run bench` on Debian 12's nginx 1.22).
    expect(roundRobin.perRequest).toBeLessThan(cookie.perRequest);
  });
});

describe('sendRequests', () => {
  let server: http.Server;
  let url: string;
  const seen: (string | undefined)[] = [];
  let sockets = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers['x-forwarded-for'] as string | undefined);
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.end('ok');
    });
    server.on('connection', () => sockets++);
    await new Promise<void>((resolve) =>
      server.listen(0, '127.0.0.1', resolve),
    );
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  test('sends exactly the count, with the headers, over at most the given keep-alive connections', async () => {
    seen.length = 0;
    sockets = 0;
    expect(
      await sendRequests(
        `${url}/`,
        { 'x-forwarded-for': '198.18.1.10' },
        250,
        4,
      ),
    ).toEqual({ requests: 250, failed: 0 });
    expect(seen).toHaveLength(250);
    expect(new Set(seen)).toEqual(new Set(['198.18.1.10']));
    expect(sockets).toBeLessThanOrEqual(4);
  });

  test('counts answers outside 2xx/3xx and refused connections as failed, and goes on', async () => {
    expect(await sendRequests(`${url}/missing`, {}, 10, 2)).toEqual({
      requests: 10,
      failed: 10,
    });
    const closed = http.createServer();
    await new Promise<void>((resolve) =>
      closed.listen(0, '127.0.0.1', resolve),
    );
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    expect(await sendRequests(`http://127.0.0.1:${port}/`, {}, 3, 2)).toEqual({
      requests: 3,
      failed: 3,
    });
  });
});
