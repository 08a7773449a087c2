import { accessSync, constants } from 'node:fs';
import * as path from 'node:path';
import { CliError } from '../cli/cli-error';

/** HAProxy from PATH or /usr/sbin (where Debian puts it), or a one-line error saying how to install it. */
export function findHaproxy(): string {
  const dirs = [
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean),
    '/usr/sbin',
    '/usr/local/sbin',
  ];
  const found = dirs.map((dir) => path.join(dir, 'haproxy')).find(isExecutable);
  if (!found)
    throw new CliError(
      'haproxy is not installed: run `npm run setup` or `sudo apt-get install haproxy`',
      1,
    );
  return found;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
