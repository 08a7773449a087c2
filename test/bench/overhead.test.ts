import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ceilingHttp,
  CPU_RATIOS,
  cpuPerRequestUs,
  LOAD_GENERATOR_SOURCE,
  pinnedHeaders,
  PAIRED_PATHS,
  PAIRED_RATIOS,
  pairRounds,
  roundOrder,
  summarisePath,
  wrkPlacement,
  writesAccessLog,
} from '../../lib/bench/overhead';
import {
  nodeConfigFor,
  withoutStickiness,
} from '../../lib/bench/topology-pool';
import { testNginxConfig } from '../../lib/nginx/nginx-binary';
import { renderEdgeConfig, renderMainConfig } from '../../lib/nginx/render';

describe('wrkPlacement', () => {
  test('2 cores: wrk on core 1, the proxies left on both cores, and the report says why', () => {
    const two = wrkPlacement(2);
    expect(two.wrkCpu).toBe(1);
    expect(two.othersCpus).toBeUndefined();
    expect(two.pinning).toContain('`taskset -c 1`');
    expect(two.pinning).toContain('one worker per core');
  });

  test('4 cores: wrk on core 3, everything else on cores 0-2', () => {
    expect(wrkPlacement(4)).toMatchObject({ wrkCpu: 3, othersCpus: '0-2' });
  });

  test('1 core: nothing to pin', () => {
    expect(wrkPlacement(1)).toMatchObject({
      wrkCpu: undefined,
      othersCpus: undefined,
    });
  });
});

test('summarisePath: medians and spread over the rounds, requests and failures summed', () => {
  const round = (rps: number, p99: number, failed: number) => ({
    path: 'direct' as const,
    requestsPerSecond: rps,
    p50Ms: rps / 10000,
    p99Ms: p99,
    requests: rps * 2,
    failed,
  });
  expect(
    summarisePath('direct', [
      round(9000, 4, 0),
      round(12000, 2, 1),
      round(10000, 3, 2),
    ]),
  ).toEqual({
    path: 'direct',
    requestsPerSecond: { median: 10000, min: 9000, max: 12000 },
    p50Ms: { median: 1, min: 0.9, max: 1.2 },
    p99Ms: { median: 3, min: 2, max: 4 },
    requests: 62000,
    failed: 3,
  });
});

describe('CPU per request', () => {
  const round = (proxyCpuUs?: number, backendCpuUs?: number) => ({
    path: 'nginx-cookie' as const,
    requestsPerSecond: 1000,
    p50Ms: 1,
    p99Ms: 2,
    requests: 1000,
    failed: 0,
    ...(proxyCpuUs === undefined ? {} : { proxyCpuUs }),
    ...(backendCpuUs === undefined ? {} : { backendCpuUs }),
  });

  test('summarisePath gives the median and spread of the proxy and backend CPU per request', () => {
    expect(
      summarisePath('nginx-cookie', [
        round(36, 60),
        round(40, 58),
        round(35, 61),
      ]),
    ).toMatchObject({
      proxyCpuUs: { median: 36, min: 35, max: 40 },
      backendCpuUs: { median: 60, min: 58, max: 61 },
    });
  });

  test('summarisePath leaves a figure out when the rounds do not have it (nothing in the way of direct)', () => {
    const row = summarisePath('direct', [
      round(undefined, 60),
      round(undefined, 62),
    ]);
    expect(row).not.toHaveProperty('proxyCpuUs');
    expect(row.backendCpuUs).toEqual({ median: 61, min: 60, max: 62 });
  });

  test('cpuPerRequestUs: the ns spent between the samples over the requests, in µs; NaN for no request', () => {
    const before = new Map([
      [10, 5_000_000],
      [11, 1_000_000],
    ]);
    const after = new Map([
      [10, 30_000_000],
      [11, 12_000_000],
    ]);
    expect(cpuPerRequestUs(before, after, 1000)).toBe(36);
    expect(cpuPerRequestUs(before, after, 0)).toBeNaN();
  });

  test('pairs nginx with the peer on CPU per request, round by round, for the strategies the peer target names', () => {
    expect(CPU_RATIOS).toEqual([
      ['nginx-cookie', 'haproxy-peer'],
      ['nginx-ip_hash', 'haproxy-peer'],
    ]);
    const peer = [40, 38, 41].map((us) => ({
      ...round(us),
      path: 'haproxy-peer' as const,
    }));
    const nginx = [36, 38, 20.5].map((us) => round(us));
    const pair = pairRounds(
      'nginx-cookie',
      'haproxy-peer',
      nginx,
      peer,
      (r) => r.proxyCpuUs,
    );
    expect(pair.perRound).toEqual([0.9, 1, 0.5]);
    expect(pair.median).toBe(0.9);
  });
});

