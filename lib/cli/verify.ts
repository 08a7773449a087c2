import { CliError } from './cli-error';

export async function run(_argv: string[]): Promise<number> {
  throw new CliError('verify is not built yet', 1);
}
