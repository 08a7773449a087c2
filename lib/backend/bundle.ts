import { buildSync } from 'esbuild';
import * as path from 'node:path';

let cached: string | undefined;

/**
 * The demo backend as one dependency-free script for `node`. It is inlined in the app instances' user data
 * (16 KB limit), hence minified and without a source map. Built once per process: synth and tests ask often.
 */
export function bundleBackend(): string {
  cached ??= bundleNodeScript(path.join(__dirname, 'main.ts'));
  return cached;
}

/**
 * One TypeScript entry point and what it imports as a single minified CommonJS script for the Node.js the
 * instances run (the demo backend, the health agent): small enough to inline in user data.
 */
export function bundleNodeScript(entryPoint: string): string {
  const result = buildSync({
    entryPoints: [entryPoint],
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
