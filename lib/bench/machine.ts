/**
 * What the figures were measured on: they mean little without the machine, its load and the versions.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import { findHaproxy } from '../local/binaries';
import { findNginx } from '../nginx/nginx-binary';
import { findWrk } from './load';
import type { MachineInfo } from './results';

/** The first line of a command's stdout+stderr matching `pattern` (nginx prints its version on stderr). */
function versionOf(
  file: string,
  args: readonly string[],
  pattern: RegExp,
): Promise<string> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      const match = pattern.exec(`${stdout}\n${stderr}`);
      resolve(
        match
          ? match[1]
          : `unknown (${err ? err.message.split('\n')[0] : 'no version printed'})`,
      );
    });
  });
}

async function osName(): Promise<string> {
  try {
    const release = await readFile('/etc/os-release', 'utf8');
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release);
    if (pretty) return `${pretty[1]}, Linux ${os.release()}`;
  } catch {
    // Not every system has /etc/os-release; the kernel's name is enough then.
  }
  return `${os.type()} ${os.release()}`;
}

function executableOrNone(find: () => string): string | undefined {
  try {
    return find();
  } catch {
    return undefined;
  }
}

export async function describeMachine(): Promise<MachineInfo> {
  const cpus = os.cpus();
  const nginx = executableOrNone(findNginx);
  const haproxy = executableOrNone(findHaproxy);
  const wrk = executableOrNone(findWrk);
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: await osName(),
    node: process.version,
    nginx: nginx
      ? await versionOf(nginx, ['-v'], /nginx\/(\S+)/)
      : 'not installed',
    haproxy: haproxy
      ? await versionOf(haproxy, ['-v'], /HAProxy version (\S+)/)
      : 'not installed',
    wrk: wrk ? await versionOf(wrk, ['-v'], /wrk (\S+)/) : 'not installed',
    loadAverageAtStart: os.loadavg()[0],
  };
}
