/**
 * The child processes a topology starts (HAProxy, nginx masters, backends), so that whatever happens (a failed
 * start, an exception, Ctrl-C, the process exiting) none of them outlives its parent. Ctrl-C reaches them
 * through the AbortSignal a run passes down; the `exit` hook below is only the last resort.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (at once if it already has). */
  readonly exited: Promise<void>;
  /** The last lines the process wrote to stdout and stderr, for error messages. */
  recentOutput(): string;
  /** Resolves with the first output line matching `pattern`; rejects if the process exits or time runs out. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL: no goodbye. */
  kill(): Promise<void>;
}

/** Processes still running, only for the `exit` hook (which cannot wait for a signal's listeners). */
const live = new Set<ManagedProcess>();
const OUTPUT_KEPT = 4096;

/** Starts `command`; when `abort` aborts (or already has), the process is stopped as by `stop()`. */
export function spawnManaged(
  name: string,
  command: string,
  args: readonly string[],
  abort?: AbortSignal,
  /** @default - this process's environment */
  env?: NodeJS.ProcessEnv,
): ManagedProcess {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let output = '';
  const lineWaiters = new Set<(line: string) => void>();
  let partial = '';
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-OUTPUT_KEPT);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) for (const waiter of lineWaiters) waiter(line);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let hasExited = false;
  const exited = new Promise<void>((resolve) => {
    const done = () => {
      hasExited = true;
      live.delete(managed);
      resolve();
    };
    child.once('exit', done);
    child.once('error', (err) => {
      output += `\n${err.message}`;
      done();
    });
  });

  const signal = async (sig: NodeJS.Signals, graceMs: number) => {
    if (hasExited) return;
    child.kill(sig);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  const managed: ManagedProcess = {
    name,
    child,
    exited,
    recentOutput: () => output.trim(),
    waitForLine(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const finish = (err: Error | undefined, line?: string) => {
          lineWaiters.delete(onLine);
          clearTimeout(timer);
          if (err) reject(err);
          else resolve(line as string);
        };
        const onLine = (line: string) => {
          if (pattern.test(line)) finish(undefined, line);
        };
        const timer = setTimeout(
          () =>
            finish(
              new Error(
                `${name} did not get ready in ${timeoutMs} ms: ${problemLine(output)}`,
              ),
            ),
          timeoutMs,
        );
        lineWaiters.add(onLine);
        exited.then(() =>
          finish(
            new Error(`${name} exited while starting: ${problemLine(output)}`),
          ),
        );
      });
    },
    stop: (graceMs = 5000) => signal('SIGTERM', graceMs),
    kill: () => signal('SIGKILL', 0),
  };
  live.add(managed);
  if (abort) {
    const onAbort = () => void managed.stop();
    if (abort.aborted) onAbort();
    else {
      abort.addEventListener('abort', onAbort, { once: true });
      exited.then(() => abort.removeEventListener('abort', onAbort));
    }
  }
  return managed;
}

/** The line that says what went wrong: the first alert or error if there is one, else the last line. */
function problemLine(text: string): string {
  const lines = text.trim().split('\n');
  return (
    lines.find((l) => /alert|emerg|error/i.test(l)) ??
    (lines[lines.length - 1] || '(no output)')
  );
}

/**
 * Last resort when the parent exits without stopping its topologies: `exit` handlers cannot wait, so this only
 * sends SIGTERM (nginx and HAProxy then shut down their workers themselves).
 */
process.on('exit', () => {
  for (const p of live) p.child.kill('SIGTERM');
});

/** Resolves once `host:port` accepts connections; rejects if `process` exits first or time runs out. */
export async function waitUntilListening(
  managed: ManagedProcess,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  managed.exited.then(() => (exited = true));
  while (!(await accepts(host, port))) {
    if (exited)
      throw new Error(
        `${managed.name} exited while starting: ${problemLine(managed.recentOutput())}`,
      );
    if (Date.now() > deadline)
      throw new Error(
        `${managed.name} did not listen on ${host}:${port} in ${timeoutMs} ms`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `waitUntilListening`, and when the process does not come up, it is stopped before the error is rethrown. */
export async function listeningOrStopped(
  managed: ManagedProcess,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<void> {
  try {
    await waitUntilListening(managed, host, port, timeoutMs);
  } catch (err) {
    await managed.stop();
    throw err;
  }
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The thread ids of process `pid`; none when it has gone. */
export async function threadIds(pid: number): Promise<number[]> {
  try {
    return (await readdir(`/proc/${pid}/task`)).map(Number);
  } catch {
    return [];
  }
}

/**
 * The processes `pid` started (nginx's workers, HAProxy's worker); none when it has none or is gone. Read
 * from /proc, as `pgrep -P` would find them, without starting a process.
 */
export async function childPids(pid: number): Promise<number[]> {
  return childrenOfThreads(pid, await threadIds(pid));
}

/** The processes that `threads` of process `pid` started: each thread lists them in its `children`. */
export async function childrenOfThreads(
  pid: number,
  threads: readonly number[],
): Promise<number[]> {
  const lists = await Promise.all(
    threads.map((tid) =>
      readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => ''),
    ),
  );
  return lists.flatMap((l) => l.split(/\s+/).filter(Boolean)).map(Number);
}

/**
 * SIGKILL to a master and the children it started, as a crashed machine would end them: killing the master
 * alone leaves its workers serving.
 */
export async function killWithChildren(master: ManagedProcess): Promise<void> {
  const children = await childPids(master.child.pid as number);
  await master.kill();
  for (const pid of children)
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
}
