/**
 * Imports point down only. Each module of lib/, bin/ and lambda/ belongs to a layer; it may import from its
 * own layer and from layers below, never from one above. The order, top to bottom:
 *
 *   bin, lambda            entry points (the CDK app, the CLI, the post-deploy Lambda); neither imports the other
 *   lib/cli                the CLI's commands
 *   lib/local, lib/bench,  the local topology, the benchmarks, the AWS preflight: programs built on the layers below
 *   lib/preflight
 *   lib/stacks             the CDK stack
 *   lib/constructs         the CDK constructs
 *   lib/verify             the verifier. Below the constructs, because DeployCheck bundles it and names its
 *                          limits and environment; it imports only the renderer's names and the ground floor
 *   lib/nginx              the renderer and nginx.conf (no CDK)
 *   lib/agent              the health agent beside nginx (edits a rendered nginx.conf; no CDK)
 *   lib/settings.ts,       the ground floor: settings, the demo backend, OS helpers
 *   lib/backend, lib/os
 *   lib/errors.ts          the one user-error type, importable from everywhere
 *
 * Below the constructs nothing imports the CDK: those layers run in the CLI, the local topology and the Lambda.
 * Imports are read with a regular expression over each file (static and type imports, re-exports,
 * `require(…)` and `import(…)`), which is enough for this code base's plain import statements.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

interface Layer {
  readonly name: string;
  readonly rank: number;
  readonly paths: readonly string[];
}

const LAYERS: readonly Layer[] = [
  { name: 'errors', rank: 0, paths: ['lib/errors.ts'] },
  {
    name: 'ground floor',
    rank: 1,
    paths: ['lib/settings.ts', 'lib/backend/', 'lib/os/'],
  },
  { name: 'nginx', rank: 2, paths: ['lib/nginx/'] },
  // The health agent beside nginx: bundled for the nginx nodes, run by the local topology.
  { name: 'agent', rank: 2.5, paths: ['lib/agent/'] },
  { name: 'verify', rank: 3, paths: ['lib/verify/'] },
  { name: 'constructs', rank: 4, paths: ['lib/constructs/'] },
  { name: 'stacks', rank: 5, paths: ['lib/stacks/'] },
  {
    name: 'programs',
    rank: 6,
    paths: ['lib/local/', 'lib/bench/', 'lib/preflight/'],
  },
  { name: 'cli', rank: 7, paths: ['lib/cli/'] },
  { name: 'bin', rank: 8, paths: ['bin/'] },
  { name: 'lambda', rank: 8, paths: ['lambda/'] },
];

/** Packages only the CDK layers (and the CDK app's entry) may import. */
const CDK_PACKAGES = /^(aws-cdk-lib|constructs|cdk-nag)(\/|$)/;
const CDK_FREE_BELOW = LAYERS.find((l) => l.name === 'constructs')!.rank;

function layerOf(file: string): Layer | undefined {
  return LAYERS.find((l) =>
    l.paths.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p)),
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), {
    recursive: true,
    withFileTypes: true,
  })
    .filter((e) => e.isFile() && /\.(ts|mts|cts)$/.test(e.name))
    .map((e) =>
      path
        .relative(ROOT, path.join(e.parentPath, e.name))
        .split(path.sep)
        .join('/'),
    )
    .filter((f) => !f.endsWith('.d.ts'))
    .sort();
}

