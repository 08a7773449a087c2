/**
 * The project's one user-error type, on the ground floor so every layer can throw it: a bad setting, flag,
 * renderer option, verifier option or backend argument, or a missing OS package. Its message is one line
 * naming the bad value; each entry point (bin/sticky-edge.ts, bin/app.ts, lib/backend/main.ts) catches it in
 * one place and prints that line without a stack trace. Anything else that escapes is a bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(
    message: string,
    /** Process exit code for CLIs. 2 = bad input (the default); 1 = a run or check failed, or a tool is missing. */
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** True for the errors `util.parseArgs` throws for unknown flags or missing values: bad input too. */
export function isParseArgsError(err: unknown): err is Error {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/** Bad input of either kind: ours, or parseArgs'. */
export function isUserError(err: unknown): err is Error {
  return err instanceof UserError || isParseArgsError(err);
}
