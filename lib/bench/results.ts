/**
 * The shape of a benchmark run: what `--json` prints and what the report and the charts are drawn from.
 */
import type { StickyStrategy } from '../settings';

export const SCENARIOS = [
  'overhead',
  'instructions',
  'balance',
  'remap',
  'scale',
  'drain',
  'failover',
  'faults',
  'build',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly nginx: string;
  readonly haproxy: string;
  /** The load generator's version. */
  readonly wrk: string;
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  readonly loadAverageAtStart: number;
  /** 1-minute load average once the figures were measured (the run's own load included). */
  readonly loadAverageAtEnd?: number;
}

/** The ways to reach a backend that the overhead figure compares, and what sits in each way. */
export const LOAD_PATHS = {
  'static-nginx':
    "the load generator's ceiling: nginx answering by itself (`return 200`), no backend",
  direct: 'nothing: straight to one backend',
  'haproxy-peer':
    'HAProxy alone doing the sticky job (cookie insert, redispatch), one thread per core, logging as nginx does',
  'nginx-cookie': 'one nginx node as shipped, `cookie` strategy',
  'nginx-ip_hash': 'one nginx node as shipped, `ip_hash` strategy',
  'nginx-hash': 'one nginx node as shipped, `hash` strategy',
  'nginx-round-robin':
    'one nginx node with the same tuning and no sticky logic (the `ip_hash` config without `ip_hash`), to one backend as every sticky path from one client',
  'seed-nginx': "an nginx node running the seed's configuration",
  edge: "the project's edge: load-balancer stand-in (HAProxy, ALB mode) + nginx (`cookie`)",
} as const;
export type LoadPath = keyof typeof LOAD_PATHS;

/** One load-generator run against one path to the backend. */
export interface LoadRow {
  readonly path: LoadPath;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /** Socket errors, timeouts and answers outside 2xx/3xx together. */
  readonly failed: number;
  /**
   * CPU time per request (µs) of every thread and child process of what is in the way (an nginx node's
   * master and workers, the peer, the stand-in and both nodes for `edge`, the ceiling's nginx), over the
   * round; absent for `direct`, which has nothing in the way.
   */
  readonly proxyCpuUs?: number;
  /** CPU time per request (µs) of the backend process the path ends on; absent for the ceiling, which reaches none. */
  readonly backendCpuUs?: number;
}

/** The median of a figure over the rounds, and its spread. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** One path over all its rounds: medians and spread of each figure. */
export interface OverheadRow {
  readonly path: LoadPath;
  readonly requestsPerSecond: Spread;
  readonly p50Ms: Spread;
  readonly p99Ms: Spread;
  /** Over all rounds. */
  readonly requests: number;
  readonly failed: number;
  /** CPU time per request (µs) of what is in the way, and of the backend, over the rounds (see LoadRow). */
  readonly proxyCpuUs?: Spread;
  readonly backendCpuUs?: Spread;
}

/** One path's figure over another's, round by round, from the paired rounds: requests/s, or CPU per request. */
export interface PairedRatio {
  readonly path: LoadPath;
  readonly base: LoadPath;
  /** Round i of `path` over round i of `base`, in round order. */
  readonly perRound: readonly number[];
  readonly median: number;
  /** A distribution-free confidence interval of the median ratio (`medianInterval`). */
  readonly low: number;
  readonly high: number;
  /** The interval's coverage, e.g. 0.961 for 9 rounds. */
  readonly confidence: number;
}

/** The paths the targets compare, measured in their own rounds: more of them, shorter, back to back. */
export interface PairedRounds {
  readonly paths: readonly LoadPath[];
  readonly rounds: number;
  readonly durationSeconds: number;
  /** Requests/s: what the targets read. */
  readonly ratios: readonly PairedRatio[];
  /** The proxy's CPU per request (`proxyCpuUs`), nginx over the peer: shown, not a target. */
  readonly cpuRatios: readonly PairedRatio[];
}

export interface OverheadResult {
  readonly generator: string;
  readonly threads: number;
  readonly connections: number;
  /** Rounds and their length for the paths outside `paired` (the ceiling, direct, the seed, the edge). */
  readonly durationSeconds: number;
  readonly rounds: number;
  /** Unmeasured load before each path's first round. */
  readonly warmUpSeconds: number;
  /** What runs on which cores, in one sentence for the report. */
  readonly pinning: string;
  /** The 1-minute load average sampled after each round (of both kinds). */
  readonly loadAverage: Spread;
  /** Whether nginx writes an access-log line per request as shipped (the HAProxy peer then logs too). */
  readonly nginxLogs: boolean;
  /** Every path's figures; the paired paths' from the paired rounds, the others' from `rounds`. */
  readonly rows: readonly OverheadRow[];
  readonly paired: PairedRounds;
}

export const CLIENT_MIXES = [
  'distinct-24',
  'carrier-nat',
  'distinct-64',
] as const;
export type ClientMix = (typeof CLIENT_MIXES)[number];

