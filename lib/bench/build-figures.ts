/**
 * The build figures: how long a whole-app `cdk synth` and the unit tests take, and how big the
 * verification Lambda's bundle is.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import type { BuildResult } from './results';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
const bin = (name: string) =>
  path.join(REPO_ROOT, 'node_modules', '.bin', name);

/**
 * The behaviour tests start a whole local topology and take minutes on a shared machine; the unit-test
 * figure is every other jest test file (pure logic, CDK templates, single nginx or backend processes).
 */
const STARTS_A_TOPOLOGY = /local\/topology'|startTopology/;
export const LAMBDA_ENTRY = 'lambda/verify/index.ts';

/** Child process groups in flight, so Ctrl-C can stop them with everything they started. */
const running = new Set<ChildProcess>();

export function stopBuildProcesses(): void {
  for (const child of running) killGroup(child);
}

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

/** Runs a command in its own process group and times it; stops it (a failure) after `limitSeconds`. */
function timed(
  command: string,
  args: readonly string[],
  limitSeconds: number,
): Promise<Timing> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
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
      running.delete(child);
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      running.delete(child);
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const how = overTime
        ? `did not finish in ${limitSeconds} s`
        : signal
          ? `was stopped by ${signal}`
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

async function synth(): Promise<Timing> {
  const out = await mkdtemp(path.join(tmpdir(), 'sticky-edge-bench-synth-'));
  try {
    return await timed(bin('cdk'), ['synth', '--quiet', '--output', out], 300);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** Bundled as DeployCheck's NodejsFunction bundles it (Node 24 runtime, CJS, minified, the AWS SDK left to the runtime). */
export async function lambdaBundleBytes(): Promise<number> {
  const result = await build({
    entryPoints: [path.join(REPO_ROOT, LAMBDA_ENTRY)],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    external: ['@aws-sdk/*'],
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles.reduce(
    (sum, file) => sum + file.contents.byteLength,
    0,
  );
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
): Promise<Timing & { command: string }> {
  const { unit, total } = await unitTestFiles();
  const timing = await timed(bin('jest'), ['--silent', ...unit], limitSeconds);
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
      problems.push(`${what} failed: ${(err as Error).message.split('\n')[0]}`);
      return undefined;
    }
  };
  const lambda = await attempt(
    'bundling the verification Lambda',
    lambdaBundleBytes,
  );
  const synthRun = await attempt('cdk synth', synth);
  if (synthRun?.failure) problems.push(`cdk synth failed: ${synthRun.failure}`);
  const unit = await attempt('unit tests', () =>
    unitTests(unitTestLimitSeconds),
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
    synthSeconds: synthRun && !synthRun.failure ? synthRun.seconds : undefined,
    unitTestSeconds: unitFinished ? unit.seconds : undefined,
    unitTestCommand:
      unit?.command ??
      'npx jest --silent <the test files that start no local topology>',
    lambdaBundleBytes: lambda,
    problems,
  };
}
