/**
 * Scale-in that does not cut WebSockets: the health agent's second job on an instance of the nginx Auto Scaling
 * group, when the group has a termination lifecycle hook (`nginxWebSocketDrainSeconds` > 0).
 *
 * What AWS does, in order (Amazon EC2 Auto Scaling User Guide, "How lifecycle hooks work"): on scale-in the group
 * first deregisters the instance from its target group and waits the deregistration delay, then puts it in
 * `Terminating:Wait` and sets the instance metadata item `autoscaling/target-lifecycle-state` to `Terminated`
 * ("Retrieve the target lifecycle state through instance metadata"). The instance stays until
 * `CompleteLifecycleAction`, or until the hook's heartbeat timeout passes without a
 * `RecordLifecycleActionHeartbeat` (then the default result, CONTINUE, terminates it), and never longer than the
 * global timeout: 48 hours or 100 × the heartbeat timeout, whichever is smaller.
 *
 * What this does on the node: it polls IMDSv2 for `Terminated`, then `nginx -s quit`. nginx's graceful
 * shutdown closes the listeners (nothing new can arrive: the load balancer has already stopped sending) and the
 * idle keep-alive connections, lets requests finish, and keeps an upgraded connection (a WebSocket) until one
 * side closes it; the master exits after the last one (measured on nginx 1.22: the worker stays "shutting down"
 * while a WebSocket is open; `worker_shutdown_timeout` would cut them and is not set). So "nginx's master is
 * still running" is exactly "this node still carries a connection". While it runs, the agent records a heartbeat
 * every `heartbeatMs`; when it exits, or at `maxDrainMs`, the agent completes the action with CONTINUE. At the
 * maximum it first runs `nginx -s stop`, whose fast shutdown closes what is left, so the clients see a close
 * (and reconnect through another node, to the same backend) instead of waiting on an instance that is gone.
 *
 * The AWS calls go through the AWS CLI that Amazon Linux 2023 ships (`aws autoscaling …`), with the instance
 * role's credentials: no SDK in the bundle, which travels in the 16 KB of user data.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LifecycleOptions {
  /** The termination lifecycle hook's name on the node's Auto Scaling group. */
  readonly hookName: string;
  /** The group's region, for the AWS CLI. */
  readonly region: string;
  /** The longest the node waits for its connections after it learnt it is terminating. */
  readonly maxDrainMs: number;
  /** Time between two heartbeats while connections remain: well under the hook's heartbeat timeout. */
  readonly heartbeatMs: number;
  /** Time between two looks at the instance metadata (and at nginx, while draining). */
  readonly pollMs: number;
  /** The instance metadata service's base URL. */
  readonly imds: string;
  /** The AWS CLI executable. */
  readonly aws: string;
}

/** The nginx the agent watches: its config (which names the pid file), prefix and binary. */
export interface NginxProcess {
  readonly conf: string;
  readonly prefix?: string;
  readonly nginx: string;
}

/** Settings-independent defaults; the hook's heartbeat timeout (lib/constructs/nginx-tier.ts) is 5 × heartbeatMs. */
export const LIFECYCLE_DEFAULTS = {
  heartbeatMs: 60_000,
  pollMs: 5_000,
  imds: 'http://169.254.169.254',
  aws: 'aws',
} as const;

type Log = (line: string) => void;

/** How often a draining node looks whether nginx has exited: a signal-0 `kill`, so cheap, and the action completes this soon after the last connection closes. */
const EXIT_CHECK_MS = 250;

/** One IMDSv2 GET: a session token first (PUT), then the item with it; rejects on anything but 200. */
export async function imdsGet(base: string, item: string): Promise<string> {
  const token = await httpText(`${base}/latest/api/token`, 'PUT', {
    'X-aws-ec2-metadata-token-ttl-seconds': '60',
  });
  return (
    await httpText(`${base}/latest/meta-data/${item}`, 'GET', {
      'X-aws-ec2-metadata-token': token,
    })
  ).trim();
}

