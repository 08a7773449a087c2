/**
 * The instructions figure: user-space instructions per proxied request, counted by valgrind's callgrind,
 * for the HAProxy peer on one thread and one nginx node per strategy and plain round-robin, each one
 * process (nginx: `master_process off`, so the one process is the worker). Unlike throughput, the count
 * does not move with other work on the machine (about 1 % from run to run), so it shows differences of a
 * few percent that the overhead figure's rounds cannot. Work in the kernel (system calls, TCP over the
 * loopback) is not in it.
 *
 * Each process runs twice under callgrind while a client sends it a fixed number of requests, few and many;
 * the figure is the slope between the two runs (`instructionsPerRequest`), so start-up, reading the config and
 * shut-down, the same in both, cancel. Counts, not durations: on a busy machine a run takes longer but counts
 * the same work. Counting only from the first request instead (`--instr-atstart=no`, then
 * `callgrind_control -i on`) did not take effect on this machine.
 */
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { allocateBlock, freePorts, releaseBlock } from '../local/addresses';
import { findHaproxy } from '../local/binaries';
import { nodeRenderOptions } from '../local/node-config';
import { writeNodeConfig } from '../local/nginx-node';
import { spawnManaged, waitUntilListening } from '../local/processes';
import { findNginx } from '../nginx/nginx-binary';
import type { BackendSpec } from '../nginx/render-options';
import { findExecutable } from '../os/find-executable';
import { inPool } from '../verify/pool';
import { renderPeerConfig } from './haproxy-peer';
import {
  LOAD_GENERATOR_SOURCE,
  nginxPathKeys,
  pinnedHeaders,
  type NginxPath,
  writesAccessLog,
} from './overhead';
import {
  INSTRUCTION_PATHS,
  type CallgrindRun,
  type InstructionPath,
  type InstructionsResult,
  type InstructionsRow,
} from './results';
import {
  poolKeyConfig,
  type PoolKey,
  type TopologyPool,
} from './topology-pool';

export interface InstructionSettings {
  /** The two runs' request counts; the long one must be larger. */
  readonly shortRequests: number;
  readonly longRequests: number;
  /** The client's keep-alive connections: a few are enough for a process that runs some 50 times slower under callgrind. */
  readonly connections: number;
}

/** What the report says when the figure could not run. */
export const VALGRIND_MISSING =
  'valgrind is not installed, so the instructions figure was not measured (`npm run setup` or `sudo apt-get install valgrind` installs it)';

/** valgrind from PATH, or undefined: the figure is optional, and nothing else needs valgrind. */
export function findValgrind(): string | undefined {
  try {
    return findExecutable('valgrind', 'the instructions figure needs it');
  } catch {
    return undefined;
  }
}

/**
 * The instructions (`Ir`) in one callgrind output file: its `totals:` line, or `summary:` in a file without
 * one; summed over the parts when the file holds several dumps. Throws naming what is missing.
 */
export function parseCallgrindOutput(text: string): number {
  const events = /^events:\s*(.+)$/m.exec(text);
  if (!events) throw new Error('callgrind output has no "events:" line');
  const index = events[1].trim().split(/\s+/).indexOf('Ir');
  if (index < 0)
    throw new Error(
      `callgrind output counts no Ir (events: ${events[1].trim()})`,
    );
  const lines = (key: string) =>
    [...text.matchAll(new RegExp(`^${key}:\\s*(.*)$`, 'gm'))].map((m) => m[1]);
  const totals = lines('totals');
  const counts = totals.length > 0 ? totals : lines('summary');
  if (counts.length === 0)
    throw new Error('callgrind output has no "totals:" or "summary:" line');
  return counts.reduce((sum, line) => {
    const value = line.trim().split(/\s+/)[index];
    if (value === undefined || !/^\d+$/.test(value))
      throw new Error(`callgrind's Ir total is not a count: "${line.trim()}"`);
    return sum + Number(value);
  }, 0);
}

/**
 * Instructions per request from a short and a long run of the same process: the extra instructions of the
 * long run over its extra requests. Whatever both runs do once (start-up, shut-down) cancels.
 */
export function instructionsPerRequest(
  short: Pick<CallgrindRun, 'requests' | 'instructions'>,
  long: Pick<CallgrindRun, 'requests' | 'instructions'>,
): number {
  const requests = long.requests - short.requests;
  const instructions = long.instructions - short.instructions;
  if (requests <= 0)
    throw new Error(
      `the long run completed ${long.requests} requests, not more than the short run's ${short.requests}`,
    );
  if (instructions <= 0)
    throw new Error(
      `the long run executed ${long.instructions} instructions, not more than the short run's ${short.instructions}`,
    );
  return instructions / requests;
}

