/**
 * BENCHMARKS.md, written from a run's results: the prose lives in `report.template.md`, this module
 * fills in the figures, tables and charts. Targets are shown as met or missed, never hidden.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { balanceChart, overheadChart, remapChart } from './charts';
import {
  LOAD_PATHS,
  MIX_LABELS,
  remapLabel,
  type BenchResults,
  type BuildResult,
  type FailoverRow,
  type FaultRow,
  type FaultsResult,
  FAULT_CONFIGS,
  FAULT_KINDS,
  type InstructionPath,
  type InstructionsResult,
  type OverheadResult,
  type ScaleRow,
  type DrainRow,
  type Spread,
} from './results';
import {
  idealRemap,
  ratio,
  shares,
  worstDeviationFromIdeal,
} from './statistics';
import {
  CEILING_MARGIN,
  checkTargets,
  PROXIED_PATHS,
  synthRatioOf,
} from './targets';
import { fillTemplate, type TemplateValues } from './template';

export const TEMPLATE_FILE = path.join(__dirname, 'report.template.md');

const pct = (x: number) =>
  Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : 'n/a';
const times = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');
const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x)} ms` : 'n/a');
/** Latencies of a local hop are often below a millisecond: keep two decimals there. */
export const latency = (x: number) =>
  Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : Math.round(x)} ms` : 'n/a';
/** CPU time per request, from a few µs to a few hundred. */
const micros = (x: number) =>
  Number.isFinite(x) ? `${x < 100 ? x.toFixed(1) : Math.round(x)} µs` : 'n/a';
const count = (x: number) =>
  Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a';

/** A median with its spread: `12,345 (12,001–12,890)`. */
function withSpread(s: Spread, format: (x: number) => string): string {
  return `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}

