/** The shape every preflight check shares, and what it is given. No CDK imports. */
import type { ACMClient } from '@aws-sdk/client-acm';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import type { STSClient } from '@aws-sdk/client-sts';
import type { EdgeSettings } from '../settings';
import type { StageNeed } from './stage-need';

export type CheckStatus = 'ok' | 'FAIL' | 'skip';

export interface CheckResult {
  /** What is checked, as the table's first column. */
  readonly check: string;
  readonly status: CheckStatus;
  /** What was found. */
  readonly detail: string;
  /** What to do about a FAIL (empty otherwise). */
  readonly action: string;
}

/** One SDK v3 client per service, all for the deploy's region; tests stub them at `send`. */
export interface AwsClients {
  readonly ec2: EC2Client;
  readonly acm: ACMClient;
  readonly cloudFormation: CloudFormationClient;
  readonly serviceQuotas: ServiceQuotasClient;
  readonly sts: STSClient;
}

export interface PreflightInput {
  readonly clients: AwsClients;
  readonly region: string;
  /** The account of the current credentials (from the credentials check). */
  readonly account: string;
  readonly settings: EdgeSettings;
  /** What one stage takes, counted from its synthesized template. */
  readonly need: StageNeed;
  /** The stage's stack already exists: an update keeps the quota it holds. */
  readonly stackExists: boolean;
  /** The CDK bootstrap stack's name (`CDKToolkit` unless `--toolkit-stack-name`). */
  readonly toolkitStackName: string;
}

/** A check: its row's name, the IAM actions it calls (named when one is denied), and the check itself. */
export interface PreflightCheck {
  readonly name: string;
  readonly permissions: readonly string[];
  run(input: PreflightInput): Promise<CheckResult>;
}

export function ok(check: string, detail: string): CheckResult {
  return { check, status: 'ok', detail, action: '' };
}

export function fail(
  check: string,
  detail: string,
  action: string,
): CheckResult {
  return { check, status: 'FAIL', detail, action };
}

export function skip(check: string, detail: string): CheckResult {
  return { check, status: 'skip', detail, action: '' };
}
