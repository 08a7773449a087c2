/**
 * Process entry of the demo backend (bundled by `bundleBackend` and run by systemd on the app instances, or by
 * the local topology). Bad input: one line on stderr, exit 2. Ready: one `listening on URL …` line on stdout.
 */
import { isUserError, UserError } from '../errors';
import { parseBackendArgs } from './config';
import { startBackend } from './server';

async function main(): Promise<number> {
  const config = parseBackendArgs(process.argv.slice(2), process.env);
  const backend = await startBackend(config);
  const trust =
    config.trustedProxies.length > 0
      ? config.trustedProxies.join(', ')
      : 'nobody';
  process.stdout.write(
    `listening on ${backend.url} (backend ${config.name}, trusting ${trust})\n`,
  );
  return new Promise((resolve) => {
    const stop = () => {
      // A second signal while draining means "now".
      process
        .once('SIGTERM', () => resolve(1))
        .once('SIGINT', () => resolve(1));
      backend.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGTERM', stop).once('SIGINT', stop);
  });
}

function exitCodeOf(err: unknown): number {
  if (err instanceof UserError) return err.exitCode;
  return isUserError(err) ? 2 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `backend: ${(err as Error)?.message ?? String(err)}\n`,
    );
    process.exit(exitCodeOf(err));
  },
);