/** Every module specifier a file imports, re-exports, requires or imports dynamically. */
function importsOf(source: string): string[] {
  const statements =
    /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm;
  const bare = /^\s*import\s*['"]([^'"]+)['"]/gm;
  const calls = /\b(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g;
  return [statements, bare, calls].flatMap((re) =>
    [...source.matchAll(re)].map((m) => m[1]),
  );
}

/** A relative specifier as a repository path (with its .ts file or index.ts), or the package name. */
function resolve(from: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  const base = path.posix.join(path.posix.dirname(from), specifier);
  const candidates = [
    base,
    `${base}.ts`,
    `${base}/index.ts`,
    base.replace(/\.js$/, '.ts'),
  ];
  return (
    candidates.find((c) => {
      try {
        return readFileSync(path.join(ROOT, c)) !== undefined;
      } catch {
        return false;
      }
    }) ?? base
  );
}

interface Import {
  readonly from: string;
  readonly to: string;
  readonly specifier: string;
}

const FILES = ['lib', 'bin', 'lambda'].flatMap(sourceFiles);
const IMPORTS: Import[] = FILES.flatMap((from) =>
  importsOf(readFileSync(path.join(ROOT, from), 'utf8')).map((specifier) => ({
    from,
    to: resolve(from, specifier),
    specifier,
  })),
);

/** Why an import breaks the layering, or undefined when it is fine. */
function violation(i: Import): string | undefined {
  const from = layerOf(i.from)!;
  if (!i.specifier.startsWith('.')) {
    return from.rank < CDK_FREE_BELOW && CDK_PACKAGES.test(i.to)
      ? `${i.from} (${from.name}) imports '${i.specifier}': the CDK belongs to constructs and stacks`
      : undefined;
  }
  const to = layerOf(i.to);
  if (to === undefined)
    return `${i.from} imports '${i.specifier}' (${i.to}), which is in no layer`;
  if (to === from || to.rank < from.rank) return undefined;
  return `${i.from} (${from.name}) imports '${i.specifier}' from ${to.name}, a layer above or beside it`;
}

test('finds the modules and their imports', () => {
  expect(FILES).toEqual(
    expect.arrayContaining([
      'bin/app.ts',
      'lib/errors.ts',
      'lib/nginx/render.ts',
      'lambda/verify/index.ts',
    ]),
  );
  expect(IMPORTS.length).toBeGreaterThan(100);
});

test('every module belongs to a layer', () => {
  expect(FILES.filter((f) => layerOf(f) === undefined)).toEqual([]);
});

test('every import points to its own layer or below', () => {
  const violations = IMPORTS.flatMap((i) => violation(i) ?? []);
  expect(violations).toEqual([]);
});

describe('the rule itself', () => {
  test.each([
    ["import { a } from './b';", ['./b']],
    ["import type { A } from '../b';", ['../b']],
    ["import {\n  a,\n  b,\n} from '../c';", ['../c']],
    ["export { a } from './d';", ['./d']],
    ["export * from './e';", ['./e']],
    ["import * as f from 'node:fs';", ['node:fs']],
    ["import './side-effect';", ['./side-effect']],
    ["const g = require('../g');", ['../g']],
    ["const h = await import('../../h');", ['../../h']],
  ])('reads %j', (source, specifiers) => {
    expect(importsOf(source)).toEqual(specifiers);
  });

  test.each<[string, string, boolean]>([
    ['lib/os/find-executable.ts', '../cli/cli-error', false],
    ['lib/nginx/render.ts', '../settings', true],
    ['lib/nginx/render.ts', '../errors', true],
    ['lib/settings.ts', './nginx/render', false],
    ['lib/constructs/nginx-tier.ts', '../nginx/render', true],
    ['lib/constructs/nginx-tier.ts', '../stacks/sticky-edge-stack', false],
    ['lib/local/node-config.ts', '../constructs/nginx-tier', true],
    ['lib/local/node-config.ts', '../cli/render', false],
    ['lib/verify/verify.ts', '../local/topology', false],
    ['lib/constructs/deploy-check.ts', '../../lambda/verify/index', false],
    ['bin/app.ts', '../lambda/verify/index', false],
    ['lambda/verify/index.ts', '../../lib/verify', true],
  ])('%s importing %s is allowed: %s', (from, specifier, allowed) => {
    const i = { from, to: resolve(from, specifier), specifier };
    expect(violation(i) === undefined).toBe(allowed);
  });

  test.each<[string, string, boolean]>([
    ['lib/nginx/render.ts', 'aws-cdk-lib', false],
    ['lib/verify/verify.ts', 'constructs', false],
    ['lib/constructs/nginx-tier.ts', 'aws-cdk-lib/aws-ec2', true],
    ['lib/local/topology.ts', 'node:net', true],
  ])('%s importing package %s is allowed: %s', (from, specifier, allowed) => {
    expect(violation({ from, to: specifier, specifier }) === undefined).toBe(
      allowed,
    );
  });
});
