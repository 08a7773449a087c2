/** `sticky-edge local` as a user runs it: flags, the report, and nothing left running afterwards. */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { startTopology } from '../../lib/local/topology';

jest.setTimeout(90_000);

const CLI = path.join(__dirname, '..', '..', 'bin', 'sticky-edge.cjs');

/** A private temp directory: every file and process command line of the run's topologies is under it. */
let tempParent: string;
beforeEach(async () => {
  tempParent = await mkdtemp(path.join(tmpdir(), 'sticky-edge-cli-test-'));
});
afterEach(async () => {
  await rm(tempParent, { recursive: true, force: true });
});

function startCli(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, 'local', ...args], {
    env: { ...process.env, TMPDIR: tempParent },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finish(
  child: ChildProcess,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

/** Processes whose command line names the private temp directory (nginx -p, haproxy -f, node backend.js). */
async function processesUnder(dir: string): Promise<string> {
  try {
    return (await promisify(execFile)('pgrep', ['-af', dir])).stdout.trim();
  } catch {
    return '';
  }
}

/** The topologies' own directories (tsx keeps its cache in TMPDIR too). */
async function topologyDirs(): Promise<string[]> {
  return (await readdir(tempParent)).filter((name) =>
    name.startsWith('sticky-edge-local-'),
  );
}

test.each([
  [['--lb', 'elb'], '--lb must be nlb or alb, got "elb"'],
  [
    ['--sticky', 'bogus'],
    '--sticky must be ip_hash, hash, cookie or all, got "bogus"',
  ],
  [
    ['--clients', '3'],
    '--clients must be a whole number from 10 to 5000, got "3"',
  ],
  [
    ['--app-count', '0'],
    '--app-count must be a whole number from 1 to 8, got "0"',
  ],
  [
    ['--app-count', '9'],
    '--app-count must be a whole number from 1 to 8, got "9"',
  ],
  [
    ['--app-count', 'three'],
    '--app-count must be a whole number from 1 to 8, got "three"',
  ],
  [['--bogus'], "Unknown option '--bogus'"],
  [
    ['--keep', '--cookie-name', 'my-route'],
    '--cookie-name must be 1-64 letters, digits or underscores',
  ],
  [
    ['--keep', '--cookie-same-site', 'Loose'],
    '--cookie-same-site must be Lax, Strict, None, got "Loose"',
  ],
  [['--keep', '--cookie-same-site', 'None'], '--tls'],
  [['--tls'], '--tls shapes the topology --keep leaves running'],
  [
    ['--cookie-name', 'route', '--cookie-same-site', 'Strict'],
    '--cookie-name, --cookie-same-site shape the topology --keep leaves running',
  ],
])('local %j fails with one line and exit 2', async (args, message) => {
  const { code, stdout, stderr } = await finish(startCli(args));
  expect(code).toBe(2);
  expect(stdout).toBe('');
  expect(stderr).toMatch(
    new RegExp(
      `^sticky-edge: .*${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*\n$`,
    ),
  );
});

test.each([
  [['--lb', ''], '--lb must not be empty, got ""'],
  [
    ['--lb', 'nlb', '--lb', 'alb'],
    '--lb may be given once, got "nlb" and "alb"',
  ],
  [
    ['--clients', '10', '--clients', '20'],
    '--clients may be given once, got "10" and "20"',
  ],
])('fails when local is given %j: one line, exit 2', async (args, message) => {
  const { code, stdout, stderr } = await finish(startCli(args));
  expect(code).toBe(2);
  expect(stdout).toBe('');
  expect(stderr).toBe(`sticky-edge: ${message}\n`);
});

test('--help documents every flag', async () => {
  const { code, stdout } = await finish(startCli(['--help']));
  expect(code).toBe(0);
  for (const flag of [
    '--lb',
    '--sticky',
    '--clients',
    '--app-count',
    '--keep',
    '--tls',
    '--cookie-name',
    '--cookie-same-site',
    '--help',
  ])
    expect(stdout).toContain(flag);
});

test('a small run with three app servers prints the seed beside the fix in one table and leaves nothing running', async () => {
  const { code, stdout, stderr } = await finish(
    startCli(['--clients', '40', '--sticky', 'cookie', '--app-count', '3']),
  );
  expect(stderr).toBe(
    'seed nlb: 160 requests done\nnlb cookie: 160 requests done\n',
  );
  expect(code).toBe(0);
  const lines = stdout.split('\n');
  expect(lines[0]).toMatch(
    /^configuration +lb +sticky +app-a +app-b +app-c +stayed +both nodes +saw client +saw LB +forged won +failed +verdict$/,
  );
  expect(lines.find((l) => l.startsWith('seed (render --naive)'))).toMatch(
    / nlb +ip_hash .* FAIL: .*backend sees the LB's address/,
  );
  expect(lines.find((l) => l.startsWith('sticky-edge'))).toMatch(
    / nlb +cookie +\d+% +\d+% +\d+% +100% +\d+% +100% +0% +0% +0\/160 +ok$/,
  );
  expect(await processesUnder(tempParent)).toBe('');
  expect(await topologyDirs()).toEqual([]);
});

test('--keep serves until Ctrl-C, then stops everything', async () => {
  const child = startCli(['--clients', '10', '--sticky', 'hash', '--keep']);
  const done = finish(child);
  const url = await new Promise<string>((resolve) => {
    let out = '';
    child.stdout?.on('data', (chunk) => {
      out += chunk;
      const match = /--interface (\S+) (http:\/\/\S+)\/\n/.exec(out);
      if (match && out.includes('Ctrl-C stops it.')) resolve(match[2]);
    });
  });
  const status = await new Promise<number | undefined>((resolve, reject) =>
    request(`${url}/`, { agent: false }, (res) =>
      resolve(res.resume().statusCode),
    )
      .on('error', reject)
      .end(),
  );
  expect(status).toBe(200);
  expect(await processesUnder(tempParent)).not.toBe('');
  child.kill('SIGINT');
  const { code } = await done;
  expect(code).toBe(130);
  expect(await processesUnder(tempParent)).toBe('');
  expect(await topologyDirs()).toEqual([]);
});

test('--keep --tls serves HTTPS with the throwaway certificate the curl line names, and the cookie as asked', async () => {
  const child = startCli([
    '--clients',
    '10',
    '--sticky',
    'cookie',
    '--keep',
    '--tls',
    '--cookie-name',
    'route',
    '--cookie-same-site',
    'None',
  ]);
  const done = finish(child);
  const [caFile, url] = await new Promise<[string, string]>((resolve) => {
    let out = '';
    child.stdout?.on('data', (chunk) => {
      out += chunk;
      const match =
        /curl -s --cacert (\S+) .*--interface \S+ (https:\/\/\S+)\/\n/.exec(
          out,
        );
      if (match && out.includes('Ctrl-C stops it.'))
        resolve([match[1], match[2]]);
    });
  });
  expect(caFile.startsWith(tempParent)).toBe(true);
  const answer = await new Promise<{ status?: number; cookies: string[] }>(
    (resolve, reject) =>
      httpsRequest(
        `${url}/`,
        { agent: false, ca: readFileSync(caFile) },
        (res) => {
          res.resume();
          resolve({
            status: res.statusCode,
            cookies: res.headers['set-cookie'] ?? [],
          });
        },
      )
        .on('error', reject)
        .end(),
  );
  expect(answer.status).toBe(200);
  const route = answer.cookies.find((c) => c.startsWith('route='));
  expect(route).toMatch(/; Secure/);
  expect(route).toMatch(/; SameSite=None/);
  child.kill('SIGINT');
  const { code, stdout } = await done;
  expect(code).toBe(130);
  expect(stdout).toMatch(
    /running: lb=nlb sticky=cookie tls cookieName=route cookieSameSite=None at https:/,
  );
  expect(await processesUnder(tempParent)).toBe('');
  expect(await topologyDirs()).toEqual([]);
});

test('a failed start stops what it had started and removes its directory', async () => {
  const broken = startTopology({
    lb: 'nlb',
    sticky: 'ip_hash',
    tempParent,
    nodeConfig: (i, rendered) => (i === 1 ? 'not_a_directive;' : rendered),
  });
  await expect(broken).rejects.toThrow(
    /nginx -t rejected .*unknown directive "not_a_directive"/,
  );
  expect(await processesUnder(tempParent)).toBe('');
  expect(await topologyDirs()).toEqual([]);
});
