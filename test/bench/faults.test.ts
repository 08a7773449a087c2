/**
 * The faults figure's parts: the statistics from hand-built observations, the HAProxy peer's config (loaded by a
 * real `haproxy -c`) and its log lines, the targets and the report's table. The figure itself runs only in
 * `npm run bench` (it waits out real timeouts and health checks: minutes).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  summariseFault,
  summariseReturn,
  wronglyDown,
  type FaultObservation,
} from '../../lib/bench/faults';
import {
  parsePeerLogLine,
  renderFaultPeerConfig,
  statusOf,
  touched,
} from '../../lib/bench/faults-peer';
import { faultsTable, renderReport } from '../../lib/bench/report';
import type { BenchResults, FaultRow } from '../../lib/bench/results';
import { checkTargets } from '../../lib/bench/targets';
import { findHaproxy } from '../../lib/local/binaries';
import { TEST_MACHINE } from './machine-fixture';

const T = 1_000_000;

/** One request: session, sent at T+`at` ms, took `took` ms, answered by `backend` (none: failed). */
const obs = (
  session: number,
  at: number,
  took: number,
  backend: string | undefined,
  extra: Partial<FaultObservation> = {},
): FaultObservation => ({
  session,
  tag: `r.s${session}.${at}`,
  sentAt: T + at,
  doneAt: T + at + took,
  backend,
  ...extra,
});

describe('summariseFault', () => {
  // Sessions 0 and 1 on app-a (the faulty backend), 2 on app-b; the fault at T, the window ends at T+4000.
  const pinned = [
    obs(0, -500, 5, 'app-a'),
    obs(1, -400, 5, 'app-a'),
    obs(2, -300, 5, 'app-b'),
  ];

  test('a hang: counts the window, the last request that reached the dead backend, and re-pinned sessions', () => {
    const during = [
      // Held by the hang for 10 s, then answered by the live backend: reached the dead one at T+100.
      obs(0, 100, 10_050, 'app-b'),
      // Reached it at T+1800, failed; then moved.
      obs(1, 1_800, 1_200, undefined),
      obs(1, 3_100, 5, undefined),
      obs(1, 3_500, 5, 'app-b'),
      obs(2, 200, 5, 'app-b'),
      obs(2, 3_900, 5, 'app-b'),
      // A new session balanced onto the hung backend before it was marked down: counts, but pins nothing.
      obs(50, 2_500, 1_004, 'app-b', { newcomer: true }),
      // Sent after the window: not counted, but shows where session 0 went.
      obs(0, 10_200, 5, 'app-b'),
    ];
    const row = summariseFault(
      'cookie',
      'hang',
      [...pinned, ...during],
      { faultAt: T, end: T + 4_000 },
      new Set([during[0].tag, during[1].tag, during[6].tag]),
    );
    expect(row).toEqual({
      config: 'cookie',
      fault: 'hang',
      requests: 7,
      failed: 2,
      failedAfterDetection: 1,
      slow: 3,
      p99Ms: 10_050,
      wronglyDown: 0,
      lastToDeadMs: 2_500,
      affected: 2,
      repinned: 2,
    });
  });

  test('a session whose last answer is a failure or the faulty backend is not re-pinned; none reached it after the fault', () => {
    const row = summariseFault(
      'ip_hash',
      'crash',
      [
        ...pinned,
        obs(0, 100, 5, undefined),
        obs(1, 100, 5, 'app-b'),
        obs(1, 200, 5, 'app-a'),
      ],
      { faultAt: T, end: T + 4_000 },
      new Set(),
    );
    expect(row.repinned).toBe(0);
    expect(row.affected).toBe(2);
    expect(row.lastToDeadMs).toBe(0);
    expect(row.failedAfterDetection).toBe(0);
  });

  test('repinUntil leaves out what happens after it (a crashed backend that returns)', () => {
    const observations = [
      ...pinned,
      obs(0, 100, 5, 'app-b'),
      obs(0, 5_000, 5, 'app-a'),
    ];
    const window = { faultAt: T, end: T + 4_000 };
    expect(
      summariseFault('hash', 'crash', observations, window, new Set()).repinned,
    ).toBe(0);
    expect(
      summariseFault(
        'hash',
        'crash',
        observations,
        { ...window, repinUntil: T + 4_000 },
        new Set(),
      ).repinned,
    ).toBe(1);
  });

  test('node loss: the last failed request marks the dead node; sessions that changed backend are counted', () => {
    const row = summariseFault(
      'hash',
      'node-loss',
      [
        ...pinned,
        obs(0, 100, 3, undefined),
        obs(1, 9_000, 3, undefined),
        obs(1, 9_500, 3, 'app-b'),
        obs(2, 12_000, 3, 'app-b'),
      ],
      { faultAt: T, end: T + 23_000 },
      new Set(),
    );
    expect(row.lastToDeadMs).toBe(9_000);
    expect(row.failed).toBe(2);
    expect(row.affected).toBe(3);
    expect(row.repinned).toBe(1);
  });

  test('reload: no dead backend to report', () => {
    const row = summariseFault(
      'cookie',
      'reload',
      [...pinned, obs(0, 100, 3, 'app-a')],
      { faultAt: T, end: T + 4_000 },
      new Set(),
    );
    expect(row.lastToDeadMs).toBeUndefined();
    expect(row.repinned).toBe(0);
    expect(row.failed).toBe(0);
  });
});

