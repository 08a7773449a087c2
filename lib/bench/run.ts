/**
 * One benchmark run: the chosen figures in a fixed order (overhead first, while nothing else is
 * running; failover last for each topology, because it kills a backend), then the report.
 */
import { execFileSync } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import * as path from 'node:path';
import { measureBuild } from './build-figures';
import { measureDistribution } from './distribution';
import { measureDrainFigure, type DrainSettings } from './drain';
import { measureFailover, type FailoverSettings } from './failover';
import { measureFaults, type FaultSettings } from './faults';
import { measureInstructions, type InstructionSettings } from './instructions';
import { findWrk } from './load';
import { describeMachine } from './machine';
import {
  measureOverhead,
  wrkPlacement,
  type OverheadSettings,
} from './overhead';
import { renderReport } from './report';
import { measureScale, type ScaleSettings } from './scale';
import type { BenchResults, Scenario } from './results';
import { TopologyPool } from './topology-pool';

export type Mode = 'quick' | 'full';

export interface BenchPlan {
  readonly mode: Mode;
  readonly scenarios: readonly Scenario[];
  /** The command that reproduces this run, for the report. */
  readonly command: string;
}

interface ModeSettings {
  readonly overhead: OverheadSettings;
  readonly instructions: InstructionSettings;
  readonly clients: number;
  readonly concurrency: number;
  readonly failover: FailoverSettings;
  readonly faults: FaultSettings;
  readonly scale: ScaleSettings;
  readonly drain: DrainSettings;
  /** The unit tests are stopped (and reported as not finished) after this long. */
  readonly unitTestLimitSeconds: number;
}

/**
 * Quick fits in about 10 minutes on 2 shared cores (the faults figure 3 to 6 of them); full runs longer load rounds (10 s, as wrk's figures
 * settle), more of them, and longer failover sessions. Both interleave the overhead rounds and report the
 * median and spread, because other work on a shared machine comes in bursts. The paths the targets compare
 * get more, shorter rounds, paired round by round: 15 in both modes give the median ratio an interval of
 * 96.5 % coverage (the 4th from each end; 9 would give 96 % from the 2nd from each end, an interval twice as
 * wide on this machine, where single 1 s rounds of one path ranged over ±20 %), so the report can say
 * whether a difference of a few percent stands out of the run's noise. Quick mode's wrk time grows from 63 s
 * to 108 s. One wrk thread with 32 connections keeps a 2-core machine's proxies busy while
 * leaving them most of the CPU.
 */
export const MODES: Record<Mode, ModeSettings> = {
  quick: {
    overhead: {
      threads: 1,
      connections: 32,
      durationSeconds: 2,
      rounds: 3,
      warmUpSeconds: 1,
      pairedRounds: 15,
      pairedSeconds: 1,
    },
    // Five processes, each started twice under callgrind: about 45 s.
    instructions: { shortRequests: 400, longRequests: 2000, connections: 4 },
    clients: 1000,
    concurrency: 32,
    failover: { sessions: 30, beforeMs: 1000, afterMs: 3000, paceMs: 50 },
    faults: {
      sessions: 40,
      settleMs: 1500,
      windowMs: 4000,
      paceMs: 50,
      newcomerEveryMs: 100,
    },
    scale: { clients: 40, phaseMs: 3000, drainMs: 2000, paceMs: 50 },
    drain: { clients: 100, rounds: 3 },
    unitTestLimitSeconds: 120,
  },
  full: {
    overhead: {
      threads: 1,
      connections: 32,
      durationSeconds: 10,
      rounds: 5,
      warmUpSeconds: 2,
      pairedRounds: 15,
      pairedSeconds: 3,
    },
    instructions: { shortRequests: 1000, longRequests: 6000, connections: 4 },
    clients: 1000,
    concurrency: 32,
    failover: { sessions: 60, beforeMs: 3000, afterMs: 10_000, paceMs: 20 },
    faults: {
      sessions: 60,
      settleMs: 3000,
      windowMs: 8000,
      paceMs: 20,
      newcomerEveryMs: 100,
    },
    scale: { clients: 100, phaseMs: 10_000, drainMs: 5000, paceMs: 20 },
    drain: { clients: 300, rounds: 4 },
    unitTestLimitSeconds: 900,
  },
};

/**
 * With 3 or more cores the benchmark (and so every proxy and backend it starts: children inherit the
 * affinity) leaves the last core to wrk; see `wrkPlacement`.
 */
