import { CliError } from './cli-error';

export async function run(_argv: string[]): Promise<number> {
  throw new CliError('render is not built yet', 1);
}
