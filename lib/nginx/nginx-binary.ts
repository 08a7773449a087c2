import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from '../os/find-executable';

/** The nginx binary: `nginx` on PATH, else /usr/sbin/nginx. Throws a one-line `UserError` when neither exists. */
export function findNginx(): string {
  return findExecutable(
    'nginx',
    'run `npm run setup` or `sudo apt-get install nginx`',
  );
}

/** Runs nginx with `args`; resolves with its exit code and stderr (where nginx writes everything). */
export function runNginx(
  args: readonly string[],
): Promise<{ code: number; stderr: string }> {
  const nginx = findNginx();
  return new Promise((resolve) => {
    execFile(nginx, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stderr: stderr.trim() || (err ? err.message : '') });
    });
  });
}

export interface NginxTestResult {
  /** True when nginx accepted the configuration. */
  readonly ok: boolean;
  /** nginx's own words (`[emerg] …` on failure; `[warn] …` lines may appear even when ok). */
  readonly output: string;
}

/**
 * Checks a whole nginx.conf with `nginx -t` in a fresh temp prefix (relative paths in the config resolve
 * there) and removes the prefix afterwards. `-e stderr` keeps nginx from opening its compiled-in error log.
 */
export async function testNginxConfig(
  mainConf: string,
): Promise<NginxTestResult> {
  const prefix = await mkdtemp(join(tmpdir(), 'sticky-edge-nginx-t-'));
  try {
    const conf = join(prefix, 'nginx.conf');
    await writeFile(conf, mainConf);
    const { code, stderr } = await runNginx([
      '-t',
      '-e',
      'stderr',
      '-p',
      prefix + '/',
      '-c',
      conf,
    ]);
    return { ok: code === 0, output: stderr };
  } finally {
    await rm(prefix, { recursive: true, force: true });
  }
}

/** True when this nginx was built with `module` (e.g. `http_stub_status_module`), per `nginx -V`. */
export async function nginxHasModule(module: string): Promise<boolean> {
  const { stderr } = await runNginx(['-V']);
  return stderr.split(/\s+/).includes(`--with-${module}`);
}