describe('wronglyDown', () => {
  const marks = [
    { at: T - 100, node: 0, down: ['app-b'] },
    { at: T + 100, node: 0, down: ['app-a'] },
    { at: T + 900, node: 1, down: ['app-a', 'app-b'] },
    { at: T + 2_000, node: 0, down: [] },
    { at: T + 5_000, node: 1, down: ['app-b'] },
  ];

  test('during a backend fault only the live backend marked down counts, inside the window', () => {
    expect(wronglyDown(marks, 'hang', T, T + 4_000)).toBe(1);
    expect(wronglyDown(marks, 'return', T, T + 6_000)).toBe(2);
  });

  test('during a reload or a node loss any backend marked down counts', () => {
    expect(wronglyDown(marks, 'reload', T, T + 4_000)).toBe(2);
    expect(wronglyDown(marks, 'node-loss', T - 1_000, T + 6_000)).toBe(4);
  });

  test('the row carries it', () => {
    const row = summariseFault(
      'hash',
      'reload',
      [obs(0, -100, 3, 'app-a')],
      { faultAt: T, end: T + 4_000 },
      new Set(),
      marks,
    );
    expect(row.wronglyDown).toBe(2);
  });
});

describe('summariseReturn', () => {
  // Crash at T, return at T+4000, window to T+8000.
  const times = { crashAt: T, returnAt: T + 4_000, end: T + 8_000 };
  const history = [
    obs(0, -500, 5, 'app-a'),
    obs(1, -400, 5, 'app-a'),
    obs(2, -300, 5, 'app-b'),
    obs(0, 1_000, 5, 'app-b'),
    obs(1, 1_000, 5, 'app-b'),
  ];

  test('moved sessions answered by the returned backend flap back; newcomers show it takes new sessions', () => {
    const row = summariseReturn(
      'ip_hash',
      [
        ...history,
        obs(0, 5_000, 5, 'app-a'),
        obs(1, 5_000, 5, 'app-b'),
        obs(2, 5_000, 5, 'app-b'),
        obs(100, 4_500, 5, 'app-b', { newcomer: true }),
        obs(101, 5_900, 20, 'app-a', { newcomer: true }),
      ],
      times,
    );
    expect(row).toEqual({
      config: 'ip_hash',
      fault: 'return',
      requests: 5,
      failed: 0,
      failedAfterDetection: 0,
      slow: 0,
      p99Ms: 20,
      wronglyDown: 0,
      affected: 2,
      flappedBack: 1,
      newSessions: 2,
      newOnReturned: 1,
      firstAnswerMs: 1_005,
    });
  });

  test('a backend that never answers again has no first answer, and takes no new session', () => {
    const row = summariseReturn(
      'cookie',
      [...history, obs(9, 4_100, 5, 'app-b', { newcomer: true })],
      times,
    );
    expect(row.firstAnswerMs).toBeUndefined();
    expect(row.newOnReturned).toBe(0);
    expect(row.flappedBack).toBe(0);
  });
});

