/**
 * VPCs, internet gateways and egress-only internet gateways: the region's quota (Service Quotas, else the
 * default) against what exists.
 */
import {
  EC2Client,
  paginateDescribeEgressOnlyInternetGateways,
  paginateDescribeInternetGateways,
  paginateDescribeVpcs,
} from '@aws-sdk/client-ec2';
import { GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import { DEFAULT_QUOTAS, QuotaFootprint } from '../footprint';
import { AwsClients, PreflightCheck, skip } from '../check';
import { roomResult } from './room';

/**
 * Reads the applied quota from Service Quotas, so a raised quota is seen. GetServiceQuota answers
 * NoSuchResourceException when no value was ever applied (the default holds); when it is denied or fails,
 * the default is assumed and the row says so: a raised quota may then fail a deploy that would pass.
 */
async function appliedQuota(
  clients: AwsClients,
  quotaCode: string,
  fallback: number,
): Promise<{ value: number; source: string }> {
  try {
    const answer = await clients.serviceQuotas.send(
      new GetServiceQuotaCommand({ ServiceCode: 'vpc', QuotaCode: quotaCode }),
    );
    const value = answer.Quota?.Value;
    if (value !== undefined)
      return { value, source: `Service Quotas ${quotaCode}` };
  } catch (err) {
    const name = (err as { name?: string })?.name;
    if (name !== 'NoSuchResourceException')
      return {
        value: fallback,
        source: `default; ${quotaCode} unread (${name ?? 'error'}), a raised quota is not seen`,
      };
  }
  return { value: fallback, source: 'default' };
}

async function countAll<T>(
  pages: AsyncIterable<T>,
  items: (page: T) => unknown[] | undefined,
): Promise<number> {
  let n = 0;
  for await (const page of pages) n += items(page)?.length ?? 0;
  return n;
}

function regionQuotaCheck(options: {
  name: string;
  what: string;
  quotaCode: string;
  fallback: number;
  describePermission: string;
  count: (ec2: EC2Client) => Promise<number>;
  needed: (footprint: QuotaFootprint) => number;
  action: (region: string) => string;
}): PreflightCheck {
  return {
    name: options.name,
    permissions: [options.describePermission, 'servicequotas:GetServiceQuota'],
    async run(input) {
      const [quota, used] = await Promise.all([
        appliedQuota(input.clients, options.quotaCode, options.fallback),
        options.count(input.clients.ec2),
      ]);
      return roomResult(
        {
          check: options.name,
          what: options.what,
          quota: quota.value,
          quotaSource: quota.source,
          used,
          needed: options.needed(input.need.footprint),
          action: options.action(input.region),
        },
        input,
      );
    },
  };
}

/** "VPCs per Region" (Amazon VPC quotas; Service Quotas code L-F678F1CE). */
export const vpcs = regionQuotaCheck({
  name: 'VPCs left',
  what: 'VPCs',
  quotaCode: 'L-F678F1CE',
  fallback: DEFAULT_QUOTAS.vpcs,
  describePermission: 'ec2:DescribeVpcs',
  count: (ec2) =>
    countAll(paginateDescribeVpcs({ client: ec2 }, {}), (page) => page.Vpcs),
  needed: (f) => f.vpcs,
  action: (region) =>
    `delete unused VPCs in ${region} (aws ec2 describe-vpcs) or request more in Service Quotas (Amazon VPC, "VPCs per Region", L-F678F1CE; it raises internet gateways too)`,
});

/** "Internet gateways per Region" (Amazon VPC quotas; L-A4707A72, raised with VPCs per Region). */
export const internetGateways = regionQuotaCheck({
  name: 'internet gateways left',
  what: 'internet gateways',
  quotaCode: 'L-A4707A72',
  fallback: DEFAULT_QUOTAS.internetGateways,
  describePermission: 'ec2:DescribeInternetGateways',
  count: (ec2) =>
    countAll(
      paginateDescribeInternetGateways({ client: ec2 }, {}),
      (page) => page.InternetGateways,
    ),
  needed: (f) => f.internetGateways,
  action: (region) =>
    `delete unused internet gateways in ${region} (aws ec2 describe-internet-gateways) or request more VPCs per Region (L-F678F1CE), which raises internet gateways too`,
});

const egressOnlyRoom = regionQuotaCheck({
  name: 'egress-only internet gateways left',
  what: 'egress-only internet gateways',
  quotaCode: 'L-45FE3B85',
  fallback: DEFAULT_QUOTAS.egressOnlyInternetGateways,
  describePermission: 'ec2:DescribeEgressOnlyInternetGateways',
  count: (ec2) =>
    countAll(
      paginateDescribeEgressOnlyInternetGateways({ client: ec2 }, {}),
      (page) => page.EgressOnlyInternetGateways,
    ),
  needed: (f) => f.egressOnlyInternetGateways,
  action: (region) =>
    `delete unused egress-only internet gateways in ${region} (aws ec2 describe-egress-only-internet-gateways) or request more in Service Quotas (Amazon VPC, "Egress-only internet gateways per Region", L-45FE3B85)`,
});

/**
 * "Egress-only internet gateways per Region" (Amazon VPC quotas; L-45FE3B85): only a dual-stack stage
 * (`ipv6=true`) takes one, so an IPv4 stage skips the row and asks nothing.
 */
export const egressOnlyInternetGateways: PreflightCheck = {
  ...egressOnlyRoom,
  run: async (input) =>
    input.need.footprint.egressOnlyInternetGateways === 0
      ? skip(
          egressOnlyRoom.name,
          'no ipv6: the stage takes no egress-only internet gateway',
        )
      : egressOnlyRoom.run(input),
};
