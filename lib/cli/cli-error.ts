/** An error caused by the operator's input: printed as one line, no stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    /** Process exit code. 2 = bad usage, 1 = a check or run failed. */
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** True for the errors `util.parseArgs` throws for unknown flags or missing values. */
export function isParseArgsError(err: unknown): err is Error {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
