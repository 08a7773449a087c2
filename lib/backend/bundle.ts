import { buildSync } from 'esbuild';
import * as path from 'node:path';

let cached: string | undefined;

/**
 * The demo backend as one dependency-free script for `node`. It is inlined in the app instances' user data
 * (16 KB limit), hence minified and without a source map. Built once per process: synth and tests ask often.
 */
export function bundleBackend(): string {
  cached ??= build();
  return cached;
}

function build(): string {
  const result = buildSync({
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
  });
  return result.outputFiles[0].text;
}
