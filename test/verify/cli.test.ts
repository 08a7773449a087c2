/**
 * `sticky-edge verify` input handling: every bad input is rejected before any request with a one-line
 * message naming the value and exit status 2, and --help documents every flag. One case goes through the
 * real binary to show what an operator sees; runs against a live edge are in local-edge.test.ts.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { UserError, isParseArgsError } from '../../lib/errors';
import { run } from '../../lib/cli/verify';

const BIN = path.join(__dirname, '../../bin/sticky-edge.cjs');

afterEach(() => jest.restoreAllMocks());

test.each([
  [
    ['ftp://example.test/'],
    'url must be an http:// or https:// URL, got "ftp://example.test/"',
  ],
  [['not a url'], 'url must be an http:// or https:// URL, got "not a url"'],
  [[], 'verify takes exactly one URL, got none'],
  [
    ['http://127.0.0.1:9/', 'http://127.0.0.1:10/'],
    'verify takes exactly one URL, got "http://127.0.0.1:9/" "http://127.0.0.1:10/"',
  ],
  [
    ['http://127.0.0.1:9/', '--sessions', '0'],
    '--sessions must be a whole number from 1 to 500, got "0"',
  ],
  [
    ['http://127.0.0.1:9/', '--sessions', 'ten'],
    '--sessions must be a whole number from 1 to 500, got "ten"',
  ],
  [
    ['http://127.0.0.1:9/', '--requests', '1.5'],
    '--requests must be a whole number from 2 to 50, got "1.5"',
  ],
  [
    ['http://127.0.0.1:9/', '--sticky', 'sticky'],
    '--sticky must be ip_hash, hash, cookie or auto, got "sticky"',
  ],
  [
    ['http://127.0.0.1:9/', '--backend', 'gopher://x'],
    'backend URL must be an http:// or https:// URL, got "gopher://x"',
  ],
  [
    ['http://127.0.0.1:9/', '--client-ip', '300.1.1.1'],
    'expected client address must be an IP address, got "300.1.1.1"',
  ],
  // Trimmed before, so it passed as 1.2.3.4 and ended as a failed check (exit 1), not bad input.
  [
    ['http://127.0.0.1:9/', '--client-ip', '1.2.3.4\n'],
    'expected client address must be an IP address, got "1.2.3.4\\n"',
  ],
  [
    ['http://127.0.0.1:9/', '--client-ip', ' 1.2.3.4'],
    'expected client address must be an IP address, got " 1.2.3.4"',
  ],
  [
    ['http://127.0.0.1:9/', '--client-ip', '1.2.3.4', '--client-ip', '1.2.3.4'],
    '--client-ip "1.2.3.4" is given twice',
  ],
  [
    ['http://127.0.0.1:9/', '--sessions', '10', '--sessions', '20'],
    '--sessions may be given once, got "10" and "20"',
  ],
  [
    ['http://127.0.0.1:9/', '--sticky', 'cookie', '--sticky', 'hash'],
    '--sticky may be given once, got "cookie" and "hash"',
  ],
  [
    ['http://127.0.0.1:9/', '--json', '--json'],
    '--json may be given once, got it twice',
  ],
  [
    ['http://127.0.0.1:9/', '--sticky', ''],
    '--sticky must not be empty, got ""',
  ],
  [
    [
      'http://127.0.0.1:9/',
      '--backend',
      'http://127.0.0.1:3000/',
      '--backend',
      'http://127.0.0.1:3000/',
    ],
    '--backend "http://127.0.0.1:3000/" is given twice',
  ],
  [
    ['http://127.0.0.1:9/', '--cookie-name', 'my-route'],
    `--cookie-name must be 1-64 letters, digits or underscores (nginx reads the cookie as $cookie_NAME), not "session" (the demo app's session cookie), got "my-route"`,
  ],
])('fails when given %j: exit 2 with one line', async (args, message) => {
  const stdout = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation(() => true);
  const stderr = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation(() => true);
  await expect(run(args)).rejects.toEqual(new UserError(message, 2));
  await expect(run(args)).rejects.toMatchObject({ exitCode: 2 });
  expect(stdout).not.toHaveBeenCalled();
  expect(stderr).not.toHaveBeenCalled();
});

test('fails when given an unknown flag, through parseArgs (which the dispatcher prints as one line, exit 2)', async () => {
  const err = await run(['http://127.0.0.1:9/', '--bogus']).catch(
    (e: unknown) => e,
  );
  expect(isParseArgsError(err)).toBe(true);
  expect((err as Error).message).toContain("'--bogus'");
});

test('--help documents every flag', async () => {
  let text = '';
  jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk) => ((text += String(chunk)), true));
  await expect(run(['--help'])).resolves.toBe(0);
  for (const flag of [
    '--sessions N',
    '--requests N',
    '--sticky ip_hash|hash|cookie|auto',
    '--cookie-name NAME',
    '--backend URL',
    '--client-ip ADDR',
    '--json',
    '-h, --help',
  ]) {
    expect(text).toContain(flag);
  }
  expect(text).toContain(
    'Exit status: 0 every check passed, 1 a check failed, 2 bad input',
  );
});

test('the binary prints a bad URL as one line, no stack trace, and exits 2', async () => {
  const { code, stdout, stderr } = await new Promise<{
    code: number;
    stdout: string;
    stderr: string;
  }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'verify', 'ftp://example.test/'],
      { timeout: 60_000 },
      (err, out, errText) =>
        resolve({
          code: err ? Number(err.code) : 0,
          stdout: out,
          stderr: errText,
        }),
    );
  });
  expect(code).toBe(2);
  expect(stdout).toBe('');
  expect(stderr).toBe(
    'sticky-edge: url must be an http:// or https:// URL, got "ftp://example.test/"\n',
  );
}, 60_000);

test('an endpoint that refuses connections fails the reachability check: exit 1, with the error as evidence', async () => {
  let text = '';
  jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk) => ((text += String(chunk)), true));
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  await expect(
    run(['http://127.0.0.1:1/', '--sessions', '1', '--requests', '2']),
  ).resolves.toBe(1);
  expect(text).toMatch(/FAIL {2}the edge answers with a backend/);
  expect(text).toContain('ECONNREFUSED');
});