describe('the HAProxy peer', () => {
  test('its config loads in a real haproxy -c', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sticky-edge-peer-test-'));
    try {
      const file = path.join(dir, 'haproxy.cfg');
      const config = renderFaultPeerConfig({
        listen: '127.0.0.1:18080',
        backends: ['127.0.0.1:18081', '10.214.3.2:3000'],
        dir,
      });
      writeFileSync(file, config);
      expect(() =>
        execFileSync(findHaproxy(), ['-c', '-q', '-f', file], {
          stdio: 'pipe',
        }),
      ).not.toThrow();
      expect(config).toContain(
        'default-server check inter 500ms fall 3 rise 2',
      );
      expect(config).toContain('server app1 10.214.3.2:3000 cookie app1');
      expect(config).toContain('bind 127.0.0.1:18080 accept-proxy');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a server's status from the stats socket's CSV", () => {
    const csv = [
      '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight',
      'peer,FRONTEND,,,0,1,4096,3,0,0,0,0,0,,,,,OPEN,',
      'app,app0,0,0,0,1,,2,0,0,,0,,0,0,0,0,DOWN 1/2,1',
      'app,app1,0,0,0,1,,2,0,0,,0,,0,0,0,0,UP,1',
      '',
    ].join('\n');
    expect(statusOf(csv, 'app0')).toBe('DOWN 1/2');
    expect(statusOf(csv, 'app1')).toBe('UP');
    expect(statusOf(csv, 'app9')).toBeUndefined();
  });

  test('log lines: which requests touched the faulty server', () => {
    const line = (text: string) => {
      const parsed = parsePeerLogLine(text);
      if (!parsed) throw new Error(`not parsed: ${text}`);
      return parsed;
    };
    expect(line('sticky-edge-peer /?t=a.s1.2 app1 0 200')).toEqual({
      uri: '/?t=a.s1.2',
      server: 'app1',
      retries: '0',
      status: 200,
    });
    expect(parsePeerLogLine('[NOTICE] (1) : Loading success.')).toBeUndefined();
    expect(touched(line('sticky-edge-peer /?t=x app0 0 504'), 'app0')).toBe(
      true,
    );
    // Retried, then redispatched to the live server: the first attempt went to app0.
    expect(touched(line('sticky-edge-peer /?t=x app1 +2 200'), 'app0')).toBe(
      true,
    );
    // Sent straight to app1 because app0 is down: never went there.
    expect(touched(line('sticky-edge-peer /?t=x app1 +0 200'), 'app0')).toBe(
      false,
    );
    expect(touched(line('sticky-edge-peer /?t=x app1 0 200'), 'app0')).toBe(
      false,
    );
  });
});

const row = (r: Partial<FaultRow> & Pick<FaultRow, 'config' | 'fault'>) =>
  ({
    requests: 100,
    failed: 0,
    failedAfterDetection: 0,
    slow: 0,
    p99Ms: 12,
    affected: 10,
    ...r,
  }) as FaultRow;

const rows: FaultRow[] = [
  row({ config: 'cookie', fault: 'hang', lastToDeadMs: 1_900, repinned: 10 }),
  row({
    config: 'hash',
    fault: 'black-hole',
    lastToDeadMs: 3_400,
    repinned: 9,
    failed: 2,
    failedAfterDetection: 1,
  }),
  row({ config: 'ip_hash', fault: 'crash', lastToDeadMs: 0, repinned: 10 }),
  row({
    config: 'cookie',
    fault: 'return',
    affected: 8,
    flappedBack: 0,
    newSessions: 30,
    newOnReturned: 14,
    firstAnswerMs: 1_500,
  }),
  row({
    config: 'ip_hash',
    fault: 'return',
    affected: 8,
    flappedBack: 8,
    newSessions: 30,
    newOnReturned: 0,
  }),
  row({
    config: 'hash',
    fault: 'reload',
    failed: 1,
    repinned: 0,
    wronglyDown: 3,
  }),
  row({
    config: 'haproxy-peer',
    fault: 'hang',
    lastToDeadMs: 5_000,
    failed: 6,
    failedAfterDetection: 6,
    repinned: 10,
  }),
  row({
    config: 'cookie',
    fault: 'node-loss',
    lastToDeadMs: 14_000,
    failed: 200,
    repinned: 0,
  }),
];

