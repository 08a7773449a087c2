/** The SDK clients preflight uses, all on the default credential chain and one region. */
import { ACMClient } from '@aws-sdk/client-acm';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsClients } from './check';

/** `region` undefined: the SDK's own resolution (AWS_REGION, then the profile's region). */
export function awsClients(region?: string): AwsClients {
  const config = { region };
  return {
    ec2: new EC2Client(config),
    acm: new ACMClient(config),
    cloudFormation: new CloudFormationClient(config),
    serviceQuotas: new ServiceQuotasClient(config),
    sts: new STSClient(config),
  };
}

/** The region the clients resolved, or undefined when none is configured. */
export async function resolvedRegion(
  clients: AwsClients,
): Promise<string | undefined> {
  try {
    const region = await clients.sts.config.region();
    return region === '' ? undefined : region;
  } catch {
    return undefined;
  }
}