function pinAwayFromWrk(progress: (message: string) => void): void {
  const { othersCpus } = wrkPlacement(availableParallelism());
  if (othersCpus === undefined) return;
  try {
    execFileSync(
      'taskset',
      ['-a', '-p', '-c', othersCpus, String(process.pid)],
      {
        stdio: 'ignore',
      },
    );
  } catch (err) {
    progress(
      `could not pin the benchmark to cores ${othersCpus} (${(err as Error).message.split('\n')[0]}); wrk shares its core`,
    );
  }
}

/**
 * Runs the plan's figures. `signal` is the one way to stop a run: aborting it kills wrk and the build
 * commands at once and stops every topology, and the run then rejects with the signal's reason, after
 * every process it started has stopped.
 */
export async function runBench(
  plan: BenchPlan,
  progress: (message: string) => void,
  signal: AbortSignal,
): Promise<BenchResults> {
  signal.throwIfAborted();
  // Every process of the run listens on the signal (and stops listening when it exits): no leak to warn of.
  setMaxListeners(0, signal);
  const started = Date.now();
  const settings = MODES[plan.mode];
  const pool = new TopologyPool(
    (key) =>
      progress(
        `starting a local topology: ${key.naive ? "the seed's config" : `lb=${key.lb} sticky=${key.sticky}${key.roundRobin ? ' without stickiness (round-robin)' : ''}`}`,
      ),
    // Aborting stops the topologies at once, so every request in flight fails fast and the run unwinds.
    signal,
  );
  const wants = (s: Scenario) => plan.scenarios.includes(s);
  // A missing wrk is reported before anything starts, not after the topologies are up.
  if (wants('overhead')) findWrk();
  try {
    if (wants('overhead')) pinAwayFromWrk(progress);
    const machine = await describeMachine();
    const overhead = wants('overhead')
      ? await measureOverhead(pool, settings.overhead, progress, signal)
      : undefined;
    signal.throwIfAborted();
    // Counts, not timings: the machine's load does not move them, but they use the overhead figure's backends.
    const instructions = wants('instructions')
      ? await measureInstructions(pool, settings.instructions, progress, signal)
      : undefined;
    signal.throwIfAborted();
    const distribution =
      wants('balance') || wants('remap')
        ? await measureDistribution(
            pool,
            {
              clients: settings.clients,
              concurrency: settings.concurrency,
              balance: wants('balance'),
              remap: wants('remap'),
            },
            progress,
            signal,
          )
        : undefined;
    signal.throwIfAborted();
    // Before failover, which kills a backend of the same topologies; the tier ends at 2 nodes again.
    const scale = wants('scale')
      ? await measureScale(pool, settings.scale, progress, signal)
      : undefined;
    signal.throwIfAborted();
    // Before failover too; the drain is lifted at its end, so failover finds both backends in service.
    const drain = wants('drain')
      ? await measureDrainFigure(pool, settings.drain, progress, signal)
      : undefined;
    signal.throwIfAborted();
    const failover = wants('failover')
      ? await measureFailover(pool, settings.failover, progress, signal)
      : undefined;
    signal.throwIfAborted();
    // The faults figure starts topologies of its own (it breaks their backends and nodes); the pool's rest.
    await pool.stopAll();
    const faults = wants('faults')
      ? await measureFaults(settings.faults, progress, signal)
      : undefined;
    signal.throwIfAborted();
    // The build figures run alone: the topologies would slow synth and the tests down.
    const build = wants('build')
      ? await measureBuild(progress, settings.unitTestLimitSeconds, signal)
      : undefined;
    return {
      date: new Date(started).toISOString().replace(/\.\d+Z$/, 'Z'),
      mode: plan.mode,
      command: plan.command,
      scenarios: plan.scenarios,
      machine: { ...machine, loadAverageAtEnd: loadavg()[0] },
      wallSeconds: (Date.now() - started) / 1000,
      overhead,
      instructions,
      balance: wants('balance') ? distribution?.balance : undefined,
      remap: wants('remap') ? distribution?.remap : undefined,
      scale,
      drain,
      failover,
      faults,
      build,
    };
  } finally {
    await pool.close();
  }
}

/** Writes BENCHMARKS.md under `outDir` (the charts are Mermaid blocks inside it); returns the file. */
export async function writeOutputs(
  results: BenchResults,
  outDir: string,
): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const file = path.join(outDir, 'BENCHMARKS.md');
  await writeFile(file, renderReport(results));
  return [file];
}
