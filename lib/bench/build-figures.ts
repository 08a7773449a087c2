/**
 * The build figures: how long a whole-app `cdk synth` takes against an empty app's in the same run, how
 * long the unit tests take, and how big the verification Lambda's bundle is.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  mkdir,
  mkdtemp,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { bundleVerifyLambda } from '../verify/bundle';
import type { BuildResult } from './results';
import { median, pairedRatios } from './statistics';

/** How many empty-then-whole synth pairs the synth ratio is the median of. */
export const SYNTH_PAIRS = 3;

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
const bin = (name: string) =>
  path.join(REPO_ROOT, 'node_modules', '.bin', name);

/**
 * The behaviour tests start a whole local topology and take minutes on a shared machine; the unit-test
 * figure is every other jest test file (pure logic, CDK templates, single nginx or backend processes).
 */
const STARTS_A_TOPOLOGY = /local\/topology'|startTopology/;

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
}

interface Timing {
  readonly seconds: number;
  /** Undefined when the command succeeded; else why not, in one line. */
  readonly failure?: string;
}

/**
 * Runs a command in its own process group and times it; stops the group (a failure) after `limitSeconds`,
 * and when `signal` aborts (the run then rejects with the signal's reason).
 */
function timed(
  command: string,
  args: readonly string[],
  limitSeconds: number,
  signal: AbortSignal,
  cwd = REPO_ROOT,
): Promise<Timing> {
  signal.throwIfAborted();
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The group, not just the child: cdk and jest start processes of their own.
    const onAbort = () => killGroup(child);
    signal.addEventListener('abort', onAbort, { once: true });
    let overTime = false;
    const timer = setTimeout(() => {
      overTime = true;
      killGroup(child);
    }, limitSeconds * 1000);
    let output = '';
    const keep = (chunk: Buffer) =>
      (output = (output + chunk.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, killedBy) => {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(timer);
      if (signal.aborted) return reject(signal.reason);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const how = overTime
        ? `did not finish in ${limitSeconds} s`
        : killedBy
          ? `was stopped by ${killedBy}`
          : `exited with ${code}`;
      resolve({
        seconds,
        failure:
          code === 0
            ? undefined
            : `${path.basename(command)} ${how}: ${lastLine(output)}`,
      });
    });
  });
}

function lastLine(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '');
  return lines[lines.length - 1]?.trim() ?? '(no output)';
}

