/**
 * The overhead figure: the same wrk load through each way to a backend, rounds interleaved so a burst of
 * other work on the machine hits every path alike; medians and spread over the rounds. The paths the
 * targets compare with each other run in rounds of their own, more and shorter, and are compared round by
 * round (paired ratios), because on a shared machine the spread between rounds is wider than the 5 % the
 * sticky logic may cost.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { allocateBlock, freePort, releaseBlock } from '../local/addresses';
import { cpuSpentNs, sampleCpu, type CpuSample } from '../local/cpu-time';
import { startNginxNode } from '../local/nginx-node';
import { accessLogMaps } from '../nginx/access-log';
import { startPeer } from './haproxy-peer';
import {
  firstVisit,
  runWrk,
  WRK_DONE_SCRIPT,
  type LoadSettings,
  type WrkPlacement,
} from './load';
import type {
  InstructionPath,
  LoadPath,
  LoadRow,
  OverheadResult,
  OverheadRow,
  PairedRatio,
} from './results';
import { STICKY_STRATEGIES } from '../settings';
import { medianInterval, pairedRatios, spread } from './statistics';
import { PEER_STRATEGIES } from './targets';
import type { PoolKey, TopologyPool } from './topology-pool';
import type { BackendSpec } from '../nginx/render-options';

export interface OverheadSettings extends LoadSettings {
  /** Rounds of the paths outside PAIRED_PATHS, each `durationSeconds` long. */
  readonly rounds: number;
  /** Unmeasured load before each path's first round, to fill keep-alive pools and worker caches. */
  readonly warmUpSeconds: number;
  /** Rounds of PAIRED_PATHS, each `pairedSeconds` long (whole seconds: wrk's `-d`). */
  readonly pairedRounds: number;
  readonly pairedSeconds: number;
}

/**
 * The proxy's CPU per request, each strategy the peer target names against the peer, as [path, base]: shown
 * beside the throughput ratios, not a target.
 */
export const CPU_RATIOS: readonly (readonly [LoadPath, LoadPath])[] =
  PEER_STRATEGIES.map((s) => [`nginx-${s}`, 'haproxy-peer'] as const);

/**
 * The ratios the targets read: each strategy against plain round-robin nginx (the sticky logic's cost) and
 * the strategies the peer target names against the HAProxy peer (the pairs of CPU_RATIOS), as [path, base].
 */
export const PAIRED_RATIOS: readonly (readonly [LoadPath, LoadPath])[] = [
  ...STICKY_STRATEGIES.map((s) => [`nginx-${s}`, 'nginx-round-robin'] as const),
  ...CPU_RATIOS,
];

/**
 * The paths in the ratios, in the order a paired round runs them: the cookie node between the peer and
 * round-robin, the two bases its targets compare it with, and every other strategy next to round-robin.
 */
export const PAIRED_PATHS: readonly LoadPath[] = [
  'haproxy-peer',
  'nginx-cookie',
  'nginx-round-robin',
  'nginx-ip_hash',
  'nginx-hash',
];

/**
 * The order of round `round` (from 1): as given in odd rounds, reversed in even ones, so a load that
 * rises or falls steadily over the run favours no path of a pair.
 */
export function roundOrder<T>(paths: readonly T[], round: number): T[] {
  return round % 2 === 1 ? [...paths] : [...paths].reverse();
}

/**
 * `path`'s figure (requests/s unless told) over `base`'s, round by round, with the median's confidence
 * interval. A round without the figure gives no ratio (NaN).
 */
export function pairRounds(
  path: LoadPath,
  base: LoadPath,
  pathRounds: readonly LoadRow[],
  baseRounds: readonly LoadRow[],
  figure: (row: LoadRow) => number | undefined = (r) => r.requestsPerSecond,
): PairedRatio {
  const of = (rows: readonly LoadRow[]) => rows.map((r) => figure(r) ?? NaN);
  const perRound = pairedRatios(of(pathRounds), of(baseRounds));
  return { path, base, perRound, ...medianInterval(perRound) };
}

/** CPU time between two samples per request, in µs; NaN when no request was served. */
export function cpuPerRequestUs(
  before: CpuSample,
  after: CpuSample,
  requests: number,
): number {
  return requests > 0 ? cpuSpentNs(before, after) / 1000 / requests : NaN;
}

const hostPort = (url: string) => new URL(url).host;

