/**
 * `sticky-edge local --drain`: a bad name is refused with one line and exit 2, and nothing is left running;
 * the report judges a drain by its figures. The drain itself is shown with real traffic in
 * test/local/drain.test.ts (the same `measureDrain` the command runs).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { DrainResult } from '../../lib/local/drain';
import { drainVerdict, formatDrainReport } from '../../lib/local/drain-report';

jest.setTimeout(90_000);

const CLI = path.join(__dirname, '..', '..', 'bin', 'sticky-edge.cjs');

test('fails when --drain names no backend: one line, exit 2, no topology left behind', async () => {
  const tempParent = await mkdtemp(
    path.join(tmpdir(), 'sticky-edge-cli-drain-'),
  );
  try {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'local',
        '--sticky',
        'cookie',
        '--clients',
        '10',
        '--drain',
        'app-z',
      ],
      {
        env: { ...process.env, TMPDIR: tempParent },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /^sticky-edge: drain must name a configured backend by its id or HOST:PORT \(app-a 127\.[0-9.]+:\d+, app-b 127\.[0-9.]+:\d+\), got "app-z"\n$/,
    );
    const left = (await readdir(tempParent)).filter((n) =>
      n.startsWith('sticky-edge-local-'),
    );
    expect(left).toEqual([]);
  } finally {
    await rm(tempParent, { recursive: true, force: true });
  }
});

const phase = {
  newClients: 10,
  newOnDrained: 0,
  pinnedMoved: 0,
  othersMoved: 0,
  requests: 60,
  failed: 0,
};
const good: DrainResult = {
  sticky: 'cookie',
  drained: ['app-b'],
  pinned: 10,
  pinnedOnDrained: 5,
  pinnedTo: new Map(),
  agentDownMarks: 0,
  midRoll: { ...phase, newOnDrained: 3 },
  after: phase,
  requestsBefore: 30,
  failedBefore: 0,
};

test('a drain that kept its promises is ok, even with new sessions on the drained backend mid-roll', () => {
  expect(drainVerdict(good)).toBe('ok');
  const report = formatDrainReport([good]).split('\n');
  expect(report[2]).toMatch(
    /^cookie +5\/10 +3\/10 +0\/5 +0\/10 +0\/5 +0 +0\/150 +ok$/,
  );
});

test.each<[string, Partial<DrainResult>, string]>([
  [
    'a new session reached the drained backend',
    { after: { ...phase, newOnDrained: 2 } },
    'FAIL: 2 new sessions reached the drained backend',
  ],
  [
    'a pinned cookie session moved',
    { after: { ...phase, pinnedMoved: 1 } },
    'FAIL: 1 pinned sessions moved',
  ],
  [
    'a client of another backend moved',
    { midRoll: { ...phase, othersMoved: 1 } },
    'FAIL: 1 clients of other backends moved',
  ],
  [
    'a request failed',
    { failedBefore: 1, after: { ...phase, failed: 1 } },
    'FAIL: 2 failed requests',
  ],
])('fails when %s', (_name, change, verdict) => {
  expect(drainVerdict({ ...good, ...change })).toBe(verdict);
});

test('ip_hash and hash clients of the drained backend moving is what a drain does to them, not a failure', () => {
  expect(
    drainVerdict({
      ...good,
      sticky: 'ip_hash',
      after: { ...phase, pinnedMoved: 5 },
    }),
  ).toBe('ok');
});
