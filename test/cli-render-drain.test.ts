/**
 * `sticky-edge render --drain HOST:PORT`: passed to the renderer, repeatable, and every bad value refused with
 * one line and exit 2 (the dispatcher's path, spawned as an operator runs it).
 */
import { run } from '../lib/cli/render';
import { renderEdgeConfig } from '../lib/nginx/render';
import { Run, spawnRender } from './spawn-render';

const BASE = [
  '--sticky',
  'cookie',
  '--trust',
  '10.0.0.0/24',
  '--backend',
  '10.0.2.10:3000',
  '--backend',
  '10.0.3.10:3000',
  '--backend',
  '10.0.4.10:3000',
];
const backends = ['10.0.2.10:3000', '10.0.3.10:3000', '10.0.4.10:3000'].map(
  (address) => ({ address }),
);

/** Spawned: the dispatcher prints it as one line and exits 2. */
const spawnedFailure: [string, string[], RegExp] = [
  'every backend is drained',
  [
    ...BASE,
    '--drain',
    '10.0.2.10:3000',
    '--drain',
    '10.0.3.10:3000',
    '--drain',
    '10.0.4.10:3000',
  ],
  /^sticky-edge: drain must leave at least one backend to take new sessions, got every backend: "10\.0\.2\.10:3000,10\.0\.3\.10:3000,10\.0\.4\.10:3000"$/,
];

/** In process (a spawn costs seconds on a loaded machine): the same UserError the dispatcher prints. */
const failures: [string, string[], RegExp][] = [
  [
    'a drained address is not a backend',
    [...BASE, '--drain', '10.0.9.9:3000'],
    /^drain must name a configured backend by its id or HOST:PORT \(.*10\.0\.2\.10:3000.*\), got "10\.0\.9\.9:3000"$/,
  ],
  [
    'a drained address is malformed',
    [...BASE, '--drain', 'app-b'],
    /^drain must name a configured backend .*, got "app-b"$/,
  ],
  [
    'one drain is given twice',
    [...BASE, '--drain', '10.0.3.10:3000', '--drain', '10.0.3.10:3000'],
    /^--drain "10\.0\.3\.10:3000" is given twice$/,
  ],
  [
    'a drain is empty',
    [...BASE, '--drain', ''],
    /^--drain must not be empty, got ""$/,
  ],
  [
    '--drain comes with --naive',
    ['--naive', ...BASE.slice(4), '--drain', '10.0.3.10:3000'],
    /^--naive takes only --listen, --backend and --main, got --drain$/,
  ],
];

const runs = new Map<string, Run>();

beforeAll(async () => {
  const all: [string, string[]][] = [
    [
      'two drained',
      [...BASE, '--drain', '10.0.4.10:3000', '--drain', '10.0.2.10:3000'],
    ],
    [spawnedFailure[0], spawnedFailure[1]],
  ];
  const results = await Promise.all(
    all.map(async ([name, args]) => [name, await spawnRender(args)] as const),
  );
  for (const [name, result] of results) runs.set(name, result);
}, 120_000);

test('--drain is repeatable and reaches the renderer', () => {
  expect(runs.get('two drained')).toEqual({
    code: 0,
    stderr: '',
    stdout: renderEdgeConfig({
      lb: 'nlb',
      sticky: 'cookie',
      listen: '80',
      trust: ['10.0.0.0/24'],
      backends,
      drain: ['10.0.4.10:3000', '10.0.2.10:3000'],
    }),
  });
  expect(runs.get('two drained')!.stdout).toMatch(
    /^# sticky-edge: lb=nlb sticky=cookie drain=10\.0\.2\.10:3000,10\.0\.4\.10:3000\./,
  );
});

test('--help documents --drain', async () => {
  const write = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation(() => true);
  try {
    expect(await run(['--help'])).toBe(0);
    expect(String(write.mock.calls[0][0])).toContain('--drain HOST:PORT');
  } finally {
    write.mockRestore();
  }
});

test('fails when every backend is drained (spawned: one line, exit 2)', () => {
  const result = runs.get(spawnedFailure[0])!;
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^[^\n]*\n$/);
  expect(result.stderr.trimEnd()).toMatch(spawnedFailure[2]);
});

test.each(failures)('fails when %s', async (_name, args, message) => {
  await expect(run(args)).rejects.toThrow(message);
});