test('writesAccessLog tells a logging nginx.conf from one with the log off', () => {
  expect(
    writesAccessLog('http {\n    access_log /x/access.log sticky_edge;\n}'),
  ).toBe(true);
  expect(writesAccessLog('http {\n    access_log off;\n}')).toBe(false);
  expect(writesAccessLog('http {\n}')).toBe(false);
});

describe('withoutStickiness', () => {
  const options = {
    lb: 'alb' as const,
    listen: '127.0.0.1:8080',
    trust: ['127.0.0.0/16'],
    backends: [{ address: '127.0.0.2:3000' }, { address: '127.0.0.3:3000' }],
  };
  const ipHash = renderEdgeConfig({ ...options, sticky: 'ip_hash' });

  test('is the ip_hash config without its balancing line, nothing else changed', () => {
    const plain = withoutStickiness(ipHash);
    expect(plain).not.toMatch(/^\s*hash \$sticky_edge_client_key;/m);
    expect(ipHash).toMatch(/^\s*hash \$sticky_edge_client_key;/m);
    expect(
      ipHash
        .split('\n')
        .filter((l) => l.trim() !== 'hash $sticky_edge_client_key;'),
    ).toEqual(plain.split('\n'));
  });

  test('nginx loads the ceiling config (nginx -t)', async () => {
    const result = await testNginxConfig(
      renderMainConfig({
        http: ceilingHttp('127.0.0.1', 8080),
        pidFile: 'nginx.pid',
        errorLog: 'stderr',
        accessLog: 'access.log',
        tempDir: '.',
      }),
    );
    expect(result.output).toContain('test is successful');
    expect(result.ok).toBe(true);
  });

  test('nginx loads the round-robin config (nginx -t)', async () => {
    const result = await testNginxConfig(
      renderMainConfig({
        http: withoutStickiness(ipHash),
        pidFile: 'nginx.pid',
        errorLog: 'stderr',
        accessLog: 'access.log',
        tempDir: '.',
      }),
    );
    expect(result.output).toContain('test is successful');
    expect(result.ok).toBe(true);
  });

  test('fails when the config has no ip_hash line (another strategy)', () => {
    expect(() =>
      withoutStickiness(renderEdgeConfig({ ...options, sticky: 'cookie' })),
    ).toThrow(
      'expected one "hash $sticky_edge_client_key;" line in the rendered config, found 0',
    );
  });
});

describe('nodeConfigFor: the pooled topologies of the overhead figure', () => {
  const options = {
    lb: 'alb' as const,
    sticky: 'hash' as const,
    listen: '127.0.0.1:8080',
    trust: ['127.0.0.0/16'],
    backends: [{ address: '127.0.0.2:3000', id: 'app-a' }],
  };
  const shared = [
    { address: '127.0.0.7:3000', id: 'app-a' },
    { address: '127.0.0.8:3000', id: 'app-b' },
  ];
  const rendered = renderEdgeConfig(options);

  test("routes to the shared backends, not the topology's own one", () => {
    const http = nodeConfigFor(
      { lb: 'alb', sticky: 'hash', backends: shared },
      new Set(),
      rendered,
      options,
    );
    expect(http).toContain('127.0.0.7:3000');
    expect(http).toContain('127.0.0.8:3000');
    expect(http).not.toContain('127.0.0.2:3000');
  });

  test('the seed and the round-robin baseline also take the shared backends', () => {
    const seed = nodeConfigFor(
      { lb: 'alb', sticky: 'ip_hash', naive: true, backends: shared },
      new Set(),
      'unused',
      options,
    );
    expect(seed).toContain('127.0.0.8:3000');
    const plain = nodeConfigFor(
      { lb: 'alb', sticky: 'ip_hash', roundRobin: true, backends: shared },
      new Set(),
      renderEdgeConfig({ ...options, sticky: 'ip_hash' }),
      { ...options, sticky: 'ip_hash' },
    );
    expect(plain).toContain('127.0.0.8:3000');
    expect(plain).not.toMatch(/^\s*hash \$sticky_edge_client_key;/m);
  });

  test("also believes the load generator's address, beside the stand-in's", () => {
    const http = nodeConfigFor(
      { lb: 'alb', sticky: 'hash', backends: shared, trust: ['127.0.0.1/32'] },
      new Set(),
      rendered,
      options,
    );
    expect(http).toContain('set_real_ip_from 127.0.0.0/16;');
    expect(http).toContain('set_real_ip_from 127.0.0.1/32;');
  });

  test('without shared backends or removals, the rendered config is kept as it is', () => {
    expect(
      nodeConfigFor(
        { lb: 'alb', sticky: 'hash' },
        new Set(),
        rendered,
        options,
      ),
    ).toBe(rendered);
  });
});