/** One process to count: a command that serves HTTP on `host:port` in the foreground as a single process. */
export interface CountedProcess {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly host: string;
  readonly port: number;
}

const urlOf = (p: CountedProcess) => `http://${p.host}:${p.port}/`;

/** Starts `p` (under `wrapper`, e.g. valgrind, when given), runs `use` once it listens, then stops it. */
async function whileRunning<T>(
  p: CountedProcess,
  wrapper: readonly string[],
  signal: AbortSignal,
  use: () => Promise<T>,
): Promise<T> {
  const [command, ...args] = [...wrapper, p.command, ...p.args];
  const managed = spawnManaged(p.name, command, args, signal);
  try {
    // callgrind slows start-up too: nginx compiling its regular expressions takes seconds.
    await waitUntilListening(managed, p.host, p.port, 120_000);
    return await use();
  } finally {
    // SIGTERM: both exit cleanly, and callgrind writes its counts on exit (a slow write, hence the grace).
    await managed.stop(60_000);
  }
}

/**
 * Sends `count` GETs with `headers` to `url` over `connections` keep-alive connections, each request after
 * the previous one on its connection. A request that fails (socket error, answer outside 2xx/3xx) counts as
 * failed; the run goes on.
 */
export async function sendRequests(
  url: string,
  headers: Readonly<Record<string, string>>,
  count: number,
  connections: number,
): Promise<{ requests: number; failed: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.get(url, { agent, headers, timeout: 60_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 400) failed++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', () => {
        failed++;
        resolve();
      });
    });
  try {
    // One request at a time per connection: as many at once as there are connections.
    await inPool(Array.from({ length: count }), connections, one);
  } finally {
    agent.destroy();
  }
  return { requests: count, failed };
}

/** One run of `p` under callgrind while `count` requests with `headers` are sent to it. */
export async function callgrindRun(
  valgrind: string,
  p: CountedProcess,
  headers: Readonly<Record<string, string>>,
  count: number,
  connections: number,
  dir: string,
  signal: AbortSignal,
): Promise<CallgrindRun> {
  const out = path.join(dir, `callgrind-${p.name}-${count}.out`);
  const callgrind = [
    valgrind,
    '--tool=callgrind',
    `--callgrind-out-file=${out}`,
    // Totals only: per-line costs would make the file larger and slower to write.
    '--dump-line=no',
  ];
  const sent = await whileRunning(p, callgrind, signal, () =>
    sendRequests(urlOf(p), headers, count, connections),
  );
  signal.throwIfAborted();
  let text: string;
  try {
    text = await readFile(out, 'utf8');
  } catch {
    throw new Error(`${p.name}: callgrind wrote no counts to ${out}`);
  }
  return { ...sent, instructions: parseCallgrindOutput(text) };
}

/**
 * One path's row: the headers that pin its requests to backend `pinTo` (learned from the process run
 * natively, so the first visits are counted in neither run), then the short and the long callgrind run.
 */
export async function countPath(
  valgrind: string,
  pathName: InstructionPath,
  p: CountedProcess,
  pinTo: string,
  settings: InstructionSettings,
  dir: string,
  signal: AbortSignal,
): Promise<InstructionsRow> {
  const headers = await whileRunning(p, [], signal, () =>
    pinnedHeaders(urlOf(p), pinTo),
  );
  const run = (count: number) =>
    callgrindRun(
      valgrind,
      p,
      headers,
      count,
      settings.connections,
      dir,
      signal,
    );
  const short = await run(settings.shortRequests);
  const long = await run(settings.longRequests);
  return {
    path: pathName,
    short,
    long,
    perRequest: instructionsPerRequest(short, long),
  };
}

/** The nginx paths, each one process: every counted path but the peer. */
const NGINX_PATHS = INSTRUCTION_PATHS.filter(
  (p): p is NginxPath => p !== 'haproxy-peer',
);

/**
 * The http config of an nginx path as the overhead figure's node for it runs it (its pool key: ALB mode,
 * believing X-Forwarded-For from the load generator too, round-robin to the first backend only), over a node
 * listening on `listen` and trusting `trust`.
 */