export const MIX_LABELS: Record<ClientMix, string> = {
  'distinct-24': 'distinct /24s',
  'carrier-nat': 'carrier NAT',
  'distinct-64': 'IPv6 /64s',
};

/** A remap row's strategy as the report names it: `hash`, or `hash IPv6` for the IPv6 clients' row. */
export const remapLabel = (row: { strategy: string; ipv6?: boolean }) =>
  row.ipv6 ? `${row.strategy} IPv6` : row.strategy;

export interface BalanceRow {
  readonly strategy: StickyStrategy;
  readonly mix: ClientMix;
  readonly clients: number;
  readonly backends: readonly string[];
  /** Clients per backend, in the order of `backends`. */
  readonly counts: readonly number[];
  /** Requests that got no answer naming a backend. */
  readonly failed: number;
}

export interface RemapRow {
  readonly strategy: StickyStrategy;
  /** IPv6 clients, each in a /64 of its own (`distinct-64`). @default false - IPv4 clients in distinct /24s */
  readonly ipv6?: boolean;
  readonly from: number;
  readonly to: number;
  readonly clients: number;
  readonly moved: number;
  readonly movedNeedlessly: number;
  readonly failed: number;
}

export interface FailoverRow {
  /** A strategy of the project, or `seed` for the seed's configuration. */
  readonly config: StickyStrategy | 'seed';
  readonly sessions: number;
  /** Sessions that were on the backend that died. */
  readonly sessionsOnDeadBackend: number;
  readonly requests: number;
  /** Failed requests (all are idempotent GETs). */
  readonly failed: number;
  /** Sessions on the dead backend that were pinned to a live one before the run ended. */
  readonly repinned: number;
  readonly repinP50Ms: number;
  readonly repinMaxMs: number;
  /** How long the clients kept going after the kill. */
  readonly observedMs: number;
}

/** One strategy's clients sending while the nginx tier grows and shrinks (2 → 4 → 2 nodes). */
export interface ScaleRow {
  readonly strategy: StickyStrategy;
  /** Nodes before and after the run, and at its widest. */
  readonly fromNodes: number;
  readonly toNodes: number;
  readonly clients: number;
  readonly requests: number;
  /** Requests that got no answer from a backend (all are idempotent GETs). */
  readonly failed: number;
  /** Requests in flight at some moment while nodes joined or left. */
  readonly duringJoin: number;
  readonly duringLeave: number;
  /** Clients whose answers came from more than one backend. */
  readonly moved: number;
  /** Requests the joining nodes' access logs name: proof the load balancer sent to them. */
  readonly servedByJoined: number;
  /** Answered requests found in no node's access log (so not counted in `servedByJoined`). */
  readonly unlogged: number;
  /** Load on each node count: before the join, between join and leave, after the leave. */
  readonly phaseMs: number;
  /** The longest the leaving nodes kept their connections (the deregistration delay). */
  readonly drainMs: number;
  /** From the scale-out call until the load balancer sends to the new nodes. */
  readonly joinMs: number;
  /** From the scale-in call until the leaving nodes are drained and stopped. */
  readonly leaveMs: number;
}

/** The project's strategies, and the HAProxy peer doing the same sticky job with its own health checks. */
export const FAULT_CONFIGS = [
  'ip_hash',
  'hash',
  'cookie',
  'haproxy-peer',
] as const;
export type FaultConfig = (typeof FAULT_CONFIGS)[number];

