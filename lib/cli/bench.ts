import { CliError } from './cli-error';

export async function run(_argv: string[]): Promise<number> {
  throw new CliError('bench is not built yet', 1);
}