const results: BenchResults = {
  date: '2026-11-30T06:00:00Z',
  mode: 'quick',
  command: 'npm run bench -- --only faults',
  scenarios: ['faults'],
  machine: TEST_MACHINE,
  wallSeconds: 170,
  faults: {
    sessions: 40,
    settleMs: 1_500,
    windowMs: 4_000,
    nodeLossWindowMs: 23_000,
    rows,
  },
};

describe('targets', () => {
  const verdict = (target: string) => {
    const check = checkTargets(results).find((c) => c.target === target);
    if (!check) throw new Error(`no target ${target}`);
    return check.met;
  };

  test('hang and black hole within 3 s, failures after detection, return and reload, for the strategies only', () => {
    expect(
      verdict(
        'faults cookie, hang: no new request reaches the backend 3 s after the fault',
      ),
    ).toBe(true);
    expect(
      verdict(
        'faults hash, black hole: no new request reaches the backend 3 s after the fault',
      ),
    ).toBe(false);
    expect(
      verdict(
        'faults hash, black hole: zero failed idempotent requests sent 3 s or more after the fault',
      ),
    ).toBe(false);
    expect(
      verdict(
        'faults ip_hash, crash: zero failed idempotent requests sent 3 s or more after the fault',
      ),
    ).toBe(true);
    expect(verdict('faults cookie, return: no moved session flaps back')).toBe(
      true,
    );
    expect(
      verdict(
        'faults ip_hash, return: the returned backend takes new sessions',
      ),
    ).toBe(false);
    expect(verdict('faults hash, reload: zero failed requests')).toBe(false);
    const targets = checkTargets(results).map((c) => c.target);
    // An address hash must move its sessions back: no flap-back target for it.
    expect(targets).not.toContain(
      'faults ip_hash, return: no moved session flaps back',
    );
    expect(targets.filter((t) => t.includes('haproxy-peer'))).toEqual([]);
    expect(targets.filter((t) => t.includes('node loss'))).toEqual([]);
  });
});

describe('the report', () => {
  test('one row per fault and config, grouped by fault, the peer last', () => {
    const lines = faultsTable(rows).split('\n');
    expect(lines[0]).toContain('last request to the dead backend / node');
    const body = lines.slice(2).map((l) => l.split(' | ').slice(0, 2));
    expect(body).toEqual([
      ['| crash (SIGKILL)', 'ip_hash'],
      ['| hang (SIGSTOP)', 'cookie'],
      ['| hang (SIGSTOP)', 'haproxy-peer'],
      ['| black hole (nftables drop)', 'hash'],
      ['| return (crashed backend restarted)', 'ip_hash'],
      ['| return (crashed backend restarted)', 'cookie'],
      ['| node loss (one of two nodes killed)', 'cookie'],
      ['| reload (re-render, graceful reload)', 'hash'],
    ]);
    expect(lines[4]).toContain(
      '| 6 (6) | 0 | 12 ms | sent 5000 ms after the fault | 10 of 10 | – | – |',
    );
    expect(lines[6]).toContain('| never answered | – | 8 of 8 | 0 of 30 |');
    expect(lines[7]).toContain(
      '| answers again after 1500 ms | – | 0 of 8 | 14 of 30 |',
    );
    expect(lines[8]).toContain('| 0 of 10 changed backend |');
    expect(lines[9]).toMatch(/\| 3 \|$/);
    expect(lines[2]).toContain('| none after the fault |');
  });

  test('the Faults section with its table; none when the figure was not run', () => {
    const report = renderReport(results);
    expect(report).toContain('## 6. Faults');
    expect(report).toContain('40 sessions');
    expect(report).toContain(faultsTable(rows));
    expect(report).not.toContain('No black hole in this run');
    expect(report).not.toMatch(/\{\{|\}\}/);
    const skipped = renderReport({
      ...results,
      faults: {
        ...results.faults!,
        blackHoleSkipped: 'not root: ip netns needs CAP_SYS_ADMIN',
      },
    });
    expect(skipped).toContain(
      '**No black hole in this run:** not root: ip netns needs CAP_SYS_ADMIN.',
    );
    expect(renderReport({ ...results, faults: undefined })).not.toContain(
      '## 6. Faults',
    );
  });
});
