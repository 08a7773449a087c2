import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../errors';

/**
 * `util.parseArgs` with the checks it leaves out, for every `sticky-edge` command. parseArgs keeps the last of
 * a single-valued flag given twice (`--lb nlb --lb alb` silently means alb) and takes `--lb ''` as a value that
 * callers then read as unset; a repeatable flag may repeat a value (`--trust X --trust X`). Each is refused
 * with one line naming the flag and the value.
 */
export function parseStrictArgs<T extends ParseArgsConfig>(
  config: T,
  own: {
    /** Flags whose command refuses an empty value itself, with its own words for what it expects. */
    readonly checksEmpty?: readonly string[];
    /** Repeatable flags whose command refuses a repeated value itself (the renderer: "listed twice"). */
    readonly checksRepeats?: readonly string[];
  } = {},
) {
  const parsed = parseArgs({ ...config, tokens: true });
  const options = config.options ?? {};
  const seen = new Map<string, string[]>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option') continue;
    const spec = options[token.name];
    const value = token.value ?? '';
    // As typed: `-c` stays `-c`.
    const flag = token.rawName;
    if (
      spec?.type === 'string' &&
      value === '' &&
      !(own.checksEmpty ?? []).includes(token.name)
    )
      throw new UserError(`${flag} must not be empty, got ""`);
    const earlier = seen.get(token.name) ?? [];
    if (spec?.multiple !== true && earlier.length > 0) {
      throw new UserError(
        spec?.type === 'string'
          ? `${flag} may be given once, got ${JSON.stringify(earlier[0])} and ${JSON.stringify(value)}`
          : `${flag} may be given once, got it twice`,
      );
    }
    if (
      spec?.multiple === true &&
      earlier.includes(value) &&
      !(own.checksRepeats ?? []).includes(token.name)
    )
      throw new UserError(`${flag} ${JSON.stringify(value)} is given twice`);
    seen.set(token.name, [...earlier, value]);
  }
  return parsed;
}
