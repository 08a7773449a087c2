/** Each preflight check, passing and failing on stubbed SDK answers (no AWS is contacted). */
import { DescribeCertificateCommand } from '@aws-sdk/client-acm';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeAccountAttributesCommand,
  DescribeAddressesCommand,
  DescribeImagesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeEgressOnlyInternetGatewaysCommand,
  DescribeInternetGatewaysCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
} from '@aws-sdk/client-ec2';
import { GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import {
  bootstrap,
  certificate,
  egressOnlyInternetGateways,
  elasticIps,
  image,
  instanceTypes,
  internetGateways,
  vpcs,
} from '../../lib/preflight/checks';
import {
  ACCOUNT,
  awsError,
  CERTIFICATE,
  input,
  NEED,
  offerings,
  stubHealthyAccount,
  stubs,
} from './aws-stubs';

beforeEach(stubHealthyAccount);

const addresses = (n: number) => ({
  Addresses: Array.from({ length: n }, (_, i) => ({
    PublicIp: `198.51.100.${i + 1}`,
  })),
});

describe('Elastic IPs left', () => {
  test('passes when the account quota minus the addresses held covers the stage', async () => {
    const result = await elasticIps.run(input());
    expect(result).toMatchObject({ status: 'ok' });
    expect(result.detail).toBe(
      '1 of 5 in use (vpc-max-elastic-ips), 4 left, the stage needs 1',
    );
  });

  test('fails when the stage needs more than is left, saying how to make room', async () => {
    stubs.ec2.on(DescribeAddressesCommand).resolves(addresses(4));
    const result = await elasticIps.run(
      input({
        need: { footprint: { ...input().need.footprint, elasticIps: 2 } },
      }),
    );
    expect(result).toMatchObject({
      status: 'FAIL',
      detail: '4 of 5 in use (vpc-max-elastic-ips), 1 left, the stage needs 2',
    });
    expect(result.action).toMatch(/release unused Elastic IPs .*L-0263D0A3/);
  });

  test('reads a raised quota from the account attribute', async () => {
    stubs.ec2.on(DescribeAccountAttributesCommand).resolves({
      AccountAttributes: [
        {
          AttributeName: 'vpc-max-elastic-ips',
          AttributeValues: [{ AttributeValue: '10' }],
        },
      ],
    });
    stubs.ec2.on(DescribeAddressesCommand).resolves(addresses(7));
    expect(await elasticIps.run(input())).toMatchObject({ status: 'ok' });
  });

  test('an existing stage passes without room: an update keeps its addresses', async () => {
    stubs.ec2.on(DescribeAddressesCommand).resolves(addresses(5));
    const result = await elasticIps.run(input({ stackExists: true }));
    expect(result.status).toBe('ok');
    expect(result.detail).toMatch(/sandbox-StickyEdge exists/);
  });

  test('fails when EC2 does not report the quota', async () => {
    stubs.ec2
      .on(DescribeAccountAttributesCommand)
      .resolves({ AccountAttributes: [] });
    expect(await elasticIps.run(input())).toMatchObject({ status: 'FAIL' });
  });
});

describe('VPCs left', () => {
  test('passes on the default quota when Service Quotas holds no applied value', async () => {
    stubs.ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{}, {}, {}] });
    expect(await vpcs.run(input())).toMatchObject({
      status: 'ok',
      detail: '3 of 5 in use (default), 2 left, the stage needs 1',
    });
  });

  test('fails when five VPCs exist under the default quota', async () => {
    stubs.ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{}, {}, {}, {}, {}] });
    const result = await vpcs.run(input());
    expect(result.status).toBe('FAIL');
    expect(result.action).toMatch(/L-F678F1CE/);
  });

  test('counts every page of VPCs', async () => {
    stubs.ec2
      .on(DescribeVpcsCommand)
      .resolvesOnce({ Vpcs: [{}, {}, {}], NextToken: 'more' })
      .resolvesOnce({ Vpcs: [{}, {}] });
    expect(await vpcs.run(input())).toMatchObject({ status: 'FAIL' });
  });

  test('passes with five VPCs when Service Quotas reports a raised quota', async () => {
    stubs.ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{}, {}, {}, {}, {}] });
    stubs.serviceQuotas
      .on(GetServiceQuotaCommand, {
        ServiceCode: 'vpc',
        QuotaCode: 'L-F678F1CE',
      })
      .resolves({ Quota: { Value: 10 } });
    expect(await vpcs.run(input())).toMatchObject({
      status: 'ok',
      detail:
        '5 of 10 in use (Service Quotas L-F678F1CE), 5 left, the stage needs 1',
    });
  });

  test('says so when Service Quotas is denied and the default is assumed', async () => {
    stubs.serviceQuotas
      .on(GetServiceQuotaCommand)
      .rejects(awsError('AccessDeniedException'));
    const result = await vpcs.run(input());
    expect(result.status).toBe('ok');
    expect(result.detail).toMatch(
      /default; L-F678F1CE unread \(AccessDeniedException\)/,
    );
  });
});

