/**
 * Test support: every SDK client preflight uses, stubbed at `send` (aws-sdk-client-mock), with fake
 * credentials and a region in the environment, so no test can reach AWS; plus a healthy account to vary.
 */
import { ACMClient, DescribeCertificateCommand } from '@aws-sdk/client-acm';
import {
  CloudFormationClient,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import {
  DescribeAccountAttributesCommand,
  DescribeAddressesCommand,
  DescribeAvailabilityZonesCommand,
  DescribeImagesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  DescribeEgressOnlyInternetGatewaysCommand,
  DescribeInternetGatewaysCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  GetServiceQuotaCommand,
  ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { PreflightInput } from '../../lib/preflight/check';
import { awsClients } from '../../lib/preflight/clients';
import type { StageNeed } from '../../lib/preflight/stage-need';
import { DEFAULT_SETTINGS, EdgeSettings } from '../../lib/settings';

process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
delete process.env.AWS_PROFILE;

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
export const CERTIFICATE = `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/0b8d3f9c-1c2a-4d5e-8f90-123456789abc`;

export const stubs = {
  ec2: mockClient(EC2Client),
  acm: mockClient(ACMClient),
  cloudFormation: mockClient(CloudFormationClient),
  serviceQuotas: mockClient(ServiceQuotasClient),
  sts: mockClient(STSClient),
};

/** An SDK error as the SDK raises it: its name is the service's error code. */
export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $fault: 'client' });
}

/** us-east-1's zones; t3.micro is not offered in us-east-1a here (as in use1-az3). */
export const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];

export function offerings(byZone: Record<string, string[]>) {
  return {
    InstanceTypeOfferings: Object.entries(byZone).flatMap(([zone, types]) =>
      types.map((type) => ({
        InstanceType: type as never,
        Location: zone,
        LocationType: 'availability-zone' as const,
      })),
    ),
  };
}

/** An account where a default stage would deploy: room for everything, t3.micro everywhere, bootstrapped. */
export function stubHealthyAccount(): void {
  for (const stub of Object.values(stubs)) stub.reset();
  stubs.sts.on(GetCallerIdentityCommand).resolves({
    Account: ACCOUNT,
    Arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
  });
  stubs.ec2.on(DescribeAccountAttributesCommand).resolves({
    AccountAttributes: [
      {
        AttributeName: 'max-instances',
        AttributeValues: [{ AttributeValue: '20' }],
      },
      {
        AttributeName: 'vpc-max-elastic-ips',
        AttributeValues: [{ AttributeValue: '5' }],
      },
    ],
  });
  stubs.ec2
    .on(DescribeAddressesCommand)
    .resolves({ Addresses: [{ PublicIp: '198.51.100.1' }] });
  stubs.ec2
    .on(DescribeVpcsCommand)
    .resolves({ Vpcs: [{ VpcId: 'vpc-default' }] });
  stubs.ec2
    .on(DescribeInternetGatewaysCommand)
    .resolves({ InternetGateways: [{ InternetGatewayId: 'igw-default' }] });
  stubs.ec2
    .on(DescribeEgressOnlyInternetGatewaysCommand)
    .resolves({ EgressOnlyInternetGateways: [] });
  stubs.serviceQuotas
    .on(GetServiceQuotaCommand)
    .rejects(awsError('NoSuchResourceException'));
  stubs.ec2.on(DescribeAvailabilityZonesCommand).resolves({
    // Out of order on purpose: Fn::GetAZs sorts them.
    AvailabilityZones: [...ZONES].reverse().map((ZoneName) => ({ ZoneName })),
  });
  stubs.ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [] });
  stubs.ec2
    .on(DescribeInstanceTypeOfferingsCommand)
    .resolves(
      offerings(Object.fromEntries(ZONES.map((z) => [z, ['t3.micro']]))),
    );
  stubs.ec2.on(DescribeImagesCommand).resolves({
    Images: [
      {
        ImageId: 'ami-0123456789abcdef0',
        Name: 'al2023-ami-2023.6.20250101.0-kernel-6.1-x86_64',
        Architecture: 'x86_64',
        State: 'available',
      },
    ],
  });
  stubs.ec2.on(DescribeInstanceTypesCommand).resolves({
    InstanceTypes: [
      {
        InstanceType: 't3.micro',
        ProcessorInfo: { SupportedArchitectures: ['x86_64'] },
      },
      {
        InstanceType: 't4g.micro',
        ProcessorInfo: { SupportedArchitectures: ['arm64'] },
      },
    ],
  });
  stubs.acm.on(DescribeCertificateCommand).resolves({
    Certificate: {
      CertificateArn: CERTIFICATE,
      DomainName: 'edge.example.com',
      Status: 'ISSUED',
    },
  });
  stubs.cloudFormation
    .on(DescribeStacksCommand)
    .rejects(
      awsError(
        'ValidationError',
        'Stack with id sandbox-StickyEdge does not exist',
      ),
    );
  stubs.cloudFormation
    .on(DescribeStacksCommand, { StackName: 'CDKToolkit' })
    .resolves({
      Stacks: [
        {
          StackName: 'CDKToolkit',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(0),
          Outputs: [{ OutputKey: 'BootstrapVersion', OutputValue: '28' }],
        },
      ],
    });
}

/** What a default stage takes, as the redesigned stack counts (one VPC, one Elastic IP, two zones). */
export const NEED: StageNeed = {
  stackName: 'sandbox-StickyEdge',
  footprint: {
    elasticIps: 1,
    vpcs: 1,
    internetGateways: 1,
    egressOnlyInternetGateways: 0,
    natGatewaysPerAz: { 'GetAZs[0]': 1 },
    securityGroupsPerVpc: { Vpc: 5 },
    rulesPerSecurityGroup: {},
  },
  zones: ['GetAZs[0]', 'GetAZs[1]'],
  bootstrapVersion: 6,
};

export function input(
  overrides: {
    settings?: Partial<EdgeSettings>;
    need?: Partial<StageNeed>;
    stackExists?: boolean;
  } = {},
): PreflightInput {
  return {
    clients: awsClients(REGION),
    region: REGION,
    account: ACCOUNT,
    settings: { ...DEFAULT_SETTINGS, ...overrides.settings },
    need: { ...NEED, ...overrides.need },
    stackExists: overrides.stackExists ?? false,
    toolkitStackName: 'CDKToolkit',
  };
}
