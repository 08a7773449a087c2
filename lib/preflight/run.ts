/**
 * Runs every preflight check against the account and region of the current credentials. The credentials
 * come first: without any there is nothing to check; with broken ones every other row would only repeat it.
 */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { EdgeSettings } from '../settings';
import { errorResult, isMissingCredentials } from './aws-error';
import {
  AwsClients,
  CheckResult,
  ok,
  PreflightCheck,
  PreflightInput,
  skip,
} from './check';
import {
  bootstrap,
  certificate,
  egressOnlyInternetGateways,
  elasticIps,
  image,
  instanceTypes,
  internetGateways,
  vpcs,
} from './checks';
import type { StageNeed } from './stage-need';

/** The rows after the credentials, in the order a reader fixes them. */
export const CHECKS: readonly PreflightCheck[] = [
  elasticIps,
  vpcs,
  internetGateways,
  egressOnlyInternetGateways,
  instanceTypes,
  image,
  certificate,
  bootstrap,
];

export const CREDENTIALS_CHECK = 'credentials';

/** STS's answers to credentials it does not accept. */
const CREDENTIAL_ERRORS = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
]);

/** Stacks that hold no resources: one waiting for a change set, one rolled back on its first create. */
const EMPTY_STACK_STATUSES = ['REVIEW_IN_PROGRESS', 'ROLLBACK_COMPLETE'];

/** The SDK's default provider chain found no credentials at all. */
export class NoCredentialsError extends Error {
  constructor(reason: string) {
    super(
      `no AWS credentials (${reason.split('\n')[0]}): set AWS_PROFILE, run aws sso login or aws configure, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
    );
    this.name = 'NoCredentialsError';
  }
}

export interface PreflightReport {
  readonly region: string;
  readonly account?: string;
  readonly stage: string;
  /** True when no row failed: a deploy would pass these checks. */
  readonly ok: boolean;
  readonly results: readonly CheckResult[];
}

export interface PreflightOptions {
  readonly clients: AwsClients;
  readonly region: string;
  readonly settings: EdgeSettings;
  /** Synthesizes the stage; called once the credentials work, so a missing login answers at once. */
  readonly need: () => Promise<StageNeed>;
  readonly toolkitStackName: string;
}

export async function runPreflight(
  options: PreflightOptions,
): Promise<PreflightReport> {
  const report = (results: CheckResult[], account?: string) => ({
    region: options.region,
    account,
    stage: options.settings.stage,
    ok: results.every((r) => r.status !== 'FAIL'),
    results,
  });
  let identity;
  try {
    identity = await options.clients.sts.send(new GetCallerIdentityCommand({}));
  } catch (err) {
    if (isMissingCredentials(err))
      throw new NoCredentialsError(String((err as Error).message));
    const failed = errorResult(
      CREDENTIALS_CHECK,
      ['sts:GetCallerIdentity'],
      err,
    );
    const rejected = CREDENTIAL_ERRORS.has(
      String((err as { name?: unknown })?.name),
    );
    return report([
      rejected
        ? {
            ...failed,
            action:
              'renew the credentials (aws sso login, or new keys) and check AWS_PROFILE',
          }
        : failed,
      ...CHECKS.map((c) => skip(c.name, 'needs working credentials')),
    ]);
  }
  const account = identity.Account ?? 'unknown';
  const need = await options.need();
  const input: PreflightInput = {
    ...options,
    need,
    account,
    stackExists: await stackExists(options.clients, need.stackName),
  };
  const results = await Promise.all(
    CHECKS.map((check) =>
      check
        .run(input)
        .catch((err) => errorResult(check.name, check.permissions, err)),
    ),
  );
  return report(
    [
      ok(
        CREDENTIALS_CHECK,
        `account ${account} (${identity.Arn ?? 'unknown identity'}), region ${options.region}`,
      ),
      ...results,
    ],
    account,
  );
}

/** A stack that cannot be read, or holds nothing, counts as absent: the quota rows then ask for the whole stage's room. */
async function stackExists(
  clients: AwsClients,
  stackName: string,
): Promise<boolean> {
  try {
    const answer = await clients.cloudFormation.send(
      new DescribeStacksCommand({ StackName: stackName }),
    );
    return (answer.Stacks ?? []).some(
      (s) => !EMPTY_STACK_STATUSES.includes(String(s.StackStatus)),
    );
  } catch {
    return false;
  }
}
