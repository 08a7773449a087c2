import { accessSync, constants } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';

/** Debian puts nginx and HAProxy in /usr/sbin, which a non-root shell's PATH often lacks. */
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin'];

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The OS package binary `name` from PATH or the sbin folders, or a one-line `UserError` (exit 1) saying it is not
 * installed and how to install it.
 */
export function findExecutable(name: string, installHint: string): string {
  const dirs = [
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean),
    ...SBIN_DIRS,
  ];
  const found = dirs.map((dir) => path.join(dir, name)).find(isExecutable);
  if (!found)
    throw new UserError(`${name} is not installed: ${installHint}`, 1);
  return found;
}