/** `cdk synth --quiet` of the app in `appDir` (the repo's by default), into a temporary directory. */
export async function synth(
  signal: AbortSignal,
  appDir = REPO_ROOT,
): Promise<Timing> {
  const out = await mkdtemp(path.join(tmpdir(), 'sticky-edge-bench-synth-'));
  try {
    return await timed(
      bin('cdk'),
      ['synth', '--quiet', '--output', out],
      300,
      signal,
      appDir,
    );
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/**
 * The files of an empty app as `cdk init app --language typescript` makes it (one stack, nothing in it),
 * run the way this repo runs its own (cdk.json's `app` command, with its feature flags), using this
 * repo's node_modules through a symlink, so nothing is fetched.
 */
export function emptyAppFiles(repoCdkJson: string): Record<string, string> {
  const cdkJson = JSON.parse(repoCdkJson) as Record<string, unknown>;
  return {
    'cdk.json': JSON.stringify(
      { ...cdkJson, app: 'npx tsx bin/app.ts', watch: undefined },
      null,
      2,
    ),
    'bin/app.ts': [
      "import * as cdk from 'aws-cdk-lib';",
      "import { Construct } from 'constructs';",
      '',
      'class EmptyStack extends cdk.Stack {',
      '  constructor(scope: Construct, id: string, props?: cdk.StackProps) {',
      '    super(scope, id, props);',
      '  }',
      '}',
      '',
      'const app = new cdk.App();',
      "new EmptyStack(app, 'EmptyStack');",
      '',
    ].join('\n'),
    'package.json': JSON.stringify({ name: 'empty-app', private: true }),
  };
}

/** Synth of an empty app in a temporary directory. */
export async function emptySynth(signal: AbortSignal): Promise<Timing> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sticky-edge-bench-empty-'));
  try {
    const files = emptyAppFiles(
      await readFile(path.join(REPO_ROOT, 'cdk.json'), 'utf8'),
    );
    await mkdir(path.join(dir, 'bin'));
    for (const [name, text] of Object.entries(files))
      await writeFile(path.join(dir, name), text);
    await symlink(
      path.join(REPO_ROOT, 'node_modules'),
      path.join(dir, 'node_modules'),
    );
    return await synth(signal, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The post-deploy Lambda's bundle, exactly as DeployCheck stages it. */
export async function lambdaBundleBytes(): Promise<number> {
  return Buffer.byteLength(bundleVerifyLambda());
}

/** jest's test files, split into those that start a local topology and the rest. */
async function unitTestFiles(): Promise<{ unit: string[]; total: number }> {
  const listed = await new Promise<string>((resolve, reject) =>
    execFile(
      bin('jest'),
      ['--listTests'],
      { cwd: REPO_ROOT, timeout: 60_000 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  );
  const files = listed.split('\n').filter((f) => f.trim() !== '');
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
  return {
    unit: files.filter((_, i) => !STARTS_A_TOPOLOGY.test(texts[i])),
    total: files.length,
  };
}

async function unitTests(
  limitSeconds: number,
  signal: AbortSignal,
): Promise<Timing & { command: string }> {
  const { unit, total } = await unitTestFiles();
  const timing = await timed(
    bin('jest'),
    ['--silent', ...unit],
    limitSeconds,
    signal,
  );
  return {
    ...timing,
    command: `npx jest --silent <the ${unit.length} of ${total} test files that start no local topology>`,
  };
}

/**
 * Each figure on its own: one that fails is reported as a problem and the others are still measured.
 * A synth that fails has no meaningful time; a test run with failing tests still took its time.
 */
export async function measureBuild(
  progress: (message: string) => void,
  unitTestLimitSeconds: number,
  signal: AbortSignal,
): Promise<BuildResult> {
  const problems: string[] = [];
  const attempt = async <T>(
    what: string,
    step: () => Promise<T>,
  ): Promise<T | undefined> => {
    progress(`build: ${what}`);
    try {
      return await step();
    } catch (err) {
      if (signal.aborted) throw err;
      problems.push(`${what} failed: ${(err as Error).message.split('\n')[0]}`);
      return undefined;
    }
  };
  const lambda = await attempt(
    'bundling the verification Lambda',
    lambdaBundleBytes,
  );
  // Empty and whole app back to back, in pairs, so each ratio sees one moment's machine; the median of the
  // pairs' ratios is what the target reads. A failed synth ends the pairs: the next would fail the same way.
  const empties: number[] = [];
  const wholes: number[] = [];
  for (let pair = 1; pair <= SYNTH_PAIRS; pair++) {
    const of = `(pair ${pair} of ${SYNTH_PAIRS})`;
    const emptyRun = await attempt(`cdk synth of an empty app ${of}`, () =>
      emptySynth(signal),
    );
    if (emptyRun?.failure)
      problems.push(`cdk synth of an empty app failed: ${emptyRun.failure}`);
    if (!emptyRun || emptyRun.failure) break;
    const synthRun = await attempt(`cdk synth ${of}`, () => synth(signal));
    if (synthRun?.failure)
      problems.push(`cdk synth failed: ${synthRun.failure}`);
    if (!synthRun || synthRun.failure) break;
    empties.push(emptyRun.seconds);
    wholes.push(synthRun.seconds);
  }
  const unit = await attempt('unit tests', () =>
    unitTests(unitTestLimitSeconds, signal),
  );
  const unitFinished =
    unit !== undefined && !unit.failure?.includes('did not finish');
  if (unit?.failure)
    problems.push(
      unitFinished
        ? `unit tests did not all pass (time still shown): ${unit.failure}`
        : `unit tests: ${unit.failure}`,
    );
  return {
    synthSeconds: wholes.length > 0 ? median(wholes) : undefined,
    emptySynthSeconds: empties.length > 0 ? median(empties) : undefined,
    synthRatios: pairedRatios(wholes, empties),
    unitTestSeconds: unitFinished ? unit.seconds : undefined,
    unitTestCommand:
      unit?.command ??
      'npx jest --silent <the test files that start no local topology>',
    lambdaBundleBytes: lambda,
    problems,
  };
}