/**
 * Which core wrk gets. It is always pinned to the last core, so it does not wander between cores mid-run.
 * With 3 or more cores the benchmark's own process (and so every proxy and backend it starts, which
 * inherit its affinity) is pinned to the others, and wrk has its core to itself. With 2 cores nothing
 * else is pinned: the nginx node runs one worker per core and the HAProxy peer one thread per core as a
 * user would, and squeezing them onto one core would measure a config nobody ships.
 */
export function wrkPlacement(cores: number): {
  wrkCpu: number | undefined;
  othersCpus: string | undefined;
  pinning: string;
} {
  if (cores < 2)
    return {
      wrkCpu: undefined,
      othersCpus: undefined,
      pinning: 'one core: wrk and the path under test share it (not pinned)',
    };
  const wrkCpu = cores - 1;
  if (cores === 2)
    return {
      wrkCpu,
      othersCpus: undefined,
      pinning:
        'wrk pinned to core 1 (`taskset -c 1`); the proxies and backends are not pinned and share both cores with it, because on 2 cores the nginx node (one worker per core) and the HAProxy peer (one thread per core) would otherwise run on half the machine',
    };
  return {
    wrkCpu,
    othersCpus: `0-${cores - 2}`,
    pinning: `wrk pinned to core ${wrkCpu} (\`taskset -c ${wrkCpu}\`); the benchmark and every proxy and backend it starts pinned to cores 0-${cores - 2}`,
  };
}

/** Medians and spread of one path's rounds. */
export function summarisePath(
  path: LoadPath,
  rounds: readonly LoadRow[],
): OverheadRow {
  const cpu = (figure: (r: LoadRow) => number | undefined) => {
    const values = rounds.map(figure);
    return values.length > 0 && values.every((v) => v !== undefined)
      ? spread(values as number[])
      : undefined;
  };
  const proxyCpuUs = cpu((r) => r.proxyCpuUs);
  const backendCpuUs = cpu((r) => r.backendCpuUs);
  return {
    path,
    requestsPerSecond: spread(rounds.map((r) => r.requestsPerSecond)),
    p50Ms: spread(rounds.map((r) => r.p50Ms)),
    p99Ms: spread(rounds.map((r) => r.p99Ms)),
    requests: rounds.reduce((sum, r) => sum + r.requests, 0),
    failed: rounds.reduce((sum, r) => sum + r.failed, 0),
    ...(proxyCpuUs ? { proxyCpuUs } : {}),
    ...(backendCpuUs ? { backendCpuUs } : {}),
  };
}

/** Whether an nginx.conf logs each request somewhere (an `access_log` line other than `off`). */
export function writesAccessLog(nginxConf: string): boolean {
  return /^\s*access_log\s+(?!off;)\S/m.test(nginxConf);
}

