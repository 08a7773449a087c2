/**
 * One nginx edge node of the local topology: its own directory (config, pid, logs, temp files), its own
 * address and port, nginx in the foreground so that stopping the process stops the node.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { findNginx, runNginx } from '../nginx/nginx-binary';
import { nginxConf } from '../nginx/nginx-options';
import {
  childPids,
  killWithChildren,
  ManagedProcess,
  spawnManaged,
  listeningOrStopped,
} from './processes';

export interface NginxNode {
  readonly host: string;
  readonly port: number;
  /** The master's pid: its workers are its children (the overhead figure reads their CPU time). */
  readonly pid: number;
  /** The node's JSON access log (`lib/nginx/access-log.ts`: client address, request, backend, routes, times). */
  readonly accessLog: string;
  /** The whole nginx.conf the node runs. */
  readonly configFile: string;
  /** Checks the new http config with `nginx -t`, then reloads (SIGHUP) and waits for the new workers. */
  reload(http: string): Promise<void>;
  /** SIGKILL to the master and its workers at once: the node is lost, nothing is closed gracefully. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** How a node's nginx runs, beyond its http config. */
export interface NodeProcessOptions {
  readonly workerProcesses: number | 'auto';
  /** Buffer the access log as shipped, instead of one write per request. */
  readonly bufferAccessLog: boolean;
}

/**
 * Makes `dir` a node's prefix (its temp directory, and the permissions nginx's workers need) and writes `http`
 * inside the main config to `dir/nginx.conf`, checked with `nginx -t`. Returns the file and its text.
 */
export async function writeNodeConfig(
  dir: string,
  http: string,
  processOptions: NodeProcessOptions,
): Promise<{ readonly file: string; readonly text: string }> {
  await mkdir(path.join(dir, 'tmp'), { recursive: true });
  // nginx started as root runs its workers as nobody, who must be able to enter the node's directory.
  await chmod(dir, 0o755);
  await chmod(path.join(dir, 'tmp'), 0o777);
  const file = path.join(dir, 'nginx.conf');
  const text = nginxConf(http, { kind: 'local', dir, ...processOptions });
  await writeFile(file, text);
  await checkConfig(dir, file);
  return { file, text };
}

export async function startNginxNode(
  dir: string,
  host: string,
  port: number,
  http: string,
  processOptions: NodeProcessOptions,
  signal?: AbortSignal,
): Promise<NginxNode> {
  const nginx = findNginx();
  // After an abort the topology removes its directory: a node must not create it again.
  signal?.throwIfAborted();
  const { file: confFile } = await writeNodeConfig(dir, http, processOptions);
  const accessLog = path.join(dir, 'access.log');
  const mainConfig = (httpConfig: string) =>
    nginxConf(httpConfig, { kind: 'local', dir, ...processOptions });
  signal?.throwIfAborted();
  // -e stderr: what nginx says before it has opened the config's error_log (e.g. why it cannot start) ends up in
  // the error this module throws, and nginx never touches the compiled-in log path.
  const args = ['-p', dir, '-c', confFile, '-e', 'stderr', '-g', 'daemon off;'];
  const master = spawnManaged(`nginx ${host}:${port}`, nginx, args, signal);
  await listeningOrStopped(master, host, port, 10_000);
  return {
    host,
    port,
    pid: master.child.pid as number,
    accessLog,
    configFile: confFile,
    async reload(httpConfig) {
      await writeFile(confFile, mainConfig(httpConfig));
      await checkConfig(dir, confFile);
      await reloadWorkers(master);
    },
    kill: () => killWithChildren(master),
    stop: () => master.stop(),
  };
}

/** `nginx -t`: a config nginx would refuse is reported with nginx's own message, before anything runs it. */
async function checkConfig(dir: string, confFile: string): Promise<void> {
  const { code, stderr } = await runNginx([
    '-t',
    '-q',
    '-p',
    dir,
    '-c',
    confFile,
    '-e',
    'stderr',
  ]);
  if (code === 0) return;
  const lines = stderr.split('\n');
  throw new Error(
    `nginx -t rejected ${confFile}: ${lines.find((l) => l.includes('[emerg]')) ?? lines[0]}`,
  );
}

/** SIGHUP starts new workers with the new config and retires the old ones; done when no old one is left. */
async function reloadWorkers(master: ManagedProcess): Promise<void> {
  const pid = master.child.pid as number;
  const before = await childPids(pid);
  master.child.kill('SIGHUP');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const now = await childPids(pid);
    if (now.length > 0 && !now.some((p) => before.includes(p))) return;
    if (Date.now() > deadline)
      throw new Error(`${master.name} did not finish reloading in 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