export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const line = (cells: readonly string[]) =>
    `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join(
    '\n',
  );
}

export function renderReport(
  results: BenchResults,
  template = readFileSync(TEMPLATE_FILE, 'utf8'),
): string {
  return fillTemplate(template, reportValues(results));
}

/** Every placeholder and section switch of the template, from one run's results. */
export function reportValues(r: BenchResults): TemplateValues {
  const m = r.machine;
  return {
    date: r.date,
    mode: r.mode,
    scenarios: r.scenarios.join(', '),
    wallSeconds: String(Math.round(r.wallSeconds)),
    command: r.command,
    cores: String(m.cores),
    machineTable: machineTable(r),
    busy: m.loadAverageAtStart >= m.cores / 2,
    loadAtStart: m.loadAverageAtStart.toFixed(2),
    ...targetValues(r),
    ...(r.overhead ? overheadValues(r.overhead, m.wrk) : {}),
    ...(r.instructions ? instructionsValues(r.instructions) : {}),
    ...(r.balance?.length ? balanceValues(r) : {}),
    ...(r.remap?.length ? remapValues(r) : {}),
    ...(r.scale?.length
      ? {
          scale: true,
          scaleClients: String(r.scale[0].clients),
          scalePhases: scalePhases(r.scale[0]),
          scaleDrain: `${r.scale[0].drainMs / 1000} s`,
          scaleTable: scaleTable(r.scale),
        }
      : {}),
    ...(r.drain?.length
      ? {
          drain: true,
          drainClients: String(r.drain[0].clients),
          drainNodes: String(r.drain[0].nodes),
          drainTable: drainTable(r.drain),
        }
      : {}),
    ...(r.failover?.length
      ? { failover: true, failoverTable: failoverTable(r.failover) }
      : {}),
    ...(r.faults?.rows.length ? faultsValues(r.faults) : {}),
    ...(r.build
      ? {
          build: true,
          buildTable: buildTable(r.build),
          buildProblems: r.build.problems.map((p) => `- ${p}`).join('\n'),
        }
      : {}),
  };
}

function machineTable({ machine: m }: BenchResults): string {
  const loads = [
    m.loadAverageAtStart,
    ...(m.loadAverageAtEnd === undefined ? [] : [m.loadAverageAtEnd]),
  ];
  return table(
    [
      'CPU',
      'cores',
      'memory',
      'OS',
      'Node.js',
      'nginx',
      'HAProxy',
      'wrk',
      'load average at start / end',
    ],
    [
      [
        m.cpuModel,
        String(m.cores),
        `${m.memoryGiB} GiB`,
        m.os,
        m.node,
        m.nginx,
        m.haproxy,
        m.wrk,
        loads.map((l) => l.toFixed(2)).join(' / '),
      ],
    ],
  );
}

function targetValues(r: BenchResults): TemplateValues {
  const checks = checkTargets(r);
  const missed = checks.filter((c) => c.met === false).length;
  return {
    targetsSummary:
      checks.length === 0
        ? 'No figure with a target was measured in this run.'
        : `${checks.length - missed} of ${checks.length} targets met${missed ? `, ${missed} missed` : ''}.`,
    targetsTable: table(
      ['target', 'measured', 'verdict'],
      checks.map((c) => [
        c.target,
        c.measured,
        c.met === undefined ? 'not measured' : c.met ? 'met' : '**missed**',
      ]),
    ),
  };
}

/** Whether the generator's ceiling clears every proxied path by the margin, in one sentence. */
export function ceilingVerdict(o: OverheadResult): string {
  const ceiling = o.rows.find((r) => r.path === 'static-nginx');
  const proxied = o.rows.filter((r) => PROXIED_PATHS.includes(r.path));
  if (!ceiling || proxied.length === 0)
    return 'The ceiling was not measured in this run, so whether the generator capped the figures is not known.';
  const fastest = Math.max(...proxied.map((r) => r.requestsPerSecond.median));
  const margin = ceiling.requestsPerSecond.median / fastest;
  return margin >= CEILING_MARGIN
    ? `It is ${times(margin)} the fastest proxied path, above the ${CEILING_MARGIN}× margin: the proxies, not the generator, set the figures below.`
    : `**This run is capped:** the ceiling is only ${times(margin)} the fastest proxied path (below the ${CEILING_MARGIN}× margin), so the generator and the proxies compete for the cores and the differences below are understated.`;
}

function overheadValues(o: OverheadResult, wrkVersion: string): TemplateValues {
  const direct = o.rows.find((row) => row.path === 'direct');
  const load = o.loadAverage;
  return {
    overhead: true,
    wrkVersion,
    threads: String(o.threads),
    connections: String(o.connections),
    rounds: String(o.rounds),
    durationSeconds: String(o.durationSeconds),
    warmUp: `${o.warmUpSeconds} s`,
    pinning: o.pinning,
    loadDuring: withSpread(load, (x) => x.toFixed(2)),
    ceilingVerdict: ceilingVerdict(o),
    nginxLogs: o.nginxLogs,
    nginxQuiet: !o.nginxLogs,
    overheadTable: table(
      [
        'path',
        'what is in the way',
        'requests/s (min–max)',
        '× direct',
        'p50',
        'p99 (min–max)',
        'proxy CPU per request (min–max)',
        'backend CPU per request (min–max)',
        'failed',
      ],
      o.rows.map((row) => [
        `\`${row.path}\``,
        LOAD_PATHS[row.path],
        withSpread(row.requestsPerSecond, count),
        times(
          ratio(
            row.requestsPerSecond.median,
            direct?.requestsPerSecond.median ?? 0,
          ),
        ),
        latency(row.p50Ms.median),
        withSpread(row.p99Ms, latency),
        row.proxyCpuUs ? withSpread(row.proxyCpuUs, micros) : '–',
        row.backendCpuUs ? withSpread(row.backendCpuUs, micros) : '–',
        `${row.failed} of ${count(row.requests)}`,
      ]),
    ),
    overheadChart: overheadChart(o),
    pairedPaths: o.paired.paths.map((p) => `\`${p}\``).join(', '),
    pairedRounds: String(o.paired.rounds),
    pairedSeconds: String(o.paired.durationSeconds),
    pairedTable: pairedTable(o),
  };
}

