/** One cancellation path: aborting the signal a topology was started with stops all of it. */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { spawnManaged } from '../../lib/local/processes';
import { startTopology } from '../../lib/local/topology';

jest.setTimeout(90_000);

let tempParent: string;
beforeEach(async () => {
  tempParent = await mkdtemp(path.join(tmpdir(), 'sticky-edge-abort-test-'));
});
afterEach(async () => {
  await rm(tempParent, { recursive: true, force: true });
});

/** Processes whose command line names the private temp directory (nginx -p, haproxy -f, node backend.js). */
async function processesUnder(dir: string): Promise<string> {
  try {
    return (await promisify(execFile)('pgrep', ['-af', dir])).stdout.trim();
  } catch {
    return '';
  }
}

const topologyDirs = async () =>
  (await readdir(tempParent)).filter((n) => n.startsWith('sticky-edge-local-'));

/** Polls until nothing runs under the temp directory, or gives up after `ms`. */
async function nothingLeftAfter(ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  let left = await processesUnder(tempParent);
  while (left !== '' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = await processesUnder(tempParent);
  }
  return left;
}

test('aborting stops a running topology: every process, and its directory', async () => {
  const controller = new AbortController();
  const topology = await startTopology({
    lb: 'alb',
    sticky: 'cookie',
    tempParent,
    signal: controller.signal,
  });
  expect(await processesUnder(tempParent)).not.toBe('');
  controller.abort();
  // No stop() here: the abort alone must do it.
  expect(await nothingLeftAfter(10_000)).toBe('');
  const deadline = Date.now() + 5000;
  while ((await topologyDirs()).length > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await topologyDirs()).toEqual([]);
  await topology.stop(); // the same clean-up, already done: resolves at once
});

test('aborting while the topology starts stops what had started, and the start rejects', async () => {
  const controller = new AbortController();
  const starting = startTopology({
    lb: 'nlb',
    sticky: 'ip_hash',
    tempParent,
    signal: controller.signal,
  });
  // Long enough for some processes to have started, too short for all of them.
  await new Promise((resolve) => setTimeout(resolve, 300));
  controller.abort();
  await expect(starting).rejects.toThrow();
  expect(await nothingLeftAfter(10_000)).toBe('');
  // A process stopped by the abort may still be exiting when the start rejects; its directory goes with it.
  const deadline = Date.now() + 5000;
  while ((await topologyDirs()).length > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await topologyDirs()).toEqual([]);
});

test('fails when the signal has already aborted, starting nothing', async () => {
  const controller = new AbortController();
  controller.abort(new Error('stopped before the start'));
  await expect(
    startTopology({
      lb: 'nlb',
      sticky: 'hash',
      tempParent,
      signal: controller.signal,
    }),
  ).rejects.toThrow('stopped before the start');
  expect(await topologyDirs()).toEqual([]);
});

test('a managed process stops when its signal aborts, and at once when it already has', async () => {
  const controller = new AbortController();
  const sleeper = spawnManaged('sleep', 'sleep', ['60'], controller.signal);
  controller.abort();
  await sleeper.exited;
  expect(sleeper.child.signalCode).toBe('SIGTERM');
  const late = spawnManaged('sleep', 'sleep', ['60'], controller.signal);
  await late.exited;
  expect(late.child.signalCode).toBe('SIGTERM');
});
