/**
 * `sticky-edge-health`: the health agent's entry point, bundled into one script (`bundleAgent`) that the nginx
 * nodes run as a systemd service and the local topology runs beside each nginx node.
 */
import { parseArgs } from 'node:util';
import { UserError } from '../errors';
import { agentOptions, runAgent } from './agent';
import { runLifecycle } from './lifecycle';

const log = (line: string) =>
  process.stdout.write(`sticky-edge-health: ${line}\n`);

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      conf: { type: 'string' },
      prefix: { type: 'string' },
      nginx: { type: 'string' },
      'health-path': { type: 'string' },
      interval: { type: 'string' },
      timeout: { type: 'string' },
      fall: { type: 'string' },
      rise: { type: 'string' },
      'lifecycle-hook': { type: 'string' },
      region: { type: 'string' },
      'websocket-drain': { type: 'string' },
      heartbeat: { type: 'string' },
      'lifecycle-poll': { type: 'string' },
      imds: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const options = agentOptions(values);
  const stop = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => stop.abort());
  if (options.lifecycle === undefined) {
    await runAgent(options, stop.signal, log);
    return 0;
  }
  // Health rounds end when the node starts terminating: nginx is about to quit, and reloads would fail.
  const rounds = new AbortController();
  stop.signal.addEventListener('abort', () => rounds.abort(), { once: true });
  log(
    `watching the instance's lifecycle: hook ${options.lifecycle.hookName}, WebSockets kept up to ${options.lifecycle.maxDrainMs / 1000} s`,
  );
  await Promise.all([
    runAgent(options, rounds.signal, log),
    runLifecycle(options.lifecycle, options, stop.signal, log, () =>
      rounds.abort(),
    ),
  ]);
  // Completed: idle until the instance stops the service (Restart=always would otherwise start it again).
  await new Promise<void>((resolve) =>
    stop.signal.aborted
      ? resolve()
      : stop.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const usage =
      err instanceof UserError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`sticky-edge-health: ${(err as Error).message}\n`);
    process.exit(usage ? 2 : 1);
  },
);