/** The ceiling's http part: nginx answering by itself, with no upstream. */
export function ceilingHttp(host: string, port: number): string {
  return [
    // The main config's log_format names the access log's map variables, so every http part defines them.
    ...accessLogMaps([], false),
    'server {',
    `  listen ${host}:${port} reuseport;`,
    '  access_log off;',
    '  location / {',
    '    default_type application/json;',
    `    return 200 '{"backend":"none"}';`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** nginx answering by itself: how fast wrk can go on this machine at all. */
async function startCeiling(
  host: string,
  port: number,
  dir: string,
  signal: AbortSignal,
) {
  const http = ceilingHttp(host, port);
  return startNginxNode(
    dir,
    host,
    port,
    http,
    {
      workerProcesses: 'auto',
      bufferAccessLog: true,
    },
    signal,
  );
}

/**
 * The address wrk's connections come from: the kernel's source for a loopback destination (`ip route get
 * 127.1.2.3` says `src 127.0.0.1`). The measured nginx nodes believe X-Forwarded-For from it, as shipped
 * nodes believe it from the ALB, so every request runs realip as it does behind the load balancer.
 */
export const LOAD_GENERATOR_SOURCE = '127.0.0.1/32';

/** How many client addresses `pinnedHeaders` tries. Each lands on a given one of two backends about half the time. */
const PIN_TRIES = 24;

/**
 * The headers that make `url` answer from backend `name` on every request: a client address in
 * X-Forwarded-For (its own /24, as `ip_hash` keys on the /24) and the cookies a first visit from it got.
 * Every path ends on the same backend process as the direct path: on another one, a path would be charged
 * for a second Node process warmed by other load, and the address strategies would land wherever wrk's
 * one address happens to hash.
 */
export async function pinnedHeaders(
  url: string,
  name: string,
): Promise<Record<string, string>> {
  const seen: string[] = [];
  for (let i = 1; i <= PIN_TRIES; i++) {
    const client = { 'x-forwarded-for': `198.18.${i}.10` };
    const visit = await firstVisit(url, client);
    if (visit.backend === name)
      return {
        accept: 'application/json',
        ...client,
        ...(visit.cookies ? { cookie: visit.cookies } : {}),
      };
    seen.push(visit.backend ?? 'no backend name');
  }
  throw new Error(
    `${url} never answered from ${name} in ${PIN_TRIES} first visits (answered from ${[...new Set(seen)].join(', ')})`,
  );
}

/** The nginx paths the overhead figure compares; the instructions figure counts the same ones. */
export type NginxPath = Extract<InstructionPath, `nginx-${string}`>;

/**
 * Each nginx path's pool key: ALB mode (nginx listens for plain HTTP, so the load generator can talk to a
 * node directly), believing `trust` beside the stand-in. The cookie path is the topology whose two backends
 * (`backends`) every other path and the direct path end on: the same processes, warmed alike.
 */
export function nginxPathKeys(
  backends: readonly BackendSpec[],
  trust: readonly string[],
): Record<NginxPath, PoolKey> {
  return {
    'nginx-cookie': { lb: 'alb', sticky: 'cookie', trust },
    'nginx-ip_hash': { lb: 'alb', sticky: 'ip_hash', backends, trust },
    'nginx-hash': { lb: 'alb', sticky: 'hash', backends, trust },
    // One backend, the direct path's: wrk is one client, so every sticky path sends all its requests to one
    // backend too. Round-robin over both would spread the load over two Node processes, which on a small
    // machine costs more than any nginx logic and would pass for the sticky logic's price.
    'nginx-round-robin': {
      lb: 'alb',
      sticky: 'ip_hash',
      roundRobin: true,
      backends: backends.slice(0, 1),
      trust,
    },
  };
}

export async function measureOverhead(
  pool: TopologyPool,
  settings: OverheadSettings,
  progress: (message: string) => void,
  signal: AbortSignal,
): Promise<OverheadResult> {
  const placement = wrkPlacement(availableParallelism());
  // Every nginx path and the peer end on the cookie topology's two backends, which the direct path
  // also reaches, so the rows differ only in what is in the way. The cookie path's key names no backends
  // (its topology owns them), so it is known before they are.
  const trust = [LOAD_GENERATOR_SOURCE];
  const cookie = await pool.get(nginxPathKeys([], trust)['nginx-cookie']);
  const backends = cookie.topology.renderOptions.backends;
  const keys = nginxPathKeys(backends, trust);
  const ipHash = await pool.get(keys['nginx-ip_hash']);
  const hash = await pool.get(keys['nginx-hash']);
  const roundRobin = await pool.get(keys['nginx-round-robin']);
  const seed = await pool.get({
    lb: 'alb',
    sticky: 'ip_hash',
    naive: true,
    backends,
  });
  signal.throwIfAborted();
  const nginxLogs = writesAccessLog(
    await readFile(cookie.topology.nginxConfigFiles[0], 'utf8'),
  );
  const dir = await mkdtemp(path.join(tmpdir(), 'sticky-edge-bench-load-'));
  const block = allocateBlock();
  const host = block.address(0, 1);
  const cleanups: (() => Promise<void>)[] = [
    () => rm(dir, { recursive: true, force: true }),
    async () => releaseBlock(block),
  ];
  try {
    const scriptFile = path.join(dir, 'done.lua');
    await writeFile(scriptFile, WRK_DONE_SCRIPT);
    const wrk: WrkPlacement = { cpu: placement.wrkCpu, scriptFile };
    const peer = await startPeer(
      {
        listen: `${host}:${await freePort(host)}`,
        backends: cookie.topology.backendUrls.map(hostPort),
        // The peer logs exactly when nginx does, so neither carries a cost the other is spared.
        log: nginxLogs,
      },
      signal,
    );
    cleanups.unshift(() => peer.stop());
    const ceilingPort = await freePort(host);
    const ceilingDir = path.join(dir, 'ceiling');
    const ceiling = await startCeiling(host, ceilingPort, ceilingDir, signal);
    cleanups.unshift(() => ceiling.stop());
    const paths: [LoadPath, string][] = [
      ['static-nginx', `http://${host}:${ceilingPort}/`],
      ['direct', cookie.topology.backendUrls[0]],
      ['haproxy-peer', peer.url],
      ['nginx-cookie', cookie.topology.nginxUrls[0]],
      ['nginx-ip_hash', ipHash.topology.nginxUrls[0]],
      ['nginx-hash', hash.topology.nginxUrls[0]],
      ['nginx-round-robin', roundRobin.topology.nginxUrls[0]],
      ['seed-nginx', seed.topology.nginxUrls[0]],
      ['edge', cookie.topology.url],
    ];
    // Whose CPU time each path is charged: what is in the way (for the edge, the stand-in and both nodes it
    // spreads connections over), and the one backend process every path but the ceiling ends on.
    const proxyPids = new Map<LoadPath, readonly number[]>([
      ['static-nginx', [ceiling.pid]],
      ['direct', []],
      ['haproxy-peer', [peer.pid]],
      ['nginx-cookie', [cookie.topology.nginxPids[0]]],
      ['nginx-ip_hash', [ipHash.topology.nginxPids[0]]],
      ['nginx-hash', [hash.topology.nginxPids[0]]],
      ['nginx-round-robin', [roundRobin.topology.nginxPids[0]]],
      ['seed-nginx', [seed.topology.nginxPids[0]]],
      ['edge', [cookie.topology.lbPid, ...cookie.topology.nginxPids]],
    ]);
    const backendPid = cookie.topology.backendPids[0];
    const headersOf = new Map<LoadPath, Record<string, string>>();
    const directBackend = cookie.topology.backendNames[0];
    for (const [name, url] of paths)
      headersOf.set(
        name,
        name === 'static-nginx'
          ? { accept: 'application/json' }
          : await pinnedHeaders(url, directBackend),
      );
    const rounds = new Map<LoadPath, LoadRow[]>(paths.map(([p]) => [p, []]));
    const loads: number[] = [];
    const runRounds = async (
      block: readonly [LoadPath, string][],
      count: number,
      durationSeconds: number,
    ) => {
      for (let round = 1; round <= count; round++) {
        for (const [name, url] of roundOrder(block, round)) {
          const headers = headersOf.get(name) ?? {};
          if (round === 1 && settings.warmUpSeconds > 0)
            await runWrk(
              url,
              headers,
              { ...settings, durationSeconds: settings.warmUpSeconds },
              wrk,
              signal,
            );
          progress(
            `overhead round ${round}/${count}: ${name} (wrk, ${settings.connections} connections, ${durationSeconds} s)`,
          );
          const proxy = proxyPids.get(name) ?? [];
          const backend = name === 'static-nginx' ? [] : [backendPid];
          const sample = () =>
            Promise.all([sampleCpu(proxy), sampleCpu(backend)]);
          const before = await sample();
          const figures = await runWrk(
            url,
            headers,
            { ...settings, durationSeconds },
            wrk,
            signal,
          );
          const after = await sample();
          const perRequest = (i: 0 | 1) =>
            cpuPerRequestUs(before[i], after[i], figures.requests);
          rounds.get(name)?.push({
            path: name,
            ...figures,
            ...(proxy.length > 0 ? { proxyCpuUs: perRequest(0) } : {}),
            ...(backend.length > 0 ? { backendCpuUs: perRequest(1) } : {}),
          });
        }
        loads.push(loadavg()[0]);
      }
    };
    const isPaired = ([name]: [LoadPath, string]) =>
      PAIRED_PATHS.includes(name);
    await runRounds(
      paths.filter((p) => !isPaired(p)),
      settings.rounds,
      settings.durationSeconds,
    );
    await runRounds(
      PAIRED_PATHS.flatMap((name) => paths.filter(([p]) => p === name)),
      settings.pairedRounds,
      settings.pairedSeconds,
    );
    const roundsOf = (name: LoadPath) => rounds.get(name) ?? [];
    return {
      generator: 'wrk',
      threads: settings.threads,
      connections: settings.connections,
      durationSeconds: settings.durationSeconds,
      rounds: settings.rounds,
      warmUpSeconds: settings.warmUpSeconds,
      pinning: placement.pinning,
      loadAverage: spread(loads),
      nginxLogs,
      rows: paths.map(([name]) => summarisePath(name, roundsOf(name))),
      paired: {
        paths: PAIRED_PATHS,
        rounds: settings.pairedRounds,
        durationSeconds: settings.pairedSeconds,
        ratios: PAIRED_RATIOS.map(([name, base]) =>
          pairRounds(name, base, roundsOf(name), roundsOf(base)),
        ),
        cpuRatios: CPU_RATIOS.map(([name, base]) =>
          pairRounds(
            name,
            base,
            roundsOf(name),
            roundsOf(base),
            (r) => r.proxyCpuUs,
          ),
        ),
      },
    };
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}