describe('internet gateways left', () => {
  test("passes with the default VPC's gateway alone", async () => {
    expect(await internetGateways.run(input())).toMatchObject({ status: 'ok' });
  });

  test('fails when five gateways exist', async () => {
    stubs.ec2
      .on(DescribeInternetGatewaysCommand)
      .resolves({ InternetGateways: [{}, {}, {}, {}, {}] });
    const result = await internetGateways.run(input());
    expect(result.status).toBe('FAIL');
    expect(result.action).toMatch(/VPCs per Region \(L-F678F1CE\)/);
  });
});

describe('egress-only internet gateways left', () => {
  const dualStack = {
    need: {
      footprint: { ...NEED.footprint, egressOnlyInternetGateways: 1 },
    },
  };

  test('skips an IPv4 stage, asking EC2 nothing', async () => {
    expect(await egressOnlyInternetGateways.run(input())).toMatchObject({
      status: 'skip',
      detail: 'no ipv6: the stage takes no egress-only internet gateway',
    });
    expect(
      stubs.ec2.commandCalls(DescribeEgressOnlyInternetGatewaysCommand),
    ).toEqual([]);
  });

  test('passes a dual-stack stage in a region that holds none', async () => {
    expect(
      await egressOnlyInternetGateways.run(input(dualStack)),
    ).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/0 of 5 in use .*the stage needs 1/),
    });
  });

  test('fails a dual-stack stage when five exist, naming the quota to raise', async () => {
    stubs.ec2
      .on(DescribeEgressOnlyInternetGatewaysCommand)
      .resolves({ EgressOnlyInternetGateways: [{}, {}, {}, {}, {}] });
    const result = await egressOnlyInternetGateways.run(input(dualStack));
    expect(result.status).toBe('FAIL');
    expect(result.action).toMatch(/L-45FE3B85/);
  });
});

