/**
 * The CLI throws the project's one `UserError` (lib/errors.ts). These names stay so that code written
 * against the former `CliError` keeps compiling; new code imports from lib/errors.ts.
 * @deprecated import `UserError` from '../errors'
 */
export { UserError as CliError, isParseArgsError } from '../errors';
