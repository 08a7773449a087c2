import { existsSync } from 'node:fs';
import * as path from 'node:path';

export const INSTALL_HINT = 'install nginx and HAProxy with `npm run setup` (or `sudo apt-get install nginx haproxy`)';

/** An executable from PATH or the sbin directories (where Debian puts nginx and haproxy), or a one-line error. */
export function findExecutable(name: 'nginx' | 'haproxy'): string {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin']) {
    const candidate = path.join(dir, name);
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} not found: ${INSTALL_HINT}`);
}
