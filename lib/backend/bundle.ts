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

/** Where a bundle runs, when not on the instances' Node.js. */
export interface BundleTarget {
  /** esbuild's target. @default 'node18', the oldest Node.js the instances run */
  readonly target?: string;
  /** Modules left to the runtime, not bundled (esbuild's `external`, `*` wildcards allowed). @default none */
  readonly external?: readonly string[];
}

/**
 * One TypeScript entry point and what it imports as a single minified CommonJS script, for the Node.js the
 * instances run (the demo backend, the health agent: small enough to inline in user data) or, with `to`,
 * for another runtime (the post-deploy Lambda).
 */
export function bundleNodeScript(
  entryPoint: string,
  to: BundleTarget = {},
): string {
  const result = buildSync({
    entryPoints: [entryPoint],
    bundle: true,
    minify: true,
    platform: 'node',
    target: to.target ?? 'node18',
    external: [...(to.external ?? [])],
    format: 'cjs',
    sourcemap: false,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}
