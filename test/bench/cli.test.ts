import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { parseBenchArgs } from '../../lib/cli/bench';

const cwd = '/somewhere';

describe('parseBenchArgs', () => {
  test('defaults to a quick run of every figure into the current directory', () => {
    expect(parseBenchArgs([], cwd)).toEqual({
      mode: 'quick',
      scenarios: [
        'overhead',
        'instructions',
        'balance',
        'remap',
        'scale',
        'drain',
        'failover',
        'faults',
        'build',
      ],
      command: 'npm run bench',
      json: false,
      outDir: cwd,
    });
  });

  test('takes --full, --only (run in a fixed order), --out and --json', () => {
    expect(
      parseBenchArgs(
        ['--full', '--only', 'remap,overhead', '--out', 'results', '--json'],
        cwd,
      ),
    ).toEqual({
      mode: 'full',
      scenarios: ['overhead', 'remap'],
      command: 'npm run bench -- --full --only remap,overhead',
      json: true,
      outDir: path.join(cwd, 'results'),
    });
  });

  test('--help asks for the usage', () => {
    expect(parseBenchArgs(['--help'], cwd)).toBeUndefined();
  });

  test.each([
    [
      ['--only', 'balance,speed'],
      '--only must be a comma-separated list of overhead, instructions, balance, remap, scale, drain, failover, faults, build, got "balance,speed"',
    ],
    [
      ['--only', ''],
      '--only must be a comma-separated list of overhead, instructions, balance, remap, scale, drain, failover, faults, build, got ""',
    ],
    [['--quick', '--full'], '--quick and --full cannot be used together'],
    [['--out', ''], '--out must be a directory, got ""'],
    [
      ['--only', 'balance', '--only', 'remap'],
      '--only may be given once, got "balance" and "remap"',
    ],
    [['--quick', '--quick'], '--quick may be given once, got it twice'],
  ])('fails when given %j', (argv, message) => {
    expect(() => parseBenchArgs(argv, cwd)).toThrow(message);
  });

  test.each([[['--fast']], [['extra']], [['--out']]])(
    'fails when given %j',
    (argv) => {
      expect(() => parseBenchArgs(argv, cwd)).toThrow();
    },
  );
});

test('the CLI rejects a bad flag with one line and exit code 2, before starting anything', async () => {
  const root = path.resolve(__dirname, '..', '..');
  const { code, stdout, stderr } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
  }>((resolve) => {
    execFile(
      process.execPath,
      [path.join(root, 'bin', 'sticky-edge.cjs'), 'bench', '--only', 'speed'],
      { cwd: root },
      (err, stdout, stderr) =>
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr }),
    );
  });
  expect(code).toBe(2);
  expect(stdout).toBe('');
  expect(stderr).toBe(
    'sticky-edge: --only must be a comma-separated list of overhead, instructions, balance, remap, scale, drain, failover, faults, build, got "speed"\n',
  );
}, 30_000);