describe('instance types in the zones', () => {
  test('passes when both types are offered in the first two zones, as Fn::GetAZs orders them', async () => {
    expect(await instanceTypes.run(input())).toMatchObject({
      status: 'ok',
      detail: 't3.micro offered in us-east-1a, us-east-1b',
    });
  });

  test('fails when a default zone lacks a type, naming two zones to choose instead', async () => {
    stubs.ec2.on(DescribeInstanceTypeOfferingsCommand).resolves(
      offerings({
        'us-east-1a': [],
        'us-east-1b': ['t3.micro'],
        'us-east-1c': ['t3.micro'],
      }),
    );
    expect(await instanceTypes.run(input())).toMatchObject({
      status: 'FAIL',
      detail: 't3.micro not offered in us-east-1a',
      action:
        'deploy with -c availabilityZones=us-east-1b,us-east-1c (zones that offer t3.micro)',
    });
  });

  test('checks both types, and the zones of the availabilityZones setting', async () => {
    stubs.ec2.on(DescribeInstanceTypeOfferingsCommand).resolves(
      offerings({
        'us-east-1a': ['t3.micro', 'm7g.large'],
        'us-east-1b': ['t3.micro'],
        'us-east-1c': ['t3.micro', 'm7g.large'],
      }),
    );
    const settings = { appInstanceType: 'm7g.large' };
    expect(
      await instanceTypes.run(
        input({
          settings: {
            ...settings,
            availabilityZones: ['us-east-1a', 'us-east-1c'],
          },
        }),
      ),
    ).toMatchObject({
      status: 'ok',
      detail: 't3.micro and m7g.large offered in us-east-1a, us-east-1c',
    });
    expect(await instanceTypes.run(input({ settings }))).toMatchObject({
      status: 'FAIL',
      detail: 'm7g.large not offered in us-east-1b',
      action:
        'deploy with -c availabilityZones=us-east-1a,us-east-1c (zones that offer t3.micro and m7g.large)',
    });
  });

  test('fails on a zone of the setting that the region does not have', async () => {
    const result = await instanceTypes.run(
      input({ settings: { availabilityZones: ['us-east-1b', 'eu-west-1a'] } }),
    );
    expect(result).toMatchObject({
      status: 'FAIL',
      detail: 'eu-west-1a is not an available zone of us-east-1',
    });
  });

  test('fails with other instance types to choose when too few zones offer them', async () => {
    stubs.ec2
      .on(DescribeInstanceTypeOfferingsCommand)
      .resolves(offerings({ 'us-east-1c': ['t3.micro'] }));
    const result = await instanceTypes.run(input());
    expect(result.status).toBe('FAIL');
    expect(result.action).toMatch(
      /^choose instance types offered in 2 zones of us-east-1 .*only us-east-1c offers t3.micro$/,
    );
  });

  test('follows Fn::GetAZs to the zones with a default subnet when some have one', async () => {
    stubs.ec2.on(DescribeSubnetsCommand).resolves({
      Subnets: [
        { AvailabilityZone: 'us-east-1b' },
        { AvailabilityZone: 'us-east-1c' },
      ],
    });
    expect(await instanceTypes.run(input())).toMatchObject({
      status: 'ok',
      detail: 't3.micro offered in us-east-1b, us-east-1c',
    });
  });

  test('a zone named in availabilityZones needs no default subnet', async () => {
    stubs.ec2.on(DescribeSubnetsCommand).resolves({
      Subnets: [{ AvailabilityZone: 'us-east-1c' }],
    });
    expect(
      await instanceTypes.run(
        input({
          settings: { availabilityZones: ['us-east-1a', 'us-east-1b'] },
        }),
      ),
    ).toMatchObject({
      status: 'ok',
      detail: 't3.micro offered in us-east-1a, us-east-1b',
    });
  });

  test('reads every page of offerings', async () => {
    stubs.ec2
      .on(DescribeInstanceTypeOfferingsCommand)
      .resolvesOnce({
        ...offerings({ 'us-east-1a': ['t3.micro'] }),
        NextToken: 'more',
      })
      .resolvesOnce(offerings({ 'us-east-1b': ['t3.micro'] }));
    expect(await instanceTypes.run(input())).toMatchObject({ status: 'ok' });
  });
});

describe('pinned image (amiId)', () => {
  const pinned = { amiId: 'ami-0123456789abcdef0' };

  test('is skipped without amiId', async () => {
    expect(await image.run(input())).toMatchObject({ status: 'skip' });
  });

  test('passes when the image exists and runs on both instance types', async () => {
    expect(await image.run(input({ settings: pinned }))).toMatchObject({
      status: 'ok',
      detail:
        'ami-0123456789abcdef0 (al2023-ami-2023.6.20250101.0-kernel-6.1-x86_64, x86_64) runs on t3.micro',
    });
  });

  test('fails when the image is not in the region', async () => {
    stubs.ec2
      .on(DescribeImagesCommand)
      .rejects(
        awsError(
          'InvalidAMIID.NotFound',
          "The image id '[ami-0123456789abcdef0]' does not exist",
        ),
      );
    const result = await image.run(input({ settings: pinned }));
    expect(result).toMatchObject({
      status: 'FAIL',
      detail: 'ami-0123456789abcdef0 not found in us-east-1',
    });
    expect(result.action).toMatch(/aws ssm get-parameter --region us-east-1/);
  });

  test('fails when the image is arm64 and the instance types run x86_64', async () => {
    stubs.ec2.on(DescribeImagesCommand).resolves({
      Images: [
        {
          ImageId: pinned.amiId,
          Name: 'al2023-arm64',
          Architecture: 'arm64',
          State: 'available',
        },
      ],
    });
    expect(await image.run(input({ settings: pinned }))).toMatchObject({
      status: 'FAIL',
      detail: 'ami-0123456789abcdef0 is arm64; t3.micro runs x86_64',
    });
  });
});

