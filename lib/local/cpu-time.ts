/**
 * The CPU time a set of processes spends, read from the kernel: every thread of every process in the trees
 * under some root pids (nginx's master and its workers, HAProxy's process and its threads, a Node backend
 * and its helper threads). Time on any core, user and kernel alike (a proxy's syscalls included), in
 * nanoseconds: the first field of /proc/PID/task/TID/schedstat, the scheduler's sum_exec_runtime, which is
 * exact where /proc/PID/stat's utime and stime count in clock ticks (10 ms).
 */
import { readFile } from 'node:fs/promises';
import { childrenOfThreads, threadIds } from './processes';

/** Nanoseconds on CPU per thread id, at one moment. */
export type CpuSample = ReadonlyMap<number, number>;

/** A file under /proc, or undefined when its process or thread has gone meanwhile. */
async function readProc(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Every thread's CPU time in the process trees under `roots` (the roots, their children, theirs, …).
 * A root or child that has gone is simply not in the sample.
 */
export async function sampleCpu(roots: readonly number[]): Promise<CpuSample> {
  const sample = new Map<number, number>();
  const seen = new Set<number>();
  let level = [...new Set(roots)];
  while (level.length > 0) {
    for (const pid of level) seen.add(pid);
    const next = await Promise.all(
      level.map(async (pid) => {
        const threads = await threadIds(pid);
        const times = await Promise.all(
          threads.map((tid) => readProc(`/proc/${pid}/task/${tid}/schedstat`)),
        );
        threads.forEach((tid, i) => {
          const ns = Number(times[i]?.split(' ')[0]);
          if (Number.isFinite(ns)) sample.set(tid, ns);
        });
        // The same threads' children: the tree is read once per sample.
        return childrenOfThreads(pid, threads);
      }),
    );
    level = [...new Set(next.flat())].filter((pid) => !seen.has(pid));
  }
  return sample;
}

/**
 * Nanoseconds spent between two samples of the same processes. A thread that started in between counts
 * all its time; one that ended in between (or whose process did) counts nothing, since its last figure
 * went with it: the processes sampled here keep their threads for the whole measurement. A thread whose
 * time went down is a new thread that got a dead one's id, and counts as new.
 */
export function cpuSpentNs(before: CpuSample, after: CpuSample): number {
  let ns = 0;
  for (const [tid, now] of after) {
    const then = before.get(tid);
    ns += then !== undefined && then <= now ? now - then : now;
  }
  return ns;
}