/**
 * Each paired ratio: its median, the median's interval and coverage, and the least and greatest round;
 * the throughput ratios the targets read, then the CPU-per-request ones, shown only.
 */
function pairedTable(o: OverheadResult): string {
  const x = (r: number) => (Number.isFinite(r) ? `×${r.toFixed(3)}` : 'n/a');
  const figures = [
    ...o.paired.ratios.map((r) => ({ ...r, figure: 'requests/s' })),
    ...o.paired.cpuRatios.map((r) => ({
      ...r,
      figure: 'proxy CPU per request (informational, no target)',
    })),
  ];
  return table(
    [
      'path / base',
      'figure',
      'median of the paired ratios',
      'interval of the median',
      'coverage',
      'least–greatest round',
      'rounds',
    ],
    figures.map((r) => [
      `\`${r.path}\` / \`${r.base}\``,
      r.figure,
      x(r.median),
      `${x(r.low)}–${x(r.high)}`,
      pct(r.confidence),
      `${x(Math.min(...r.perRound))}–${x(Math.max(...r.perRound))}`,
      String(r.perRound.length),
    ]),
  );
}

/** What each path of the instructions figure runs, as one process. */
const INSTRUCTION_LABELS: Record<InstructionPath, string> = {
  'haproxy-peer':
    'HAProxy doing the sticky job (cookie insert, redispatch), one thread',
  'nginx-cookie': 'one nginx process as shipped, `cookie` strategy',
  'nginx-ip_hash': 'one nginx process as shipped, `ip_hash` strategy',
  'nginx-hash': 'one nginx process as shipped, `hash` strategy',
  'nginx-round-robin':
    'one nginx process, the `ip_hash` config without `ip_hash`, to one backend',
};

function instructionsValues(i: InstructionsResult): TemplateValues {
  const perRequestOf = (p: InstructionPath) =>
    i.rows.find((row) => row.path === p)?.perRequest ?? Number.NaN;
  const peer = perRequestOf('haproxy-peer');
  const roundRobin = perRequestOf('nginx-round-robin');
  return {
    instructions: true,
    instructionsSkipped: i.skipped ?? '',
    instructionsMeasured: i.rows.length > 0,
    valgrindVersion: i.valgrind ?? 'unknown',
    instructionsConnections: String(i.connections),
    instructionsShort: i.shortRequests.toLocaleString('en-US'),
    instructionsLong: i.longRequests.toLocaleString('en-US'),
    instructionsLogs: i.nginxLogs,
    instructionsQuiet: !i.nginxLogs,
    instructionsTable: table(
      [
        'path',
        'what runs',
        'instructions per request',
        '× HAProxy peer',
        '× round-robin',
        'requests (short / long run)',
        'failed',
      ],
      i.rows.map((row) => [
        `\`${row.path}\``,
        INSTRUCTION_LABELS[row.path],
        count(row.perRequest),
        times(ratio(row.perRequest, peer)),
        times(ratio(row.perRequest, roundRobin)),
        `${count(row.short.requests)} / ${count(row.long.requests)}`,
        String(row.short.failed + row.long.failed),
      ]),
    ),
  };
}

function balanceValues(r: BenchResults): TemplateValues {
  const rows = r.balance ?? [];
  return {
    balance: true,
    balanceTable: table(
      [
        'strategy',
        'client mix',
        'share per backend',
        'ideal',
        'worst backend off ideal',
        'failed',
      ],
      rows.map((row) => {
        const s = shares(row.counts);
        return [
          row.strategy,
          MIX_LABELS[row.mix],
          s.map((share, i) => `${row.backends[i]} ${pct(share)}`).join(', '),
          pct(1 / row.counts.length),
          pct(worstDeviationFromIdeal(s)),
          String(row.failed),
        ];
      }),
    ),
    balanceChart: balanceChart(rows),
  };
}