describe('certificate', () => {
  test('is skipped without certificateArn', async () => {
    expect(await certificate.run(input())).toMatchObject({ status: 'skip' });
  });

  test('passes when ISSUED in the deploy region', async () => {
    expect(
      await certificate.run(
        input({ settings: { certificateArn: CERTIFICATE } }),
      ),
    ).toMatchObject({
      status: 'ok',
      detail: 'edge.example.com: ISSUED, in us-east-1',
    });
  });

  test('fails when the certificate is in another region, without asking ACM', async () => {
    const elsewhere = CERTIFICATE.replace('us-east-1', 'eu-west-1');
    expect(
      await certificate.run(input({ settings: { certificateArn: elsewhere } })),
    ).toMatchObject({
      status: 'FAIL',
      detail: 'the certificate is in eu-west-1, the deploy goes to us-east-1',
    });
    expect(stubs.acm.commandCalls(DescribeCertificateCommand)).toHaveLength(0);
  });

  test('fails when the certificate belongs to another account', async () => {
    const other = CERTIFICATE.replace(ACCOUNT, '210987654321');
    expect(
      await certificate.run(input({ settings: { certificateArn: other } })),
    ).toMatchObject({ status: 'FAIL' });
  });

  test('fails while the certificate waits for validation', async () => {
    stubs.acm.on(DescribeCertificateCommand).resolves({
      Certificate: {
        DomainName: 'edge.example.com',
        Status: 'PENDING_VALIDATION',
      },
    });
    const result = await certificate.run(
      input({ settings: { certificateArn: CERTIFICATE } }),
    );
    expect(result).toMatchObject({
      status: 'FAIL',
      detail: 'edge.example.com: PENDING_VALIDATION, not ISSUED',
    });
    expect(result.action).toMatch(/DNS validation/);
  });

  test('fails when ACM has no such certificate', async () => {
    stubs.acm
      .on(DescribeCertificateCommand)
      .rejects(awsError('ResourceNotFoundException'));
    expect(
      await certificate.run(
        input({ settings: { certificateArn: CERTIFICATE } }),
      ),
    ).toMatchObject({
      status: 'FAIL',
      detail: expect.stringMatching(/^no certificate /),
    });
  });
});

describe('CDK bootstrap', () => {
  test('passes when CDKToolkit is complete and new enough', async () => {
    expect(await bootstrap.run(input())).toMatchObject({
      status: 'ok',
      detail:
        'CDKToolkit UPDATE_COMPLETE, version 28 (the app needs 6 or later)',
    });
  });

  test('fails when the account is not bootstrapped, giving the command', async () => {
    stubs.cloudFormation
      .on(DescribeStacksCommand, { StackName: 'CDKToolkit' })
      .rejects(
        awsError('ValidationError', 'Stack with id CDKToolkit does not exist'),
      );
    expect(await bootstrap.run(input())).toMatchObject({
      status: 'FAIL',
      detail: 'no CDKToolkit stack in us-east-1',
      action: `npx cdk bootstrap aws://${ACCOUNT}/us-east-1`,
    });
  });

  test('fails when the bootstrap stack is older than the app needs', async () => {
    stubs.cloudFormation
      .on(DescribeStacksCommand, { StackName: 'CDKToolkit' })
      .resolves({
        Stacks: [
          {
            StackName: 'CDKToolkit',
            StackStatus: 'CREATE_COMPLETE',
            CreationTime: new Date(0),
            Outputs: [{ OutputKey: 'BootstrapVersion', OutputValue: '5' }],
          },
        ],
      });
    expect(await bootstrap.run(input())).toMatchObject({
      status: 'FAIL',
      detail: 'CDKToolkit version 5, the app needs 6 or later',
    });
  });

  test('fails when the bootstrap stack is rolled back', async () => {
    stubs.cloudFormation
      .on(DescribeStacksCommand, { StackName: 'CDKToolkit' })
      .resolves({
        Stacks: [
          {
            StackName: 'CDKToolkit',
            StackStatus: 'ROLLBACK_COMPLETE',
            CreationTime: new Date(0),
          },
        ],
      });
    expect(await bootstrap.run(input())).toMatchObject({
      status: 'FAIL',
      detail: 'CDKToolkit is ROLLBACK_COMPLETE',
    });
  });
});
