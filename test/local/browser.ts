import { execFileSync } from 'node:child_process';

/** Debian's Chromium (installed by `npm run setup`); playwright-core drives it, it downloads no browser. */
export function chromiumPath(): string {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim();
    } catch {
      // not this name; try the next
    }
  }
  throw new Error(
    'chromium is not installed: run `npm run setup` or `sudo apt-get install chromium`',
  );
}
