import * as path from 'node:path';
import { parseStrictArgs } from './args';
import { SCENARIOS, type Scenario } from '../bench/results';
import {
  runBench,
  writeOutputs,
  type BenchPlan,
  type Mode,
} from '../bench/run';
import { checkTargets } from '../bench/targets';
import { UserError } from '../errors';

export const BENCH_USAGE = `usage: sticky-edge bench [--quick | --full] [--only LIST] [--out DIR] [--json]

Measures, side by side on the local topology (real nginx, HAProxy and demo backends on 127.0.0.0/8):
proxy overhead, instructions per request, balance per strategy, scale-out/scale-in remap, failover,
faults (crash, hang, black hole, return, node loss, reload beside the HAProxy peer), and build figures.
Writes DIR/BENCHMARKS.md (charts are Mermaid blocks in it). Progress goes to stderr.
The overhead figure needs wrk (apt-get install wrk; npm run setup installs it); the instructions figure
needs valgrind, and is left out, with a note in the report, without it.

options:
  --quick      short load runs, about 10 minutes on 2 cores (the default)
  --full       longer and more load rounds per path, longer failover and fault runs
  --only LIST  comma-separated figures to measure: ${SCENARIOS.join(', ')} (default: all)
  --out DIR    where to write the report (default: the current directory)
  --json       also print the results as JSON on stdout
  --help       show this help`;

export interface BenchArgs extends BenchPlan {
  readonly json: boolean;
  readonly outDir: string;
}

function parseOnly(value: string | undefined): Scenario[] {
  if (value === undefined) return [...SCENARIOS];
  const names = value.split(',').map((s) => s.trim());
  const bad = names.find(
    (name) => !(SCENARIOS as readonly string[]).includes(name),
  );
  if (bad !== undefined || names.length === 0) {
    throw new UserError(
      `--only must be a comma-separated list of ${SCENARIOS.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  // Run order is fixed (see runBench), whatever order the flag names them in.
  return SCENARIOS.filter((s) => names.includes(s));
}

/** The command that reproduces a run, as written in the report. */
function reproduceCommand(mode: Mode, only: string | undefined): string {
  const flags = [
    ...(mode === 'full' ? ['--full'] : []),
    ...(only === undefined ? [] : [`--only ${only}`]),
  ];
  return flags.length ? `npm run bench -- ${flags.join(' ')}` : 'npm run bench';
}

/** Parses the flags; `undefined` means `--help` was asked for. Bad flags throw a one-line error. */
export function parseBenchArgs(
  argv: string[],
  cwd = process.cwd(),
): BenchArgs | undefined {
  const { values } = parseStrictArgs(
    {
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean' },
        full: { type: 'boolean' },
        only: { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    { checksEmpty: ['only', 'out'] },
  );
  if (values.help) return undefined;
  if (values.quick && values.full)
    throw new UserError('--quick and --full cannot be used together');
  if (values.out !== undefined && values.out.trim() === '')
    throw new UserError('--out must be a directory, got ""');
  const mode: Mode = values.full ? 'full' : 'quick';
  return {
    mode,
    scenarios: parseOnly(values.only),
    command: reproduceCommand(mode, values.only),
    json: values.json ?? false,
    outDir: path.resolve(cwd, values.out ?? '.'),
  };
}

function elapsedSince(start: number): string {
  const s = Math.floor((Date.now() - start) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseBenchArgs(argv);
  if (args === undefined) {
    process.stdout.write(BENCH_USAGE + '\n');
    return 0;
  }
  const start = Date.now();
  const progress = (message: string) =>
    process.stderr.write(`[bench ${elapsedSince(start)}] ${message}\n`);
  // Ctrl-C aborts the run, which stops everything it started before runBench returns. A second Ctrl-C
  // is Node's default: leave at once.
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: stopping everything the benchmark started`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    progress(`${args.mode} run of ${args.scenarios.join(', ')}`);
    const results = await runBench(args, progress, controller.signal);
    const files = await writeOutputs(results, args.outDir);
    const checks = checkTargets(results);
    const missed = checks.filter((c) => c.met === false).map((c) => c.target);
    progress(
      `wrote ${files.map((f) => path.relative(process.cwd(), f) || f).join(', ')}`,
    );
    progress(
      `${checks.length - missed.length} of ${checks.length} targets met${missed.length ? `; missed: ${missed.join('; ')}` : ''}`,
    );
    if (args.json)
      process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    return 0;
  } catch (err) {
    // Interrupted: the run unwinds with errors from the processes it was using; they are not news.
    if (controller.signal.aborted) return 130;
    if (err instanceof UserError) throw err;
    throw new UserError(
      `benchmark failed: ${(err as Error).message.split('\n')[0]}`,
      1,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
