import {
  DescribeAccountAttributesCommand,
  DescribeAddressesCommand,
} from '@aws-sdk/client-ec2';
import { fail, PreflightCheck } from '../check';
import { roomResult } from './room';

const CHECK = 'Elastic IPs left';

/** The account's own Elastic IP quota (`vpc-max-elastic-ips`, raised quotas included) against the addresses held. */
export const elasticIps: PreflightCheck = {
  name: CHECK,
  permissions: ['ec2:DescribeAccountAttributes', 'ec2:DescribeAddresses'],
  async run(input) {
    const { ec2 } = input.clients;
    // The SDK's AttributeNames enum lacks vpc-max-elastic-ips: ask for all attributes and pick it.
    const attributes = await ec2.send(new DescribeAccountAttributesCommand({}));
    const value = attributes.AccountAttributes?.find(
      (a) => a.AttributeName === 'vpc-max-elastic-ips',
    )?.AttributeValues?.[0]?.AttributeValue;
    const quota = Number(value);
    if (value === undefined || !Number.isInteger(quota))
      return fail(
        CHECK,
        `EC2 reported no vpc-max-elastic-ips (got ${JSON.stringify(value)})`,
        'run preflight again',
      );
    const addresses = await ec2.send(new DescribeAddressesCommand({}));
    return roomResult(
      {
        check: CHECK,
        what: 'Elastic IPs',
        quota,
        quotaSource: 'vpc-max-elastic-ips',
        used: addresses.Addresses?.length ?? 0,
        needed: input.need.footprint.elasticIps,
        action: `release unused Elastic IPs (aws ec2 describe-addresses --region ${input.region}) or request more in Service Quotas (EC2, "EC2-VPC Elastic IPs", L-0263D0A3)`,
      },
      input,
    );
  },
};
