/**
 * `sticky-edge-health`: the health agent's entry point, bundled into one script (`bundleAgent`) that the nginx
 * nodes run as a systemd service and the local topology runs beside each nginx node.
 */
import { parseArgs } from 'node:util';
import { UserError } from '../errors';
import { agentOptions, runAgent } from './agent';

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
    },
    strict: true,
    allowPositionals: false,
  });
  const options = agentOptions(values);
  const stop = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => stop.abort());
  await runAgent(options, stop.signal, log);
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