function httpText(
  url: string,
  method: string,
  headers: Record<string, string>,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, headers, agent: false, timeout: 2_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(body)
            : reject(new Error(`${method} ${url}: HTTP ${res.statusCode}`)),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${method} ${url}: timeout`)),
    );
    req.on('error', reject);
    req.end();
  });
}

/** Resolves once IMDS says the group is terminating this instance; an unreachable IMDS is logged once and retried. */
export async function waitForTermination(
  o: LifecycleOptions,
  signal: AbortSignal,
  log: Log,
): Promise<boolean> {
  let failing = false;
  while (!signal.aborted) {
    try {
      const state = await imdsGet(o.imds, 'autoscaling/target-lifecycle-state');
      failing = false;
      if (state === 'Terminated') return true;
    } catch (err) {
      if (!failing) log(`instance metadata: ${(err as Error).message}`);
      failing = true;
    }
    await sleep(o.pollMs, signal);
  }
  return false;
}

/** The running nginx master's pid, from the pid file the config names; undefined when nginx is not running. */
export async function nginxMasterPid(
  n: NginxProcess,
): Promise<number | undefined> {
  const conf = await readFile(n.conf, 'utf8');
  const named = /^\s*pid\s+([^;\s]+);/m.exec(conf)?.[1] ?? '/run/nginx.pid';
  const file = resolve(n.prefix ?? '/', named);
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 && isRunning(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function nginxSignal(n: NginxProcess, s: 'quit' | 'stop') {
  return run(n.nginx, [
    ...(n.prefix ? ['-p', n.prefix] : []),
    '-c',
    n.conf,
    '-e',
    'stderr',
    '-s',
    s,
  ]);
}

/** A call that hangs (no network to the API) fails after a minute, and the caller tries again. */
const AWS_CALL_TIMEOUT_MS = 60_000;

function autoscaling(o: LifecycleOptions, args: string[]) {
  return run(o.aws, ['autoscaling', ...args, '--region', o.region], {
    timeout: AWS_CALL_TIMEOUT_MS,
  });
}

/**
 * After `Terminated`: quit nginx gracefully, keep the node with heartbeats while nginx still holds a connection,
 * stop nginx at the maximum, then complete the lifecycle action with CONTINUE.
 */
export async function drainAndComplete(
  o: LifecycleOptions,
  n: NginxProcess,
  log: Log,
): Promise<void> {
  const instanceId = await imdsGet(o.imds, 'instance-id');
  const { stdout } = await autoscaling(o, [
    'describe-auto-scaling-instances',
    '--instance-ids',
    instanceId,
    '--query',
    'AutoScalingInstances[0].AutoScalingGroupName',
    '--output',
    'text',
  ]);
  const group = stdout.trim();
  const action = [
    '--lifecycle-hook-name',
    o.hookName,
    '--auto-scaling-group-name',
    group,
    '--instance-id',
    instanceId,
  ];
  const pid = await nginxMasterPid(n);
  const started = Date.now();
  if (pid !== undefined)
    await holdWhileNginxRuns(o, n, pid, action, started, log);
  await autoscaling(o, [
    'complete-lifecycle-action',
    ...action,
    '--lifecycle-action-result',
    'CONTINUE',
  ]);
  log(
    `lifecycle action completed (CONTINUE) after ${((Date.now() - started) / 1000).toFixed(1)} s of draining`,
  );
}

/** `nginx -s quit`, then heartbeats until the master has exited, or `nginx -s stop` at the maximum. */
async function holdWhileNginxRuns(
  o: LifecycleOptions,
  n: NginxProcess,
  pid: number,
  action: readonly string[],
  started: number,
  log: Log,
): Promise<void> {
  await nginxSignal(n, 'quit');
  log(
    `terminating: nginx quits gracefully, waiting up to ${o.maxDrainMs / 1000} s for its open connections (WebSockets)`,
  );
  let lastBeat = started;
  while (isRunning(pid)) {
    if (Date.now() - started >= o.maxDrainMs) {
      log(
        `connections still open after ${o.maxDrainMs / 1000} s: nginx stops and closes them`,
      );
      await nginxSignal(n, 'stop').catch((err: Error) =>
        log(`nginx -s stop: ${err.message}`),
      );
      return;
    }
    if (Date.now() - lastBeat >= o.heartbeatMs) {
      lastBeat = Date.now();
      await autoscaling(o, [
        'record-lifecycle-action-heartbeat',
        ...action,
      ]).catch((err: Error) => log(`heartbeat failed: ${err.message}`));
    }
    await new Promise((resolve) => setTimeout(resolve, EXIT_CHECK_MS));
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Waits for `Terminated`, calls `onTerminating` (the health rounds stop: nginx is about to quit), then drains
 * and completes the action, trying again `pollMs` later if an AWS call fails (the hook's heartbeat timeout
 * bounds how long a node can wait for that). Afterwards the agent idles until the instance stops it.
 */
export async function runLifecycle(
  o: LifecycleOptions,
  n: NginxProcess,
  signal: AbortSignal,
  log: Log,
  onTerminating: () => void,
): Promise<void> {
  if (!(await waitForTermination(o, signal, log))) return;
  onTerminating();
  while (!signal.aborted) {
    try {
      await drainAndComplete(o, n, log);
      return;
    } catch (err) {
      log(`draining failed: ${(err as Error).message}; trying again`);
      await sleep(o.pollMs, signal);
    }
  }
}
