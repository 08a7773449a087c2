import { findExecutable } from '../os/find-executable';

/** HAProxy from PATH or /usr/sbin (where Debian puts it), or a one-line error saying how to install it. */
export function findHaproxy(): string {
  return findExecutable(
    'haproxy',
    'run `npm run setup` or `sudo apt-get install haproxy`',
  );
}