function remapValues(r: BenchResults): TemplateValues {
  const rows = r.remap ?? [];
  return {
    remap: true,
    remapTable: table(
      [
        'strategy',
        'change',
        'moved',
        'ideal',
        '× ideal',
        'moved needlessly',
        'failed',
      ],
      rows.map((row) => {
        const moved = row.moved / row.clients;
        const ideal = idealRemap(row.from, row.to);
        return [
          remapLabel(row),
          `${row.from} → ${row.to}`,
          pct(moved),
          pct(ideal),
          times(moved / ideal),
          pct(row.movedNeedlessly / row.clients),
          String(row.failed),
        ];
      }),
    ),
    remapChart: remapChart(rows),
  };
}

/** `for 3 s on 2 nodes, 3 s on 4 nodes and 3 s on 2 nodes again` */
function scalePhases(row: ScaleRow): string {
  const s = `${row.phaseMs / 1000} s`;
  return `for ${s} on ${row.fromNodes} nodes, ${s} on ${row.toNodes} nodes and ${s} on ${row.fromNodes} nodes again`;
}

export function scaleTable(rows: readonly ScaleRow[]): string {
  return table(
    [
      'strategy',
      'nodes',
      'clients',
      'requests (during join / leave)',
      'failed',
      'sessions moved',
      'served by the joining nodes',
      'join took',
      'leave took (drain included)',
    ],
    rows.map((row) => [
      row.strategy,
      `${row.fromNodes} → ${row.toNodes} → ${row.fromNodes}`,
      String(row.clients),
      `${count(row.requests)} (${count(row.duringJoin)} / ${count(row.duringLeave)})`,
      String(row.failed),
      `${row.moved} of ${row.clients}`,
      `${count(row.servedByJoined)} (${pct(row.servedByJoined / row.requests)})${row.unlogged ? `; ${row.unlogged} answered requests in no log` : ''}`,
      ms(row.joinMs),
      ms(row.leaveMs),
    ]),
  );
}

export function drainTable(rows: readonly DrainRow[]): string {
  return table(
    [
      'strategy',
      'drained',
      'sessions on it before',
      'during the roll: new clients on it',
      'its sessions moved',
      'after: new clients on it',
      'its sessions moved',
      'other clients moved',
      'failed',
      'health agent down marks',
    ],
    rows.map((row) => [
      row.strategy,
      `${row.drained.join(', ')} of ${row.backends}`,
      `${row.pinnedOnDrained} of ${row.clients}`,
      `${row.rollNewOnDrained} of ${row.rollNewClients}`,
      `${row.rollPinnedMoved} of ${row.pinnedOnDrained}`,
      `${row.newOnDrained} of ${row.newClients}`,
      `${row.pinnedMoved} of ${row.pinnedOnDrained}`,
      String(row.othersMoved),
      `${row.failed} of ${count(row.requests)}`,
      String(row.agentDownMarks),
    ]),
  );
}

function failoverTable(rows: readonly FailoverRow[]): string {
  return table(
    [
      'config',
      'sessions (on the dead backend)',
      'requests',
      'failed',
      're-pinned',
      'time to re-pin p50',
      'max',
      'observed after kill',
    ],
    rows.map((row) => [
      row.config,
      `${row.sessions} (${row.sessionsOnDeadBackend})`,
      String(row.requests),
      String(row.failed),
      `${row.repinned} of ${row.sessionsOnDeadBackend}`,
      ms(row.repinP50Ms),
      ms(row.repinMaxMs),
      ms(row.observedMs),
    ]),
  );
}

function faultsValues(f: FaultsResult): TemplateValues {
  return {
    faults: true,
    faultSessions: String(f.sessions),
    faultSettle: `${f.settleMs / 1000} s`,
    faultWindow: `${f.windowMs / 1000} s`,
    faultNodeLossWindow: `${f.nodeLossWindowMs / 1000} s`,
    faultsSkipped: f.blackHoleSkipped
      ? `**No black hole in this run:** ${f.blackHoleSkipped}.`
      : '',
    faultsTable: faultsTable(f.rows),
  };
}

