/**
 * One benchmark run: the chosen figures in a fixed order (overhead first, while nothing else is
 * running; failover last for each topology, because it kills a backend), then the report and charts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { stopAllProcesses } from '../local/processes';
import { measureBuild, stopBuildProcesses } from './build-figures';
import { balanceChart, overheadChart, remapChart } from './charts';
import { measureDistribution } from './distribution';
import { measureFailover, type FailoverSettings } from './failover';
import { stopAllLoad } from './load';
import { stopAllPeers } from './haproxy-peer';
import { describeMachine } from './machine';
import { measureOverhead, type OverheadSettings } from './overhead';
import { CHART_DIR, CHART_FILES, renderReport } from './report';
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
  readonly clients: number;
  readonly concurrency: number;
  readonly failover: FailoverSettings;
  /** The unit tests are stopped (and reported as not finished) after this long. */
  readonly unitTestLimitSeconds: number;
}

/**
 * Quick fits in under 3 minutes on 2 shared cores; full runs longer load rounds, more of them, and
 * longer failover sessions. Both interleave the overhead rounds and keep the median, because other work
 * on a shared machine comes in bursts.
 */
export const MODES: Record<Mode, ModeSettings> = {
  quick: {
    overhead: { connections: 16, durationSeconds: 2, rounds: 3 },
    clients: 1000,
    concurrency: 32,
    failover: { sessions: 30, beforeMs: 1000, afterMs: 3000, paceMs: 50 },
    unitTestLimitSeconds: 120,
  },
  full: {
    overhead: { connections: 16, durationSeconds: 5, rounds: 5 },
    clients: 1000,
    concurrency: 32,
    failover: { sessions: 60, beforeMs: 3000, afterMs: 10_000, paceMs: 20 },
    unitTestLimitSeconds: 900,
  },
};

/** Stops whatever a run started: load, child processes, topologies. Safe to call more than once. */
export type Stopper = () => Promise<void>;

export async function runBench(
  plan: BenchPlan,
  progress: (message: string) => void,
  setStopper: (stop: Stopper) => void,
): Promise<BenchResults> {
  const started = Date.now();
  const settings = MODES[plan.mode];
  const pool = new TopologyPool((key) =>
    progress(
      `starting a local topology: ${key.naive ? "the seed's config" : `lb=${key.lb} sticky=${key.sticky}`}`,
    ),
  );
  const stopEverything = async () => {
    stopAllLoad();
    stopBuildProcesses();
    await stopAllPeers();
    await pool.close();
    await stopAllProcesses();
  };
  setStopper(stopEverything);
  const wants = (s: Scenario) => plan.scenarios.includes(s);
  const machine = await describeMachine();
  try {
    const overhead = wants('overhead')
      ? await measureOverhead(pool, settings.overhead, progress)
      : undefined;
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
          )
        : undefined;
    const failover = wants('failover')
      ? await measureFailover(pool, settings.failover, progress)
      : undefined;
    // The build figures run alone: the topologies would slow synth and the tests down.
    await pool.stopAll();
    const build = wants('build')
      ? await measureBuild(progress, settings.unitTestLimitSeconds)
      : undefined;
    return {
      date: new Date(started).toISOString().replace(/\.\d+Z$/, 'Z'),
      mode: plan.mode,
      command: plan.command,
      scenarios: plan.scenarios,
      machine: { ...machine, loadAverageAtEnd: loadavg()[0] },
      wallSeconds: (Date.now() - started) / 1000,
      overhead,
      balance: wants('balance') ? distribution?.balance : undefined,
      remap: wants('remap') ? distribution?.remap : undefined,
      failover,
      build,
    };
  } finally {
    await stopEverything();
  }
}

/** Writes BENCHMARKS.md and the charts under `outDir`; returns the files written. */
export async function writeOutputs(
  results: BenchResults,
  outDir: string,
): Promise<string[]> {
  const chartDir = path.join(outDir, CHART_DIR);
  const files: [string, string][] = [
    [path.join(outDir, 'BENCHMARKS.md'), renderReport(results)],
  ];
  if (results.overhead)
    files.push([
      path.join(chartDir, CHART_FILES.overhead),
      overheadChart(results.overhead),
    ]);
  if (results.balance?.length)
    files.push([
      path.join(chartDir, CHART_FILES.balance),
      balanceChart(results.balance),
    ]);
  if (results.remap?.length)
    files.push([
      path.join(chartDir, CHART_FILES.remap),
      remapChart(results.remap),
    ]);
  await mkdir(chartDir, { recursive: true });
  await Promise.all(files.map(([file, text]) => writeFile(file, text)));
  return files.map(([file]) => file);
}
