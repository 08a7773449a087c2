import { renderReport } from '../../lib/bench/report';
import type { BenchResults } from '../../lib/bench/results';
import { checkTargets } from '../../lib/bench/targets';

const machine = {
  cpuModel: 'Test CPU 3000',
  cores: 2,
  memoryGiB: 4,
  os: 'Debian GNU/Linux 12',
  node: 'v20.0.0',
  nginx: '1.22.1',
  haproxy: '2.6.12',
  loadAverageAtStart: 3.5,
};

const load = (
  path: 'direct' | 'haproxy-peer' | 'nginx',
  rps: number,
  p99: number,
) => ({
  path,
  requestsPerSecond: rps,
  p50Ms: 1,
  p99Ms: p99,
  requests: rps * 5,
  failed: 0,
});

const results: BenchResults = {
  date: '2026-11-22T03:00:00Z',
  mode: 'quick',
  command: 'npm run bench',
  scenarios: ['overhead', 'balance', 'remap', 'failover', 'build'],
  machine,
  wallSeconds: 150,
  overhead: {
    connections: 16,
    durationSeconds: 5,
    rounds: 1,
    rows: [
      load('direct', 10000, 5),
      load('haproxy-peer', 8000, 8),
      load('nginx', 7000, 9),
    ],
  },
  balance: [
    {
      strategy: 'hash',
      mix: 'distinct-24',
      clients: 1000,
      backends: ['app-a', 'app-b'],
      counts: [505, 495],
      failed: 0,
    },
    {
      strategy: 'cookie',
      mix: 'carrier-nat',
      clients: 1000,
      backends: ['app-a', 'app-b'],
      counts: [700, 300],
      failed: 0,
    },
  ],
  remap: [
    {
      strategy: 'hash',
      from: 2,
      to: 3,
      clients: 1000,
      moved: 340,
      movedNeedlessly: 340,
      failed: 0,
    },
    {
      strategy: 'cookie',
      from: 2,
      to: 3,
      clients: 1000,
      moved: 3,
      movedNeedlessly: 0,
      failed: 0,
    },
    {
      strategy: 'cookie',
      from: 3,
      to: 2,
      clients: 1000,
      moved: 330,
      movedNeedlessly: 0,
      failed: 0,
    },
  ],
  failover: [
    {
      config: 'cookie',
      sessions: 30,
      sessionsOnDeadBackend: 15,
      requests: 2000,
      failed: 2,
      repinned: 15,
      repinP50Ms: 50,
      repinMaxMs: 80,
      observedMs: 4000,
    },
    {
      config: 'seed',
      sessions: 30,
      sessionsOnDeadBackend: 30,
      requests: 2000,
      failed: 9,
      repinned: 30,
      repinP50Ms: 50,
      repinMaxMs: 80,
      observedMs: 4000,
    },
  ],
  build: {
    synthSeconds: 9.5,
    unitTestSeconds: 20,
    unitTestCommand: 'npx jest --silent',
    lambdaBundleBytes: 42_000,
    problems: [],
  },
};

const verdictOf = (report: string, target: string) =>
  report
    .split('\n')
    .find((line) => line.startsWith(`| ${target} |`))
    ?.split('|')
    .slice(-2)[0]
    .trim();

describe('renderReport', () => {
  const report = renderReport(results);

  test('shows missed targets as missed and met ones as met', () => {
    expect(verdictOf(report, 'nginx hop throughput ≥ HAProxy peer')).toBe(
      '**missed**',
    );
    expect(verdictOf(report, 'nginx hop p99 ≤ HAProxy peer')).toBe(
      '**missed**',
    );
    expect(
      verdictOf(report, 'balance hash on distinct /24s within 10 % of ideal'),
    ).toBe('met');
    expect(
      verdictOf(report, 'balance cookie on carrier NAT within 10 % of ideal'),
    ).toBe('**missed**');
    expect(verdictOf(report, 'remap hash 2 → 3 ≤ 1.1× ideal')).toBe('met');
    expect(verdictOf(report, 'remap cookie 2 → 3: no session moves')).toBe(
      '**missed**',
    );
    expect(
      verdictOf(
        report,
        "remap cookie 3 → 2: only the removed backend's sessions move",
      ),
    ).toBe('met');
    expect(
      verdictOf(report, 'failover cookie: zero failed idempotent requests'),
    ).toBe('**missed**');
    expect(verdictOf(report, 'cdk synth of the whole app ≤ 8 s')).toBe(
      '**missed**',
    );
    expect(verdictOf(report, 'verification Lambda bundle ≤ 50 KB')).toBe('met');
    expect(report).toContain('4 of 10 targets met, 6 missed.');
  });

  test('the seed is compared, not held to the targets', () => {
    expect(checkTargets(results).some((c) => c.target.includes('seed'))).toBe(
      false,
    );
    expect(report).toMatch(/\| seed \| 30 \(30\) \| 2000 \| 9 \|/);
  });

  test('names the machine, the date, the command and the load caveat', () => {
    expect(report).toContain(
      '| Test CPU 3000 | 2 | 4 GiB | Debian GNU/Linux 12 | v20.0.0 | 1.22.1 | 2.6.12 | 3.50 |',
    );
    expect(report).toContain(
      '**Caveat:** other work was running on the machine',
    );
    expect(report).toContain('2026-11-22T03:00:00Z');
    expect(report).toContain('```sh\nnpm run bench\n```');
  });

  test('shows the load at the end too, and no caveat when the machine was idle at the start', () => {
    const idle = renderReport({
      ...results,
      machine: { ...machine, loadAverageAtStart: 0.1, loadAverageAtEnd: 2.4 },
    });
    expect(idle).toContain('| 0.10 / 2.40 |');
    expect(idle).not.toContain('Caveat');
  });

  test('gives ratios to direct and links the charts', () => {
    expect(report).toMatch(/\| `haproxy-peer` \| [^|]+ \| 8000 \| 0\.80× \|/);
    expect(report).toContain('](docs/benchmarks/balance.svg)');
    expect(report).toContain('](docs/benchmarks/remap.svg)');
  });

  test('a figure the run did not measure has no section and no target', () => {
    const partial = renderReport({
      ...results,
      scenarios: ['build'],
      overhead: undefined,
      balance: undefined,
      remap: undefined,
      failover: undefined,
    });
    expect(partial).not.toContain('## 1. Overhead');
    expect(partial).toContain('## 5. Build figures');
    expect(partial).toContain('1 of 2 targets met, 1 missed.');
  });

  test('a build step that failed is reported as not measured with its reason', () => {
    const failed = renderReport({
      ...results,
      build: {
        unitTestCommand: 'npx jest --silent',
        problems: ['cdk synth failed: boom'],
      },
    });
    expect(verdictOf(failed, 'cdk synth of the whole app ≤ 8 s')).toBe(
      'not measured',
    );
    expect(failed).toContain('- cdk synth failed: boom');
  });
});
