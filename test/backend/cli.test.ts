import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleBackend } from '../../lib/backend/bundle';
import { randomLoopback, request } from './loopback';

/**
 * The app instances' user data is limited to 16 KB and also carries the install lines and the unit (about 2 KB),
 * so the bundle must stay well under 12 KB to leave room for the construct's own lines.
 */
const BUNDLE_LIMIT = 12 * 1024;

let bundlePath: string;

beforeAll(() => {
  // Outside the repository, so a bundle that still required a package from node_modules would fail here.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backend-bundle-'));
  bundlePath = path.join(dir, 'backend.js');
  fs.writeFileSync(bundlePath, bundleBackend());
});

afterAll(() =>
  fs.rmSync(path.dirname(bundlePath), { recursive: true, force: true }),
);

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; finished: Promise<Finished> } {
  const child = spawn(process.execPath, [...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout
    ?.setEncoding('utf8')
    .on('data', (chunk: string) => (stdout += chunk));
  child.stderr
    ?.setEncoding('utf8')
    .on('data', (chunk: string) => (stderr += chunk));
  const finished = once(child, 'exit').then(([code]) => ({
    code: code as number | null,
    stdout,
    stderr,
  }));
  return { child, finished };
}

/** Resolves with the URL from the ready line, or rejects with what the process said before it exited. */
function readyUrl(
  child: ChildProcess,
  finished: Promise<Finished>,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (chunk: string) => {
      seen += chunk;
      const match = /^listening on (http:\/\/\S+) /m.exec(seen);
      if (match) resolve(match[1]);
    });
    void finished.then((f) =>
      reject(new Error(`exited ${f.code} before ready: ${f.stderr}`)),
    );
  });
}

async function stop(
  child: ChildProcess,
  finished: Promise<Finished>,
): Promise<Finished> {
  child.kill('SIGTERM');
  return finished;
}

describe('the bundle', () => {
  test(`is smaller than ${BUNDLE_LIMIT} bytes`, () => {
    expect(Buffer.byteLength(bundleBackend())).toBeLessThan(BUNDLE_LIMIT);
  });

  test('runs standalone from flags, answers, and exits 0 on SIGTERM', async () => {
    const host = randomLoopback();
    const proxy = randomLoopback();
    const { child, finished } = run([
      bundlePath,
      '--name',
      'a',
      '--listen',
      `${host}:0`,
      '--trust-proxy',
      proxy,
      '--trust-proxy',
      '10.0.0.0/16',
    ]);
    const url = await readyUrl(child, finished);
    expect(url).toMatch(
      new RegExp(`^http://${host.replace(/\./g, '\\.')}:\\d+$`),
    );
    const reply = await request(url, {
      from: proxy,
      headers: { 'X-Forwarded-For': '203.0.113.7, 10.0.0.9' },
    });
    expect(JSON.parse(reply.body)).toMatchObject({
      backend: 'a',
      peer: proxy,
      clientIp: '203.0.113.7',
    });
    const done = await stop(child, finished);
    expect(done).toMatchObject({ code: 0, stderr: '' });
    expect(done.stdout).toBe(
      `listening on ${url} (backend a, trusting ${proxy}, 10.0.0.0/16)\n`,
    );
  });

  test('reads the environment the systemd unit sets', async () => {
    const host = randomLoopback();
    const proxy = randomLoopback();
    const env = {
      BACKEND_NAME: 'from-env',
      BACKEND_LISTEN: `${host}:0`,
      BACKEND_TRUSTED_PROXIES: ` ${proxy} , 192.0.2.0/24`,
    };
    const { child, finished } = run([bundlePath], env);
    const url = await readyUrl(child, finished);
    const reply = await request(url, {
      from: proxy,
      headers: { 'X-Real-IP': '203.0.113.8' },
    });
    expect(JSON.parse(reply.body)).toMatchObject({
      backend: 'from-env',
      clientIp: '203.0.113.8',
    });
    expect((await stop(child, finished)).code).toBe(0);
  });

  test.each([
    [
      'an unknown flag',
      ['--name', 'a', '--listen', '127.0.0.1:0', '--trust', '10.0.0.1'],
      /^backend: Unknown option '--trust'/,
    ],
    [
      'a stray argument',
      ['--name', 'a', '--listen', '127.0.0.1:0', 'extra'],
      /'extra'/,
    ],
    [
      'the name is missing',
      ['--listen', '127.0.0.1:0'],
      /^backend: --name \(or BACKEND_NAME\) is required; usage: /,
    ],
    [
      'listen has no port',
      ['--name', 'a', '--listen', '127.0.0.1'],
      /^backend: listen must be .*got "127.0.0.1"$/,
    ],
    [
      'listen has a hostname',
      ['--name', 'a', '--listen', 'localhost:3000'],
      /got "localhost:3000"$/,
    ],
    [
      'the port is out of range',
      ['--name', 'a', '--listen', '127.0.0.1:70000'],
      /got "127.0.0.1:70000"$/,
    ],
    [
      'a trusted proxy is bad',
      [
        '--name',
        'a',
        '--listen',
        '127.0.0.1:0',
        '--trust-proxy',
        '10.0.0.0/99',
      ],
      /got "10.0.0.0\/99"$/,
    ],
    [
      'a trusted proxy trusts everyone',
      ['--name', 'a', '--listen', '127.0.0.1:0', '--trust-proxy', '0.0.0.0/0'],
      /got "0.0.0.0\/0"$/,
    ],
  ])('exits 2 with one line when %s', async (_why, args, message) => {
    const done = await run([bundlePath, ...args]).finished;
    expect(done.code).toBe(2);
    expect(done.stdout).toBe('');
    expect(done.stderr).toMatch(/^[^\n]+\n$/);
    expect(done.stderr.trim()).toMatch(message);
  });

  test('exits 1 with one line when the address is taken', async () => {
    const host = randomLoopback();
    const first = run([bundlePath, '--name', 'a', '--listen', `${host}:0`]);
    const url = await readyUrl(first.child, first.finished);
    const done = await run([
      bundlePath,
      '--name',
      'b',
      '--listen',
      new URL(url).host,
    ]).finished;
    await stop(first.child, first.finished);
    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/^backend: listen EADDRINUSE[^\n]*\n$/);
  });
});

test('main.ts runs from source too (how the local topology may start it)', async () => {
  const host = randomLoopback();
  const main = path.join(__dirname, '../../lib/backend/main.ts');
  const { child, finished } = run(
    ['--import', 'tsx', main, '--name', 'src', '--listen', `${host}:0`],
    { NODE_PATH: '' },
  );
  const url = await readyUrl(child, finished);
  expect(JSON.parse((await request(url)).body).backend).toBe('src');
  expect((await stop(child, finished)).code).toBe(0);
  // tsx compiles the backend on start: seconds on a loaded machine.
}, 30_000);
