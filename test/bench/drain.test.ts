/** The drain figure's report section and targets, from fixed rows (the figure itself runs in `npm run bench`). */
import { renderReport } from '../../lib/bench/report';
import type { BenchResults, DrainRow } from '../../lib/bench/results';
import { checkTargets } from '../../lib/bench/targets';
import { TEST_MACHINE } from './machine-fixture';

const row = (overrides: Partial<DrainRow>): DrainRow => ({
  strategy: 'cookie',
  backends: 2,
  drained: ['app-b'],
  nodes: 2,
  clients: 100,
  pinnedOnDrained: 48,
  rollNewClients: 100,
  rollNewOnDrained: 27,
  rollPinnedMoved: 0,
  newClients: 100,
  newOnDrained: 0,
  pinnedMoved: 0,
  othersMoved: 0,
  agentDownMarks: 0,
  requests: 1500,
  failed: 0,
  ...overrides,
});

const results = (drain: DrainRow[]): BenchResults => ({
  date: '2026-11-30T06:00:00Z',
  mode: 'quick',
  command: 'npm run bench -- --only drain',
  scenarios: ['drain'],
  machine: TEST_MACHINE,
  wallSeconds: 60,
  drain,
});

const met = (drain: DrainRow[]) =>
  Object.fromEntries(
    checkTargets(results(drain)).map((c) => [c.target, c.met]),
  );

test('the section has a row per strategy with the roll and the state after it', () => {
  const report = renderReport(
    results([
      row({
        strategy: 'ip_hash',
        pinnedOnDrained: 40,
        rollPinnedMoved: 30,
        pinnedMoved: 40,
      }),
      row({}),
    ]),
  );
  expect(report).toContain('## 7. Draining a backend');
  expect(report).toContain('100 clients per strategy');
  expect(report).toContain(
    '| ip_hash | app-b of 2 | 40 of 100 | 27 of 100 | 30 of 40 | 0 of 100 | 40 of 40 | 0 | 0 of 1,500 | 0 |',
  );
  expect(report).toContain(
    '| cookie | app-b of 2 | 48 of 100 | 27 of 100 | 0 of 48 | 0 of 100 | 0 of 48 | 0 | 0 of 1,500 | 0 |',
  );
  expect(report).not.toMatch(/\{\{|\}\}/);
});

test('a run that kept every promise meets every drain target; ip_hash moving its drained clients is no miss', () => {
  const targets = met([row({ strategy: 'ip_hash', pinnedMoved: 48 }), row({})]);
  expect(Object.keys(targets)).toEqual([
    'drain app-b (ip_hash): the drained backend held sessions before the drain',
    'drain app-b (ip_hash): no new session reaches the drained backend once every node drains',
    'drain app-b (ip_hash): no client of another backend moves',
    'drain app-b (ip_hash): zero failed requests',
    'drain app-b (cookie): the drained backend held sessions before the drain',
    'drain app-b (cookie): no new session reaches the drained backend once every node drains',
    'drain app-b (cookie): no session pinned to the drained backend moves',
    'drain app-b (cookie): zero failed requests',
  ]);
  expect(Object.values(targets).every((m) => m === true)).toBe(true);
});

test.each<[string, Partial<DrainRow>, string]>([
  [
    'a new session reached the drained backend',
    { newOnDrained: 1 },
    'no new session reaches the drained backend once every node drains',
  ],
  [
    'a pinned cookie session moved after the roll',
    { pinnedMoved: 1 },
    'no session pinned to the drained backend moves',
  ],
  [
    'a pinned cookie session moved during the roll',
    { rollPinnedMoved: 1 },
    'no session pinned to the drained backend moves',
  ],
  ['a request failed', { failed: 1 }, 'zero failed requests'],
  [
    'the drained backend held no session (the run proves nothing)',
    { pinnedOnDrained: 0 },
    'the drained backend held sessions before the drain',
  ],
])('misses a target when %s', (_name, change, target) => {
  expect(met([row(change)])[`drain app-b (cookie): ${target}`]).toBe(false);
});

test('misses a target when a client of another backend moved under ip_hash', () => {
  expect(
    met([row({ strategy: 'ip_hash', othersMoved: 2 })])[
      'drain app-b (ip_hash): no client of another backend moves'
    ],
  ).toBe(false);
});

test('a client of another backend moved while a health agent took a backend down: the miss names it', () => {
  const [check] = checkTargets(
    results([row({ strategy: 'hash', othersMoved: 3, agentDownMarks: 2 })]),
  ).filter((c) => c.target.endsWith('no client of another backend moves'));
  expect(check).toEqual({
    target: 'drain app-b (hash): no client of another backend moves',
    measured:
      '3 of 52 moved (the health agents took a backend down 2 times meanwhile)',
    met: false,
  });
});
