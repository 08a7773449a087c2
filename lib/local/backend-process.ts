/**
 * A demo backend as its own `node` process running the same bundle the app instances run, so killing it
 * (SIGKILL) is a real crash that nginx has to route around.
 */
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { bundleBackend } from '../backend/bundle';
import { ManagedProcess, spawnManaged } from './processes';

export interface BackendProcess {
  readonly name: string;
  /** `ADDR:PORT`, as written in the nginx config. */
  readonly address: string;
  readonly url: string;
  readonly pid: number;
  kill(): Promise<void>;
  /** SIGSTOP: the process keeps its socket, so the kernel still accepts connections, but nothing answers (a hang). */
  freeze(): void;
  /** SIGCONT after `freeze`. */
  thaw(): void;
  stop(): Promise<void>;
}

/** Writes the backend bundle into `dir` (once per topology) and returns its path. */
export async function writeBackendBundle(dir: string): Promise<string> {
  const file = path.join(dir, 'backend.js');
  await writeFile(file, bundleBackend());
  return file;
}

/** The demo backend's command line after `node`: its bundle, name, listen address and trusted proxy. */
export function backendArgs(
  bundle: string,
  name: string,
  listen: string,
  trustProxy: string,
): string[] {
  return [
    bundle,
    '--name',
    name,
    '--listen',
    listen,
    '--trust-proxy',
    trustProxy,
  ];
}

export async function startBackendProcess(
  bundle: string,
  name: string,
  host: string,
  port: number,
  trustProxy: string,
  signal?: AbortSignal,
): Promise<BackendProcess> {
  const args = backendArgs(bundle, name, `${host}:${port}`, trustProxy);
  const managed: ManagedProcess = spawnManaged(
    `backend ${name}`,
    process.execPath,
    args,
    signal,
  );
  try {
    await managed.waitForLine(/^listening on /, 15_000);
  } catch (err) {
    await managed.stop();
    throw err;
  }
  return {
    name,
    address: `${host}:${port}`,
    url: `http://${host}:${port}`,
    pid: managed.child.pid as number,
    kill: () => managed.kill(),
    freeze: () => void managed.child.kill('SIGSTOP'),
    thaw: () => void managed.child.kill('SIGCONT'),
    // A frozen process would not act on SIGTERM until the grace period's SIGKILL.
    stop: () => {
      managed.child.kill('SIGCONT');
      return managed.stop();
    },
  };
}
