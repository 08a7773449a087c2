/**
 * The post-deploy check, run by a CloudFormation trigger once the nginx tier and the app instances are up.
 * It runs inside the edge VPC, so its requests leave through the NAT gateways: the backends must report
 * exactly those gateways' public addresses as the client. A failed check throws, which fails the trigger,
 * so `cdk deploy` fails and rolls back with the diagnosis.
 *
 * When the load balancer is dualstack, the same visitors then come again over IPv6 (the function's network
 * interfaces have IPv6 addresses in the dual-stack nginx subnets, and the load balancer's AAAA records point
 * inside the VPC), and the backends must report exactly those interfaces' IPv6 addresses.
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
  DescribeNetworkInterfacesCommand,
  DescribeNetworkInterfacesCommandOutput,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  failureSummary,
  formatReport,
  verifyEndpoint,
  waitUntilAnswering,
} from '../../lib/verify';
import {
  isCookieName,
  SETTING_KEYS,
  STICKY_STRATEGIES,
  StickyStrategy,
} from '../../lib/settings';
import {
  IPV6_READY_WITHIN_SECONDS,
  VERIFY_ENV,
} from '../../lib/verify/lambda-environment';

/** The EC2 calls the handler makes; the SDK client satisfies them, tests stub them. */
export interface NatGatewayDescriber {
  send(
    command: DescribeNatGatewaysCommand,
  ): Promise<DescribeNatGatewaysCommandOutput>;
  send(
    command: DescribeNetworkInterfacesCommand,
  ): Promise<DescribeNetworkInterfacesCommandOutput>;
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
  readonly routeCookieName?: string;
  readonly vpcId: string;
  readonly backendUrls: readonly string[];
  readonly app: 'demo' | 'own';
  readonly backendNames: readonly string[];
  readonly sessions: number;
  readonly requestsPerSession: number;
  readonly readyWithinMs: number;
  readonly stackId: string;
  /** The function's security group when the check also runs IPv6 visitors. */
  readonly ipv6SecurityGroup?: string;
}

export interface CheckOutcome {
  readonly ok: true;
  readonly natAddresses: readonly string[];
  readonly sessionsPerBackend: Readonly<Record<string, number>>;
  /** With a dualstack load balancer: the IPv6 visitors' addresses and where their sessions went. */
  readonly ipv6?: {
    readonly addresses: readonly string[];
    readonly sessionsPerBackend: Readonly<Record<string, number>>;
  };
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
  // Asked before any request, so a function without IPv6 addresses fails at once, naming the cause.
  const ownIpv6 =
    config.ipv6SecurityGroup === undefined
      ? undefined
      : await functionIpv6Addresses(
          clients.ec2,
          config.vpcId,
          config.ipv6SecurityGroup,
        );
  // With TLS, the load balancer's DNS name is not on the certificate (the stack knows only its ARN), so the
  // name check is skipped; the chain is still checked, and what is verified here is routing, not TLS.
  // IPv4 only: a dualstack name answers AAAA too, and Node may pick either; the NAT addresses are an IPv4 proof.
  await waitUntilAnswering(config.url, {
    withinMs: config.readyWithinMs,
    tlsNameCheck: false,
    family: 4,
  });
  const report = await verifyEndpoint({
    url: config.url,
    sticky: config.sticky,
    routeCookieName: config.routeCookieName,
    sessions: config.sessions,
    requestsPerSession: config.requestsPerSession,
    expectedClientIps: natAddresses,
    backendUrls: config.backendUrls,
    app: config.app,
    backendNames: config.backendNames,
    tlsNameCheck: false,
    family: 4,
  });
  console.log(formatReport(report));
  if (!report.ok)
    throw new Error(
      `post-deploy verification of ${config.url} failed: ${failureSummary(report)}`,
    );
  const ipv6 =
    ownIpv6 === undefined ? undefined : await checkIpv6(config, ownIpv6);
  return {
    ok: true,
    natAddresses,
    sessionsPerBackend: report.sessionsPerBackend,
    ...(ipv6 === undefined ? {} : { ipv6 }),
  };
}

/**
 * The same visitors over IPv6: the name's AAAA records lead to the load balancer's IPv6 addresses inside the
 * VPC, so the requests leave from the function's own interfaces, untranslated, and the backends must report
 * one of those addresses: nginx believed the PROXY v2 header or the load balancer's X-Forwarded-For for an
 * IPv6 client too.
 */
async function checkIpv6(
  config: CheckConfig,
  addresses: readonly string[],
): Promise<NonNullable<CheckOutcome['ipv6']>> {
  console.log(
    `IPv6 visitors: the backends must report ${addresses.join(' or ')} (this function's own network interfaces)`,
  );
  try {
    await waitUntilAnswering(config.url, {
      withinMs: Math.min(
        config.readyWithinMs,
        IPV6_READY_WITHIN_SECONDS * 1000,
      ),
      tlsNameCheck: false,
      family: 6,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `post-deploy verification of ${config.url} over IPv6 failed: its AAAA records lead to no answer: ${reason}`,
      { cause: err },
    );
  }
  const report = await verifyEndpoint({
    url: config.url,
    sticky: config.sticky,
    sessions: config.sessions,
    requestsPerSession: config.requestsPerSession,
    expectedClientIps: addresses,
    tlsNameCheck: false,
    family: 6,
  });
  console.log(`over IPv6:\n${formatReport(report)}`);
  if (!report.ok)
    throw new Error(
      `post-deploy verification of ${config.url} over IPv6 failed: ${failureSummary(report)}`,
    );
  return { addresses, sessionsPerBackend: report.sessionsPerBackend };
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
    routeCookieName: routeCookie(env[VERIFY_ENV.routeCookie]),
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
    ipv6SecurityGroup: env[VERIFY_ENV.ipv6SecurityGroup] || undefined,
  };
}

/**
 * One spelling per IPv6 address (RFC 5952: lowercase, no leading zeros, the longest run of zero groups as
 * `::`), as nginx prints a global address (ngx_inet6_ntop) and the backends report it: the check compares
 * strings. WHATWG URL's host serializer writes exactly that form.
 */
function rfc5952(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/**
 * The IPv6 addresses of the function's Lambda network interfaces (Hyperplane ENIs): those in the VPC that
 * carry its security group, which no other resource uses. Its traffic leaves the VPC side from them.
 */
async function functionIpv6Addresses(
  ec2: NatGatewayDescriber,
  vpcId: string,
  securityGroupId: string,
): Promise<string[]> {
  const addresses: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'group-id', Values: [securityGroupId] },
          { Name: 'interface-type', Values: ['lambda'] },
        ],
        NextToken: nextToken,
      }),
    );
    for (const eni of page.NetworkInterfaces ?? []) {
      for (const address of eni.Ipv6Addresses ?? [])
        if (address.Ipv6Address) addresses.push(rfc5952(address.Ipv6Address));
    }
    nextToken = page.NextToken;
  } while (nextToken);
  if (addresses.length === 0)
    throw new Error(
      `no IPv6 address on this function's network interfaces (security group ${securityGroupId} in ${vpcId}): its subnets need IPv6 blocks and the function ipv6AllowedForDualStack, or it cannot be an IPv6 visitor`,
    );
  return addresses;
}

/** The routing cookie's name; unset (a stack synthesized before the setting) is the default name. */
function routeCookie(value: string | undefined): string | undefined {
  if (value === undefined || value === '' || isCookieName(value))
    return value || undefined;
  throw new Error(
    `${VERIFY_ENV.routeCookie} must be ${SETTING_KEYS.cookieName}, got ${JSON.stringify(value)}`,
  );
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
