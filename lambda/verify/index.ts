/**
 * The post-deploy check, run by a CloudFormation trigger once the nginx tier and the app instances are up.
 * It runs inside the edge VPC, so its requests leave through the NAT gateways: the backends must report
 * exactly those gateways' public addresses as the client. A failed check throws, which fails the trigger,
 * so `cdk deploy` fails and rolls back with the diagnosis.
 *
 * An update's rollback sends the trigger an Update with the old properties, so the old check runs again
 * (the trigger provider skips only Delete). Failing then would leave the stack UPDATE_ROLLBACK_FAILED, so
 * while its stack rolls back the handler logs the report and returns.
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import {
  DescribeNatGatewaysCommand,
  DescribeNatGatewaysCommandOutput,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  failureSummary,
  formatReport,
  verifyEndpoint,
  waitUntilAnswering,
} from '../../lib/verify';
import { STICKY_STRATEGIES, StickyStrategy } from '../../lib/settings';
import { VERIFY_ENV } from '../../lib/verify/lambda-environment';

/** The one EC2 call the handler makes; the SDK client satisfies it, tests stub it. */
export interface NatGatewayDescriber {
  send(
    command: DescribeNatGatewaysCommand,
  ): Promise<DescribeNatGatewaysCommandOutput>;
}

/** The one CloudFormation call: its own stack's status. */
export interface StackDescriber {
  send(command: DescribeStacksCommand): Promise<DescribeStacksCommandOutput>;
}

export interface CheckClients {
  readonly ec2: NatGatewayDescriber;
  readonly cloudFormation: StackDescriber;
}

/**
 * While rolling back, the old check only reports: a minute is enough to see whether the old configuration
 * answers, and the rollback need not wait the full readiness budget for it.
 */
export const ROLLBACK_READY_WITHIN_MS = 60_000;

interface CheckConfig {
  readonly url: string;
  readonly sticky: StickyStrategy;
  readonly vpcId: string;
  readonly backendUrls: readonly string[];
  readonly app: 'demo' | 'own';
  readonly backendNames: readonly string[];
  readonly sessions: number;
  readonly requestsPerSession: number;
  readonly readyWithinMs: number;
  readonly stackId: string;
}

export interface CheckOutcome {
  readonly ok: true;
  readonly natAddresses: readonly string[];
  readonly sessionsPerBackend: Readonly<Record<string, number>>;
}

/** What the handler returns while its stack rolls back: the check's result, never a failure. */
export interface RollbackOutcome {
  readonly ok: boolean;
  readonly rollingBack: string;
  readonly diagnosis?: string;
}

export function createHandler(
  clients: CheckClients,
  env: NodeJS.ProcessEnv = process.env,
): () => Promise<CheckOutcome | RollbackOutcome> {
  return async () => {
    const config = readConfig(env);
    console.log(
      `checking ${config.url} (fingerprint ${env[VERIFY_ENV.fingerprint] ?? 'unset'}; ${env[VERIFY_ENV.deployInputs] ?? 'no deploy-time inputs'})`,
    );
    // Asked on every run, so a missing permission fails the first deploy, not a later rollback.
    const status = await stackStatus(clients.cloudFormation, config.stackId);
    if (!status.endsWith('ROLLBACK_IN_PROGRESS')) return check(clients, config);
    console.log(
      `stack ${config.stackId} is in ${status}: this run only reports, so the rollback can finish`,
    );
    try {
      await check(clients, {
        ...config,
        readyWithinMs: Math.min(config.readyWithinMs, ROLLBACK_READY_WITHIN_MS),
      });
      return { ok: true, rollingBack: status };
    } catch (err) {
      const diagnosis = err instanceof Error ? err.message : String(err);
      console.log(`post-deploy check failed during ${status}: ${diagnosis}`);
      return { ok: false, rollingBack: status, diagnosis };
    }
  };
}

export const handler = createHandler({
  ec2: new EC2Client({}),
  cloudFormation: new CloudFormationClient({}),
});

