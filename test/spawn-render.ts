/** `npx sticky-edge render` as an operator runs it: a real process, its exit code, stdout and stderr. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(__dirname, '..', 'bin', 'sticky-edge.cjs');

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function spawnRender(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'render', ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
          stdout,
          stderr,
        }),
    );
  });
}
