import { buildSync } from 'esbuild';
import * as path from 'node:path';

let cached: string | undefined;

/**
 * The health agent as one dependency-free script for `node`, inlined in the nginx nodes' user data (16 KB
 * limit, shared with nginx.conf), hence minified. Built once per process.
 */
export function bundleAgent(): string {
  cached ??= buildSync({
    entryPoints: [path.join(__dirname, 'main.ts')],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    sourcemap: false,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  }).outputFiles[0].text;
  return cached;
}