async function check(
  clients: CheckClients,
  config: CheckConfig,
): Promise<CheckOutcome> {
  const natAddresses = await natPublicAddresses(clients.ec2, config.vpcId);
  // With TLS, the load balancer's DNS name is not on the certificate (the stack knows only its ARN), so the
  // name check is skipped; the chain is still checked, and what is verified here is routing, not TLS.
  await waitUntilAnswering(config.url, {
    withinMs: config.readyWithinMs,
    tlsNameCheck: false,
  });
  const report = await verifyEndpoint({
    url: config.url,
    sticky: config.sticky,
    sessions: config.sessions,
    requestsPerSession: config.requestsPerSession,
    expectedClientIps: natAddresses,
    backendUrls: config.backendUrls,
    app: config.app,
    backendNames: config.backendNames,
    tlsNameCheck: false,
  });
  console.log(formatReport(report));
  if (!report.ok)
    throw new Error(
      `post-deploy verification of ${config.url} failed: ${failureSummary(report)}`,
    );
  return {
    ok: true,
    natAddresses,
    sessionsPerBackend: report.sessionsPerBackend,
  };
}

/** The stack's status, e.g. UPDATE_IN_PROGRESS or UPDATE_ROLLBACK_IN_PROGRESS. */
async function stackStatus(
  cloudFormation: StackDescriber,
  stackId: string,
): Promise<string> {
  const answer = await cloudFormation.send(
    new DescribeStacksCommand({ StackName: stackId }),
  );
  const status = answer.Stacks?.[0]?.StackStatus;
  if (status === undefined)
    throw new Error(`CloudFormation returned no status for ${stackId}`);
  return status;
}

function readConfig(env: NodeJS.ProcessEnv): CheckConfig {
  const required = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`environment variable ${name} is not set`);
    return value;
  };
  const count = (name: string) => {
    const value = Number(required(name));
    if (!Number.isInteger(value) || value < 1)
      throw new Error(
        `environment variable ${name} must be a whole number, got ${JSON.stringify(env[name])}`,
      );
    return value;
  };
  const sticky = required(VERIFY_ENV.sticky);
  if (!(STICKY_STRATEGIES as readonly string[]).includes(sticky))
    throw new Error(
      `${VERIFY_ENV.sticky} must be ip_hash, hash or cookie, got ${JSON.stringify(sticky)}`,
    );
  return {
    url: required(VERIFY_ENV.url),
    sticky: sticky as StickyStrategy,
    vpcId: required(VERIFY_ENV.vpcId),
    backendUrls: (env[VERIFY_ENV.backendUrls] ?? '')
      .split(',')
      .filter((u) => u !== ''),
    app: appKind(env[VERIFY_ENV.app]),
    backendNames: backendNames(env),
    sessions: count(VERIFY_ENV.sessions),
    requestsPerSession: count(VERIFY_ENV.requestsPerSession),
    readyWithinMs: count(VERIFY_ENV.readyWithinSeconds) * 1000,
    stackId: required(VERIFY_ENV.stackId),
  };
}

/** With own backends, one name per backend URL (the construct writes both from one list). */
function backendNames(env: NodeJS.ProcessEnv): string[] {
  const split = (name: string) =>
    (env[name] ?? '').split(',').filter((n) => n !== '');
  const names = split(VERIFY_ENV.backendNames);
  const urls = split(VERIFY_ENV.backendUrls);
  if (names.length > 0 && names.length !== urls.length)
    throw new Error(
      `${VERIFY_ENV.backendNames} must name each of the ${urls.length} backend URLs, got ${JSON.stringify(names)}`,
    );
  return names;
}

/** Unset is the demo app (a function deployed before own backends existed). */
function appKind(value: string | undefined): 'demo' | 'own' {
  if (value === undefined || value === 'demo') return 'demo';
  if (value === 'own') return 'own';
  throw new Error(
    `${VERIFY_ENV.app} must be demo or own, got ${JSON.stringify(value)}`,
  );
}

/** The public addresses of the VPC's available NAT gateways: what this function's traffic leaves from. */
async function natPublicAddresses(
  ec2: NatGatewayDescriber,
  vpcId: string,
): Promise<string[]> {
  const addresses: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeNatGatewaysCommand({
        Filter: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'state', Values: ['available'] },
        ],
        NextToken: nextToken,
      }),
    );
    for (const gateway of page.NatGateways ?? []) {
      for (const address of gateway.NatGatewayAddresses ?? [])
        if (address.PublicIp) addresses.push(address.PublicIp);
    }
    nextToken = page.NextToken;
  } while (nextToken);
  if (addresses.length === 0)
    throw new Error(
      `no available NAT gateway with a public address in ${vpcId}: this function's traffic has no known exit`,
    );
  return addresses;
}