export function nginxPathConfig(
  pathName: InstructionPath,
  addresses: {
    readonly listen: string;
    readonly statusListen: string;
    readonly trust: readonly string[];
    readonly backends: readonly BackendSpec[];
  },
): string {
  const keys: Partial<Record<InstructionPath, PoolKey>> = nginxPathKeys(
    addresses.backends,
    [LOAD_GENERATOR_SOURCE],
  );
  const key = keys[pathName];
  if (!key) throw new Error(`${pathName} is not an nginx path`);
  return poolKeyConfig(
    key,
    nodeRenderOptions({ lb: key.lb, sticky: key.sticky }, addresses),
  );
}

/**
 * nginx in the foreground as one process (`master_process off`: the process is the worker), running
 * `http` inside the shipped main config with one worker, written and checked as a topology's node is.
 */
export async function nginxProcess(
  name: string,
  dir: string,
  listen: { host: string; port: number },
  http: string,
): Promise<CountedProcess & { readonly config: string }> {
  const { file, text: config } = await writeNodeConfig(dir, http, {
    workerProcesses: 1,
    bufferAccessLog: true,
  });
  return {
    name,
    command: findNginx(),
    args: [
      '-p',
      dir,
      '-c',
      file,
      '-e',
      'stderr',
      '-g',
      'daemon off; master_process off;',
    ],
    ...listen,
    config,
  };
}

function valgrindVersion(valgrind: string): Promise<string> {
  return new Promise((resolve) =>
    execFile(valgrind, ['--version'], (err, stdout) =>
      resolve(
        err ? 'unknown' : stdout.trim().replace(/^valgrind-/, '') || 'unknown',
      ),
    ),
  );
}

export async function measureInstructions(
  pool: TopologyPool,
  settings: InstructionSettings,
  progress: (message: string) => void,
  signal: AbortSignal,
): Promise<InstructionsResult> {
  const figure = {
    connections: settings.connections,
    shortRequests: settings.shortRequests,
    longRequests: settings.longRequests,
  };
  const valgrind = findValgrind();
  if (!valgrind) {
    progress(VALGRIND_MISSING);
    return { ...figure, skipped: VALGRIND_MISSING, nginxLogs: false, rows: [] };
  }
  // The overhead figure's cookie topology (shared when that figure ran): its two demo backends.
  const cookie = await pool.get(
    nginxPathKeys([], [LOAD_GENERATOR_SOURCE])['nginx-cookie'],
  );
  const { topology } = cookie;
  const backends = topology.renderOptions.backends;
  const pinTo = topology.backendNames[0];
  signal.throwIfAborted();
  const dir = await mkdtemp(path.join(tmpdir(), 'sticky-edge-bench-instr-'));
  const block = allocateBlock();
  const host = block.address(0, 1);
  try {
    const processes: [InstructionPath, CountedProcess][] = [];
    let nginxLogs = false;
    for (const pathName of NGINX_PATHS) {
      const [port, statusPort] = await freePorts(host, 2);
      const p = await nginxProcess(
        pathName,
        path.join(dir, pathName),
        { host, port },
        nginxPathConfig(pathName, {
          listen: `${host}:${port}`,
          statusListen: `${host}:${statusPort}`,
          trust: topology.renderOptions.trust,
          backends,
        }),
      );
      if (pathName === 'nginx-cookie') nginxLogs = writesAccessLog(p.config);
      processes.push([pathName, p]);
    }
    const [peerPort] = await freePorts(host, 1);
    const peerFile = path.join(dir, 'haproxy.cfg');
    await writeFile(
      peerFile,
      renderPeerConfig({
        listen: `${host}:${peerPort}`,
        backends: topology.backendUrls.map((u) => new URL(u).host),
        log: nginxLogs,
        threads: 1,
      }),
    );
    processes.unshift([
      'haproxy-peer',
      {
        name: 'haproxy-peer',
        command: findHaproxy(),
        args: ['-db', '-f', peerFile],
        host,
        port: peerPort,
      },
    ]);
    const rows: InstructionsRow[] = [];
    for (const name of INSTRUCTION_PATHS) {
      const p = processes.find(([n]) => n === name)?.[1];
      if (!p) continue;
      progress(
        `instructions: ${name} under callgrind (${settings.shortRequests} and ${settings.longRequests} requests over ${settings.connections} connections)`,
      );
      rows.push(
        await countPath(valgrind, name, p, pinTo, settings, dir, signal),
      );
    }
    return {
      ...figure,
      valgrind: await valgrindVersion(valgrind),
      nginxLogs,
      rows,
    };
  } finally {
    releaseBlock(block);
    await rm(dir, { recursive: true, force: true });
  }
}