const FAULT_NAMES: Record<FaultRow['fault'], string> = {
  crash: 'crash (SIGKILL)',
  hang: 'hang (SIGSTOP)',
  'black-hole': 'black hole (nftables drop)',
  return: 'return (crashed backend restarted)',
  'node-loss': 'node loss (one of two nodes killed)',
  reload: 'reload (re-render, graceful reload)',
};

/** One row per fault and config, grouped by fault, the HAProxy peer last in each group. */
export function faultsTable(rows: readonly FaultRow[]): string {
  const ordered = [...rows].sort(
    (a, b) =>
      FAULT_KINDS.indexOf(a.fault) - FAULT_KINDS.indexOf(b.fault) ||
      FAULT_CONFIGS.indexOf(a.config) - FAULT_CONFIGS.indexOf(b.config),
  );
  const none = '–';
  return table(
    [
      'fault',
      'config',
      'requests',
      'failed (sent ≥ 3 s after)',
      'slower than 1 s',
      'p99',
      'last request to the dead backend / node',
      'sessions re-pinned',
      'flapped back',
      'new sessions on the returned backend',
      'healthy backend marked down',
    ],
    ordered.map((row) => [
      FAULT_NAMES[row.fault],
      row.config,
      count(row.requests),
      `${row.failed} (${row.failedAfterDetection})`,
      String(row.slow),
      ms(row.p99Ms),
      row.fault === 'return'
        ? row.firstAnswerMs === undefined
          ? 'never answered'
          : `answers again after ${ms(row.firstAnswerMs)}`
        : row.lastToDeadMs === undefined
          ? none
          : row.lastToDeadMs === 0
            ? 'none after the fault'
            : `sent ${ms(row.lastToDeadMs)} after the fault`,
      row.repinned === undefined
        ? none
        : row.fault === 'node-loss' || row.fault === 'reload'
          ? `${row.repinned} of ${row.affected} changed backend`
          : `${row.repinned} of ${row.affected}`,
      row.flappedBack === undefined
        ? none
        : `${row.flappedBack} of ${row.affected}`,
      row.newSessions === undefined
        ? none
        : `${row.newOnReturned ?? 0} of ${row.newSessions}`,
      row.wronglyDown === undefined ? none : String(row.wronglyDown),
    ]),
  );
}

function buildTable(b: BuildResult): string {
  const synth = synthRatioOf(b);
  const value = (x: number | undefined, text: (x: number) => string) =>
    x === undefined ? 'not measured' : text(x);
  const seconds = (s: number) => `${s.toFixed(1)} s`;
  return table(
    ['figure', 'value', 'what it is'],
    [
      [
        '`cdk synth` of the whole app',
        value(b.synthSeconds, seconds),
        '`npx cdk synth --quiet` into a temporary directory, wall time (the median over the pairs)',
      ],
      [
        '`cdk synth` of an empty app',
        value(b.emptySynthSeconds, seconds),
        'the same command on one empty stack, same cdk.json and node_modules, wall time',
      ],
      [
        'whole app ÷ empty app',
        synth === undefined
          ? 'not measured'
          : synth.pairs === 1
            ? times(synth.median)
            : `${times(synth.median)} (${times(synth.min)}–${times(synth.max)})`,
        'what the app itself adds to CDK’s own start-up and synthesis: the median of the pairs’ ratios, each pair an empty synth then a whole one, back to back',
      ],
      [
        'unit tests (everything but the behaviour tests)',
        value(b.unitTestSeconds, seconds),
        `\`${b.unitTestCommand}\`, wall time`,
      ],
      [
        'verification Lambda bundle',
        value(
          b.lambdaBundleBytes,
          (n) => `${(n / 1000).toFixed(1)} KB (${n} bytes)`,
        ),
        'esbuild bundle of `lambda/verify/index.ts` as DeployCheck stages it (minified, `@aws-sdk/*` external)',
      ],
    ],
  );
}
