import { isUserError, UserError } from '../lib/errors';
import * as render from '../lib/cli/render';
import * as local from '../lib/cli/local';
import * as verify from '../lib/cli/verify';
import * as bench from '../lib/cli/bench';
import * as preflight from '../lib/cli/preflight';

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, { summary: string; run: Command }> = {
  render: { summary: 'print the nginx edge config', run: render.run },
  local: {
    summary: 'run the seed and the fix side by side on real nginx + HAProxy',
    run: local.run,
  },
  verify: {
    summary: 'check stickiness and the real client address at a URL',
    run: verify.run,
  },
  preflight: {
    summary: 'check an AWS account and region before cdk deploy',
    run: (argv) => preflight.run(argv),
  },
  bench: {
    summary: 'measure overhead, balance, remap, failover and build figures',
    run: bench.run,
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(
    ([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`,
  );
  return [
    'usage: sticky-edge <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    "run 'sticky-edge <command> --help' for a command's options",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (
    name === undefined ||
    name === '--help' ||
    name === '-h' ||
    name === 'help'
  ) {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(
      `sticky-edge: unknown command "${name}" (expected one of: ${Object.keys(commands).join(', ')})\n`,
    );
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    return reportError(err);
  }
}

/** Errors are one line: some messages (parseArgs' "ambiguous argument" advice) span several. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

function reportError(err: unknown): number {
  // Bad input, from any layer (settings, renderer, verifier, a missing OS package) or from parseArgs.
  if (isUserError(err)) {
    process.stderr.write(`sticky-edge: ${oneLine(err.message)}\n`);
    return err instanceof UserError ? err.exitCode : 2;
  }
  // Anything else is our bug: still one line by default; STICKY_EDGE_DEBUG=1 shows the stack.
  const text = process.env.STICKY_EDGE_DEBUG
    ? String((err as Error)?.stack ?? err)
    : oneLine(String((err as Error)?.message ?? err));
  process.stderr.write(`sticky-edge: ${text}\n`);
  return 1;
}
