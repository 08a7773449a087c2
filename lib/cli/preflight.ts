import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseStrictArgs } from './args';
import type { AwsClients } from '../preflight/check';
import { awsClients, resolvedRegion } from '../preflight/clients';
import { formatReport } from '../preflight/report';
import { NoCredentialsError, runPreflight } from '../preflight/run';
import type { StageNeed } from '../preflight/stage-need';
import { EdgeSettings, parseSettings, SettingKey } from '../settings';
import { UserError } from '../errors';

const HELP = `usage: sticky-edge preflight [-c key=value ...] [options]

Run before \`cdk deploy\`, with the same -c settings: checks against the account and region of the current
AWS credentials what a deploy of that stage needs. Reads only (see the README for the IAM actions).

  credentials              the default credential chain finds some, and they work
  Elastic IPs left         vpc-max-elastic-ips minus the addresses in use covers what the stage takes
  VPCs left                VPCs per Region (Service Quotas, else the default 5) minus the VPCs in use
  internet gateways left   internet gateways per Region minus those in use
  instance types in the zones
                           both instance types are offered in the zones the stack uses
  pinned image (amiId)     the image exists in the region and runs on both instance types
  certificate              the certificate is ISSUED, in the deploy's region and account
  CDK bootstrap            the bootstrap stack exists, is complete and new enough for the app

What the stage takes is counted from its own template, synthesized offline for the given settings.

options:
  -c, --context key=value  a setting, as for cdk (repeatable); merged over cdk.json's context
  --region REGION          the region (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's)
  --toolkit-stack-name N   the CDK bootstrap stack's name (default CDKToolkit)
  --json                   print the report as JSON instead of a table
  -h, --help               show this help

Exit status: 0 a deploy would pass these checks, 1 a check failed, 2 bad input or no credentials.

example:
  npx sticky-edge preflight -c stage=alice -c lb=nlb -c sticky=cookie
`;

/** What the command reaches outside itself; tests replace these. */
export interface PreflightDeps {
  readonly clients: (region: string | undefined) => AwsClients;
  readonly stageNeed: (
    settings: EdgeSettings,
    context: Record<string, unknown>,
  ) => Promise<StageNeed>;
  /** cdk.json, whose `context` the app reads as `cdk synth` does. */
  readonly cdkJsonPath: string;
}

const DEFAULT_DEPS: PreflightDeps = {
  clients: awsClients,
  // aws-cdk-lib loads in seconds: only preflight pays for it, not every sticky-edge command.
  stageNeed: async (settings, context) =>
    (
      require('../preflight/stage-need') as typeof import('../preflight/stage-need')
    ).stageNeed(settings, context),
  cdkJsonPath: path.resolve(__dirname, '..', '..', 'cdk.json'),
};

function parse(argv: string[]) {
  return parseStrictArgs({
    args: argv,
    options: {
      context: { type: 'string', short: 'c', multiple: true, default: [] },
      region: { type: 'string' },
      'toolkit-stack-name': { type: 'string', default: 'CDKToolkit' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
}

export async function run(
  argv: string[],
  deps: PreflightDeps = DEFAULT_DEPS,
): Promise<number> {
  const { values } = parse(argv);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const context = {
    ...cdkJsonContext(deps.cdkJsonPath),
    ...contextFlags(values.context),
  };
  const settings = parseSettings((key: SettingKey) => context[key]);
  const toolkitStackName = stackName(values['toolkit-stack-name']);
  const flagRegion =
    values.region === undefined ? undefined : region(values.region);
  // The SDK warns on Node 20 about its releases after January 2027; the project runs on Node 20 (engines), and the
  // multi-line notice would bury the report's first line.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const clients = deps.clients(
    flagRegion ??
      (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined),
  );
  const deployRegion = await resolvedRegion(clients);
  if (deployRegion === undefined)
    throw new UserError(
      'no AWS region: set AWS_REGION, give the profile a region, or pass --region',
    );
  let report;
  try {
    report = await runPreflight({
      clients,
      region: deployRegion,
      settings,
      need: () => deps.stageNeed(settings, context),
      toolkitStackName,
    });
  } catch (err) {
    if (err instanceof NoCredentialsError) throw new UserError(err.message);
    throw err;
  }
  process.stdout.write(
    values.json
      ? JSON.stringify(report, null, 2) + '\n'
      : formatReport(report) + '\n',
  );
  return report.ok ? 0 : 1;
}

function cdkJsonContext(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')).context ?? {};
  } catch (err) {
    throw new UserError(
      `cannot read the context of ${file}: ${(err as Error).message}`,
    );
  }
}

/** `-c key=value` as the CDK CLI takes it: the value is text, everything after the first `=`. */
function contextFlags(flags: string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0)
      throw new UserError(`-c must be key=value, got ${JSON.stringify(flag)}`);
    const key = flag.slice(0, eq);
    // cdk synth would take the last; a setting given twice is a mistake either way.
    if (key in context)
      throw new UserError(
        `-c ${key} may be given once, got ${JSON.stringify(context[key])} and ${JSON.stringify(flag.slice(eq + 1))}`,
      );
    context[key] = flag.slice(eq + 1);
  }
  return context;
}

function region(value: string): string {
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(value))
    throw new UserError(
      `--region must be a region name such as eu-west-1, got ${JSON.stringify(value)}`,
    );
  return value;
}

/** CloudFormation stack names: a letter, then letters, digits and dashes, 128 characters at most. */
function stackName(value: string): string {
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(value))
    throw new UserError(
      `--toolkit-stack-name must be a CloudFormation stack name, got ${JSON.stringify(value)}`,
    );
  return value;
}