describe('paired rounds', () => {
  test('roundOrder: odd rounds as given, even rounds reversed, the input untouched', () => {
    const paths = ['a', 'b', 'c'];
    expect(roundOrder(paths, 1)).toEqual(['a', 'b', 'c']);
    expect(roundOrder(paths, 2)).toEqual(['c', 'b', 'a']);
    expect(roundOrder(paths, 3)).toEqual(['a', 'b', 'c']);
    expect(paths).toEqual(['a', 'b', 'c']);
  });

  test('every strategy is paired with round-robin, cookie and ip_hash with the peer, all inside the paired paths', () => {
    expect(PAIRED_RATIOS).toEqual([
      ['nginx-ip_hash', 'nginx-round-robin'],
      ['nginx-hash', 'nginx-round-robin'],
      ['nginx-cookie', 'nginx-round-robin'],
      ['nginx-cookie', 'haproxy-peer'],
      ['nginx-ip_hash', 'haproxy-peer'],
    ]);
    for (const [path, base] of PAIRED_RATIOS) {
      expect(PAIRED_PATHS).toContain(path);
      expect(PAIRED_PATHS).toContain(base);
    }
    // The cookie node runs right between its two bases.
    const cookie = PAIRED_PATHS.indexOf('nginx-cookie');
    expect([PAIRED_PATHS[cookie - 1], PAIRED_PATHS[cookie + 1]]).toEqual([
      'haproxy-peer',
      'nginx-round-robin',
    ]);
  });

  test('pairRounds divides round by round and gives the median with its interval', () => {
    const rows = (path: 'nginx-cookie' | 'nginx-round-robin', rps: number[]) =>
      rps.map((requestsPerSecond) => ({
        path,
        requestsPerSecond,
        p50Ms: 1,
        p99Ms: 2,
        requests: requestsPerSecond,
        failed: 0,
      }));
    // A busy machine halves both paths in rounds 2 and 4; the ratio stays put.
    const cookie = rows('nginx-cookie', [9600, 4700, 9500, 4900, 9700]);
    const plain = rows('nginx-round-robin', [10000, 5000, 10000, 5000, 10000]);
    const pair = pairRounds('nginx-cookie', 'nginx-round-robin', cookie, plain);
    expect(pair.perRound).toEqual([0.96, 0.94, 0.95, 0.98, 0.97]);
    expect(pair).toMatchObject({
      path: 'nginx-cookie',
      base: 'nginx-round-robin',
      median: 0.96,
      low: 0.94,
      high: 0.98,
    });
    expect(pair.confidence).toBeCloseTo(0.9375, 12);
  });
});

describe('pinnedHeaders', () => {
  /** Answers as the demo backend does, from `a` or `b` by the X-Forwarded-For /24's parity, with a cookie. */
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const third = Number(
        String(req.headers['x-forwarded-for'] ?? '').split('.')[2],
      );
      const backend = third % 2 === 0 ? 'a' : 'b';
      res.setHeader('set-cookie', `route=${backend}; Path=/`);
      res.end(JSON.stringify({ backend }));
    });
    await new Promise<void>((resolve) =>
      server.listen(0, '127.0.0.1', resolve),
    );
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  test('finds a client address, each in its own /24, whose first visit the wanted backend answered, with its cookies', async () => {
    expect(await pinnedHeaders(url, 'a')).toEqual({
      accept: 'application/json',
      'x-forwarded-for': '198.18.2.10',
      cookie: 'route=a',
    });
    expect((await pinnedHeaders(url, 'b'))['x-forwarded-for']).toBe(
      '198.18.1.10',
    );
  });

  test('fails in one line naming the backends that did answer when the wanted one never does', async () => {
    await expect(pinnedHeaders(url, 'c')).rejects.toThrow(
      /^http:\/\/127\.0\.0\.1:\d+\/ never answered from c in 24 first visits \(answered from b, a\)$/,
    );
  });

  test("the load generator's source is where the kernel sends loopback traffic from, whatever the loopback destination", async () => {
    const seen = await new Promise<string | undefined>((resolve, reject) => {
      const probe = http.createServer((req, res) => {
        res.end();
        resolve(req.socket.remoteAddress);
      });
      probe.listen(0, '127.77.0.9', () => {
        const { port } = probe.address() as AddressInfo;
        http
          .get({ host: '127.77.0.9', port, agent: false }, (r) => r.resume())
          .on('error', reject)
          .on('close', () => probe.close());
      });
    });
    expect(`${seen}/32`).toBe(LOAD_GENERATOR_SOURCE);
  });
});
