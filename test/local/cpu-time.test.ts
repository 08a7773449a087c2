import { ChildProcess, spawn } from 'node:child_process';
import {
  cpuSpentNs,
  sampleCpu,
  type CpuSample,
} from '../../lib/local/cpu-time';

/**
 * Burns `ms` of this process's CPU time (its own clock, so a busy machine makes it slower, never
 * shorter), then keeps its thread alive: a thread that ends takes its time with it.
 */
const burn = (ms: number) =>
  `const s = process.cpuUsage(); while ((u => u.user + u.system)(process.cpuUsage(s)) < ${ms * 1000}) {}`;

/** A Node process that waits for a line on stdin, then burns in a worker thread while its main thread waits. */
const WORKER_BURNER = `
const { Worker } = require('node:worker_threads');
console.log('started');
process.stdin.once('data', () => {
  new Worker(${JSON.stringify(`${burn(200)}; require('node:worker_threads').parentPort.postMessage(0); setInterval(() => {}, 1000);`)}, { eval: true })
    .once('message', () => console.log('burnt'));
});
setInterval(() => {}, 1000);
`;

/** A Node process that starts a child which does the burning; the parent itself only passes stdin on. */
const PARENT_OF_BURNER = `
const { spawn } = require('node:child_process');
const child = spawn(process.execPath, ['-e', ${JSON.stringify(`console.log('started ' + process.pid); process.stdin.once('data', () => { ${burn(200)}; console.log('burnt'); }); setInterval(() => {}, 1000);`)}], { stdio: ['pipe', 'inherit', 'inherit'] });
process.stdin.pipe(child.stdin);
setInterval(() => {}, 1000);
`;

const started: ChildProcess[] = [];
/** Grandchildren the tests learn of: they hold jest's stdout pipe open, so they are killed too. */
const grandchildren: number[] = [];
afterEach(() => {
  for (const pid of grandchildren.splice(0))
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  for (const child of started.splice(0)) child.kill('SIGKILL');
});

function start(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  started.push(child);
  return child;
}

function line(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const found = text.split('\n').find((l) => pattern.test(l));
      if (found === undefined) return;
      child.stdout?.off('data', onData);
      resolve(found);
    };
    child.stdout?.on('data', onData);
    child.once('exit', () => reject(new Error(`exited before ${pattern}`)));
  });
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => child.once('exit', () => resolve()));

/** At least this much of the 200 ms burnt must be seen: the burner's clock counts its other threads too. */
const SEEN_AT_LEAST_NS = 150e6;
/** What an idle process may spend in the same time (a timer, a wake-up), far below the burn. */
const IDLE_AT_MOST_NS = 30e6;

test('a busy process gains its CPU time, from every thread, while a sleeping one gains next to none', async () => {
  const busy = start(process.execPath, ['-e', WORKER_BURNER]);
  const sleeper = start('sleep', ['30']);
  await line(busy, /^started$/);
  const pids = [busy.pid as number, sleeper.pid as number];
  const [busyBefore, sleeperBefore] = await Promise.all(
    pids.map((p) => sampleCpu([p])),
  );
  busy.stdin?.write('go\n');
  await line(busy, /^burnt$/);
  const [busyAfter, sleeperAfter] = await Promise.all(
    pids.map((p) => sampleCpu([p])),
  );

  const spent = cpuSpentNs(busyBefore, busyAfter);
  expect(spent).toBeGreaterThanOrEqual(SEEN_AT_LEAST_NS);
  expect(cpuSpentNs(sleeperBefore, sleeperAfter)).toBeLessThan(IDLE_AT_MOST_NS);
  // The worker thread did the burning: the main thread (tid = pid) alone holds far less of it.
  const main = pids[0];
  expect(busyAfter.size).toBeGreaterThan(1);
  expect((busyAfter.get(main) ?? 0) - (busyBefore.get(main) ?? 0)).toBeLessThan(
    spent / 2,
  );
});

test("a child process's time counts for the root that started it", async () => {
  const parent = start(process.execPath, ['-e', PARENT_OF_BURNER]);
  const child = Number((await line(parent, /^started \d+$/)).split(' ')[1]);
  grandchildren.push(child);
  const before = await sampleCpu([parent.pid as number]);
  expect(before.has(child)).toBe(true);
  parent.stdin?.write('go\n');
  await line(parent, /^burnt$/);
  const after = await sampleCpu([parent.pid as number]);

  const spent = cpuSpentNs(before, after);
  expect(spent).toBeGreaterThanOrEqual(SEEN_AT_LEAST_NS);
  // The child's threads hold the burn; the parent's own only passed a line on.
  const childThreads = new Set((await sampleCpu([child])).keys());
  const only = (sample: CpuSample, keep: boolean) =>
    new Map([...sample].filter(([tid]) => childThreads.has(tid) === keep));
  expect(
    cpuSpentNs(only(before, true), only(after, true)),
  ).toBeGreaterThanOrEqual(SEEN_AT_LEAST_NS);
  expect(cpuSpentNs(only(before, false), only(after, false))).toBeLessThan(
    spent / 2,
  );
});

test('a pid that has gone gives an empty sample, and a live one beside it is still read', async () => {
  const gone = start('true', []);
  await exited(gone);
  const sleeper = start('sleep', ['30']);
  expect((await sampleCpu([gone.pid as number])).size).toBe(0);
  const both = await sampleCpu([gone.pid as number, sleeper.pid as number]);
  expect([...both.keys()]).toEqual([sleeper.pid]);
});

describe('cpuSpentNs', () => {
  test('adds each thread’s gain between the samples', () => {
    expect(
      cpuSpentNs(
        new Map([
          [10, 1000],
          [11, 500],
        ]),
        new Map([
          [10, 1600],
          [11, 900],
        ]),
      ),
    ).toBe(1000);
  });

  test('a thread that started in between counts all its time, one that ended counts nothing', () => {
    expect(
      cpuSpentNs(
        new Map([
          [10, 1000],
          [12, 7000],
        ]),
        new Map([
          [10, 1100],
          [13, 250],
        ]),
      ),
    ).toBe(350);
  });

  test('an id whose time went down belongs to a new thread and counts as new', () => {
    expect(cpuSpentNs(new Map([[10, 9000]]), new Map([[10, 40]]))).toBe(40);
  });
});