export const FAULT_KINDS = [
  'crash',
  'hang',
  'black-hole',
  'return',
  'node-loss',
  'reload',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * One fault under steady sticky load, for one config. Requests count when they were sent inside the fault's
 * window (from the fault until the window ends), however long they then took.
 */
export interface FaultRow {
  readonly config: FaultConfig;
  readonly fault: FaultKind;
  readonly requests: number;
  /** Requests that got no answer from a backend (all are idempotent GETs). */
  readonly failed: number;
  /** Of those, the ones sent 3 s or more after the fault (after the detection target). */
  readonly failedAfterDetection: number;
  /** Requests that took longer than 1 s. */
  readonly slow: number;
  readonly p99Ms: number;
  /**
   * Times inside the window a node's health checks marked down a backend that was not faulty (the live one;
   * any during a reload or a node loss): a busy node's probes timing out on a healthy backend.
   */
  readonly wronglyDown?: number;
  /**
   * How long after the fault the last request that reached the dead backend (crash, hang, black hole) or the
   * dead node (node loss: a failed request) was sent; 0 when none was. Absent for return and reload.
   */
  readonly lastToDeadMs?: number;
  /**
   * The sessions the fault concerns: those pinned to the faulty backend (crash, hang, black hole), those that
   * had moved away from it (return), every pinned session (node loss, reload).
   */
  readonly affected: number;
  /**
   * crash, hang, black hole: affected sessions whose answers end on a live backend. node loss, reload:
   * sessions whose backend changed (none should). Absent for return.
   */
  readonly repinned?: number;
  /** return: affected sessions answered by the returned backend again. */
  readonly flappedBack?: number;
  /** return: sessions that started (first request, no cookie) during the window, and those it served. */
  readonly newSessions?: number;
  readonly newOnReturned?: number;
  /** return: from the backend's return (it listens again) to its first answer through the edge. */
  readonly firstAnswerMs?: number;
}

export interface FaultsResult {
  /** Looping sessions per fault (each a new visitor: its own /24 and an empty cookie jar). */
  readonly sessions: number;
  /** Load before each fault, so every session is pinned. */
  readonly settleMs: number;
  /** How long requests are counted after a fault (node loss: `nodeLossWindowMs`). */
  readonly windowMs: number;
  readonly nodeLossWindowMs: number;
  /** Why the black-hole rows are missing (no network namespaces here), in one line. */
  readonly blackHoleSkipped?: string;
  readonly rows: readonly FaultRow[];
}

/** One strategy's backend drained node by node while its clients and new ones send (see lib/bench/drain.ts). */
export interface DrainRow {
  readonly strategy: StickyStrategy;
  readonly backends: number;
  /** The drained backends' names. */
  readonly drained: readonly string[];
  /** nginx nodes the drain rolled over. */
  readonly nodes: number;
  /** Clients with a session before the drain, and how many were on the drained backend. */
  readonly clients: number;
  readonly pinnedOnDrained: number;
  /** While only the first node had the drain: new clients, those a drained backend answered, pinned clients moved. */
  readonly rollNewClients: number;
  readonly rollNewOnDrained: number;
  readonly rollPinnedMoved: number;
  /** Once every node had it: new clients and those a drained backend answered (target 0). */
  readonly newClients: number;
  readonly newOnDrained: number;
  /** Clients of the drained backend that another answered once every node had the drain (cookie target 0). */
  readonly pinnedMoved: number;
  /** Clients of another backend that changed backend, during the roll or after it (target 0). */
  readonly othersMoved: number;
  /** Backends the nodes' health agents took down during the figure (probes failing on a loaded machine). */
  readonly agentDownMarks: number;
  /** Requests before, during and after the roll, and how many failed (target 0). */
  readonly requests: number;
  readonly failed: number;
}

export interface BuildResult {
  /** `cdk synth` of the whole app: the median over the synth pairs. */
  readonly synthSeconds?: number;
  /** `cdk synth` of an empty `cdk init`-style app (one empty stack), timed in the same run: the median. */
  readonly emptySynthSeconds?: number;
  /**
   * Each pair's whole-app synth over the empty app's, the two run back to back so they share the machine's
   * load of that moment. Their median is the synth ratio the target reads.
   */
  readonly synthRatios?: readonly number[];
  readonly unitTestSeconds?: number;
  /** What the unit-test time measures, e.g. the jest command. */
  readonly unitTestCommand: string;
  readonly lambdaBundleBytes?: number;
  /** Why a figure is missing (a step failed), one line each. */
  readonly problems: readonly string[];
}

/** The paths the instructions figure counts: the peer and the paths the overhead figure pairs with it. */
export const INSTRUCTION_PATHS = [
  'haproxy-peer',
  'nginx-cookie',
  'nginx-ip_hash',
  'nginx-hash',
  'nginx-round-robin',
] as const satisfies readonly LoadPath[];
export type InstructionPath = (typeof INSTRUCTION_PATHS)[number];

/** One process under callgrind while a fixed number of requests was sent to it. */
export interface CallgrindRun {
  /** Requests sent and answered, and how many of them failed (socket errors, answers outside 2xx/3xx). */
  readonly requests: number;
  readonly failed: number;
  /** User-space instructions the process executed from start to exit (callgrind's `Ir`). */
  readonly instructions: number;
}

/** One path: its short and long run, and the slope between them. */
export interface InstructionsRow {
  readonly path: InstructionPath;
  readonly short: CallgrindRun;
  readonly long: CallgrindRun;
  /** (long − short instructions) / (long − short requests): start-up and shut-down cancel. */
  readonly perRequest: number;
}

export interface InstructionsResult {
  /** valgrind's version, when it ran. */
  readonly valgrind?: string;
  /** Why the figure was not measured (valgrind missing), in one line. */
  readonly skipped?: string;
  /** The client's keep-alive connections and the two runs' request counts. */
  readonly connections: number;
  readonly shortRequests: number;
  readonly longRequests: number;
  /** Whether nginx writes an access-log line per request as shipped (the peer then logs too). */
  readonly nginxLogs: boolean;
  readonly rows: readonly InstructionsRow[];
}

export interface BenchResults {
  readonly date: string;
  readonly mode: 'quick' | 'full';
  readonly command: string;
  readonly scenarios: readonly Scenario[];
  readonly machine: MachineInfo;
  readonly wallSeconds: number;
  readonly overhead?: OverheadResult;
  readonly instructions?: InstructionsResult;
  readonly balance?: readonly BalanceRow[];
  readonly remap?: readonly RemapRow[];
  readonly scale?: readonly ScaleRow[];
  readonly drain?: readonly DrainRow[];
  readonly failover?: readonly FailoverRow[];
  readonly faults?: FaultsResult;
  readonly build?: BuildResult;
}
