/**
 * The health agent beside nginx on each edge node. Open-source nginx checks backends only passively (a
 * request must fail first), so a backend that hangs or whose packets are dropped keeps being sent requests
 * that each wait for a timeout. The agent probes every backend's health path itself, and when one has failed
 * `fall` probes in a row it marks that backend `down` in nginx.conf, checks the file with `nginx -t` and
 * reloads nginx gracefully (`nginx -s reload`: new workers take new requests, old ones finish theirs). When the
 * backend answers `rise` probes in a row, the mark is removed the same way.
 */
import { execFile } from 'node:child_process';
import { readFile, rename, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { UserError } from '../errors';
import {
  BackendHealth,
  downSet,
  observe,
  Thresholds,
  UNPROBED,
} from './health';
import { LIFECYCLE_DEFAULTS, LifecycleOptions } from './lifecycle';
import { configBackends, withDown } from './nginx-conf';

const run = promisify(execFile);

export interface AgentOptions extends Thresholds {
  /** The nginx.conf nginx runs; the agent rewrites it in place. */
  readonly conf: string;
  /** nginx's `-p` prefix. @default - none: nginx's compiled-in prefix */
  readonly prefix?: string;
  /** The nginx binary. */
  readonly nginx: string;
  /** Each backend's health path; any 2xx or 3xx answer within the timeout is a good probe. */
  readonly healthPath: string;
  /** Time between the starts of two rounds of probes. */
  readonly intervalMs: number;
  /** A probe not answered within this counts as failed: a hung backend and a black hole fail alike. */
  readonly timeoutMs: number;
  /** Hold the instance while WebSockets remain when its Auto Scaling group terminates it. @default - not watched */
  readonly lifecycle?: LifecycleOptions;
}

/**
 * The defaults, chosen for the target "within 3 s of a backend hanging, no new request is sent to it": the
 * last good probe can end just before the hang, then `fall` probes start `intervalMs` apart and the last one
 * fails after `timeoutMs`, so detection takes at most 3 × 0.5 s + 0.4 s = 1.9 s, plus `nginx -t` and the
 * reload (tens of milliseconds), leaving about a second for a loaded machine. Two probes per second per
 * backend per node cost each backend a few requests a second.
 */
export const AGENT_DEFAULTS = {
  healthPath: '/healthz',
  intervalMs: 500,
  timeoutMs: 400,
  fall: 3,
  rise: 2,
} as const;

export type ProbeResult = { ok: true } | { ok: false; reason: string };

/** GET `http://ADDR/healthPath` on a fresh connection (a dead keep-alive connection must not hide a black hole). */
export function probe(
  address: string,
  healthPath: string,
  timeoutMs: number,
): Promise<ProbeResult> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(colon + 1));
  return new Promise((resolve) => {
    const req = request(
      { host, port, path: healthPath, agent: false, timeout: timeoutMs },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        res.on('end', () =>
          resolve(
            status >= 200 && status < 400
              ? { ok: true }
              : { ok: false, reason: `HTTP ${status}` },
          ),
        );
        res.on('error', (err) => resolve({ ok: false, reason: err.message }));
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => resolve({ ok: false, reason: err.message }));
    req.on('close', () => clearTimeout(timer));
    req.end();
  });
}

/** One round: probe every backend the config names, and rewrite and reload nginx if the down set changed. */
export async function agentRound(
  o: AgentOptions,
  health: Map<string, BackendHealth>,
  log: (line: string) => void,
): Promise<void> {
  const conf = await readFile(o.conf, 'utf8');
  const backends = configBackends(conf);
  const results = await Promise.all(
    backends.map((b) => probe(b, o.healthPath, o.timeoutMs)),
  );
  backends.forEach((b, i) => {
    const before = health.get(b) ?? UNPROBED;
    const after = observe(before, results[i].ok, o);
    const r = results[i];
    if (before.up && !after.up)
      log(`${b} is down: ${o.fall} failed probes (${r.ok ? '' : r.reason})`);
    if (!before.up && after.up) log(`${b} is up: ${o.rise} good probes`);
    health.set(b, after);
  });
  for (const b of health.keys()) if (!backends.includes(b)) health.delete(b);
  const down = downSet(backends, health);
  const wanted = withDown(conf, down);
  if (wanted === conf) return;
  await applyConfig(o, conf, wanted, log);
  log(`nginx reloaded; down: ${[...down].join(', ') || 'none'}`);
}

function nginxArgs(o: AgentOptions, conf: string, ...rest: string[]) {
  return [
    ...(o.prefix ? ['-p', o.prefix] : []),
    '-c',
    conf,
    '-e',
    'stderr',
    ...rest,
  ];
}

/**
 * Writes the new config beside the old one, checks it with `nginx -t`, moves it into place and reloads. If the
 * file changed since it was read (re-rendered by a deploy or a scale-out), nothing is written: the next round
 * starts from the new file.
 */
async function applyConfig(
  o: AgentOptions,
  read: string,
  wanted: string,
  log: (line: string) => void,
): Promise<void> {
  const candidate = `${o.conf}.health-agent`;
  await writeFile(candidate, wanted);
  await chmod(candidate, (await stat(o.conf)).mode & 0o777);
  try {
    await run(o.nginx, nginxArgs(o, candidate, '-t', '-q'));
  } catch (err) {
    await rm(candidate, { force: true });
    const stderr = String((err as { stderr?: string }).stderr ?? err);
    throw new Error(`nginx -t rejected the new config: ${stderr.trim()}`, {
      cause: err,
    });
  }
  if ((await readFile(o.conf, 'utf8')) !== read) {
    await rm(candidate, { force: true });
    log(`${o.conf} changed while probing; starting over`);
    return;
  }
  await rename(candidate, o.conf);
  await run(o.nginx, nginxArgs(o, o.conf, '-s', 'reload'));
}

/** Runs rounds `intervalMs` apart until `signal` aborts. A failed round is logged, and the next one tries again. */
export async function runAgent(
  o: AgentOptions,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<void> {
  const health = new Map<string, BackendHealth>();
  log(
    `watching ${o.conf}: every ${o.intervalMs} ms, timeout ${o.timeoutMs} ms, fall ${o.fall}, rise ${o.rise}`,
  );
  while (!signal.aborted) {
    const started = Date.now();
    try {
      await agentRound(o, health, log);
    } catch (err) {
      log(`round failed: ${(err as Error).message}`);
    }
    const wait = Math.max(0, o.intervalMs - (Date.now() - started));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, wait);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
}

function wholeNumber(name: string, text: string, min: number, max: number) {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max))
    throw new UserError(
      `--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`,
    );
  return n;
}

/** The agent's options from its command line (`--conf` required), every bad value a one-line `UserError`. */
export function agentOptions(values: {
  conf?: string;
  prefix?: string;
  nginx?: string;
  'health-path'?: string;
  interval?: string;
  timeout?: string;
  fall?: string;
  rise?: string;
  'lifecycle-hook'?: string;
  region?: string;
  'websocket-drain'?: string;
  heartbeat?: string;
  'lifecycle-poll'?: string;
  imds?: string;
}): AgentOptions {
  if (!values.conf) throw new UserError('--conf FILE is required');
  const healthPath = values['health-path'] ?? AGENT_DEFAULTS.healthPath;
  if (!/^\/[\x21-\x7e]*$/.test(healthPath))
    throw new UserError(
      `--health-path must be a path starting with /, got ${JSON.stringify(healthPath)}`,
    );
  const num = (
    name: 'interval' | 'timeout' | 'fall' | 'rise',
    d: number,
    min: number,
    max: number,
  ) =>
    values[name] === undefined ? d : wholeNumber(name, values[name], min, max);
  const intervalMs = num('interval', AGENT_DEFAULTS.intervalMs, 100, 60_000);
  const timeoutMs = num('timeout', AGENT_DEFAULTS.timeoutMs, 50, 60_000);
  if (timeoutMs >= intervalMs)
    throw new UserError(
      `--timeout must be shorter than --interval (${intervalMs} ms), got ${timeoutMs}`,
    );
  return {
    conf: values.conf,
    prefix: values.prefix,
    nginx: values.nginx ?? 'nginx',
    healthPath,
    intervalMs,
    timeoutMs,
    fall: num('fall', AGENT_DEFAULTS.fall, 1, 10),
    rise: num('rise', AGENT_DEFAULTS.rise, 1, 10),
    lifecycle: lifecycleOptions(values),
  };
}

/** The longest WebSocket drain: the hook's global timeout is 100 × its 300 s heartbeat timeout, 30,000 s. */
export const MAX_WEBSOCKET_DRAIN_SECONDS = 28_800;
const LIFECYCLE_FLAGS = [
  'region',
  'websocket-drain',
  'heartbeat',
  'lifecycle-poll',
  'imds',
] as const;
/** Only the real instance metadata service, or a stand-in on loopback (tests). */
const IMDS_URL =
  /^http:\/\/(169\.254\.169\.254|\[fd00:ec2::254\]|127(\.\d{1,3}){3})(:\d{1,5})?$/;

function lifecycleOptions(
  values: Parameters<typeof agentOptions>[0],
): LifecycleOptions | undefined {
  const hookName = values['lifecycle-hook'];
  if (hookName === undefined) {
    const stray = LIFECYCLE_FLAGS.find((f) => values[f] !== undefined);
    if (stray !== undefined)
      throw new UserError(
        `--${stray} needs --lifecycle-hook NAME, got ${JSON.stringify(values[stray])} without it`,
      );
    return undefined;
  }
  // Auto Scaling's LifecycleHookName: 1-255 letters, digits, -, _ and /.
  if (!/^[A-Za-z0-9\-_/]{1,255}$/.test(hookName))
    throw new UserError(
      `--lifecycle-hook must be 1-255 letters, digits, -, _ or /, got ${JSON.stringify(hookName)}`,
    );
  const region = values.region;
  if (region === undefined || !/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(region))
    throw new UserError(
      `--region must be an AWS region such as us-east-1, got ${JSON.stringify(region)}`,
    );
  const imds = values.imds ?? LIFECYCLE_DEFAULTS.imds;
  if (!IMDS_URL.test(imds))
    throw new UserError(
      `--imds must be http://169.254.169.254 or a loopback http://127.x.x.x:PORT, got ${JSON.stringify(imds)}`,
    );
  const seconds = (
    name: 'websocket-drain' | 'heartbeat',
    d: number,
    min: number,
    max: number,
  ) =>
    values[name] === undefined
      ? d
      : wholeNumber(name, values[name], min, max) * 1000;
  return {
    hookName,
    region,
    maxDrainMs: seconds(
      'websocket-drain',
      3_600_000,
      1,
      MAX_WEBSOCKET_DRAIN_SECONDS,
    ),
    heartbeatMs: seconds('heartbeat', LIFECYCLE_DEFAULTS.heartbeatMs, 1, 3600),
    pollMs:
      values['lifecycle-poll'] === undefined
        ? LIFECYCLE_DEFAULTS.pollMs
        : wholeNumber('lifecycle-poll', values['lifecycle-poll'], 50, 60_000),
    imds,
    aws: LIFECYCLE_DEFAULTS.aws,
  };
}
