/** The quota count on small hand-written templates, so its logic is proven apart from the stack. */
import {
  combined,
  DEFAULT_QUOTAS,
  largest,
  mostRulesInOneGroup,
  quotaFootprint,
  stagesThatFit,
  subnetZones,
  zoneOf,
} from '../../lib/preflight/footprint';

const az = (i: number) => ({ 'Fn::Select': [i, { 'Fn::GetAZs': '' }] });
const ref = (id: string) => ({ Ref: id });
const groupId = (id: string) => ({ 'Fn::GetAtt': [id, 'GroupId'] });

function subnet(availabilityZone: unknown) {
  return {
    Type: 'AWS::EC2::Subnet',
    Properties: { VpcId: ref('Vpc'), AvailabilityZone: availabilityZone },
  };
}

function nat(subnetId: string) {
  return {
    Type: 'AWS::EC2::NatGateway',
    Properties: { SubnetId: ref(subnetId) },
  };
}

describe('quotaFootprint', () => {
  test('counts Elastic IPs, VPCs and internet gateways', () => {
    const f = quotaFootprint({
      Resources: {
        Vpc: { Type: 'AWS::EC2::VPC' },
        Igw: { Type: 'AWS::EC2::InternetGateway' },
        EipA: { Type: 'AWS::EC2::EIP' },
        EipB: { Type: 'AWS::EC2::EIP' },
        EipC: { Type: 'AWS::EC2::EIP' },
      },
    });
    expect(f.elasticIps).toBe(3);
    expect(f.vpcs).toBe(1);
    expect(f.internetGateways).toBe(1);
  });

  test('counts egress-only internet gateways (a dual-stack VPC brings one), none without', () => {
    expect(
      quotaFootprint({
        Resources: {
          Vpc: { Type: 'AWS::EC2::VPC' },
          Eigw: { Type: 'AWS::EC2::EgressOnlyInternetGateway' },
        },
      }).egressOnlyInternetGateways,
    ).toBe(1);
    expect(
      quotaFootprint({ Resources: { Vpc: { Type: 'AWS::EC2::VPC' } } })
        .egressOnlyInternetGateways,
    ).toBe(0);
  });

  test('counts NAT gateways per zone through their subnets, Fn::Select of Fn::GetAZs as the i-th zone', () => {
    const f = quotaFootprint({
      Resources: {
        SubnetA: subnet(az(0)),
        SubnetA2: subnet(az(0)),
        SubnetB: subnet(az(1)),
        SubnetNamed: subnet('eu-west-1c'),
        NatA: nat('SubnetA'),
        NatA2: nat('SubnetA2'),
        NatB: nat('SubnetB'),
        NatC: nat('SubnetNamed'),
      },
    });
    expect(f.natGatewaysPerAz).toEqual({
      'GetAZs[0]': 2,
      'GetAZs[1]': 1,
      'eu-west-1c': 1,
    });
    expect(largest(f.natGatewaysPerAz)).toBe(2);
  });

  test('a zone the template does not name is counted as unknown', () => {
    expect(zoneOf({ Ref: 'ZoneParameter' })).toBe('unknown');
    expect(zoneOf(undefined)).toBe('unknown');
  });

  test('counts security groups per VPC, with the default group each new VPC brings', () => {
    const f = quotaFootprint({
      Resources: {
        Vpc: { Type: 'AWS::EC2::VPC' },
        Other: { Type: 'AWS::EC2::VPC' },
        SgA: {
          Type: 'AWS::EC2::SecurityGroup',
          Properties: { VpcId: ref('Vpc') },
        },
        SgB: {
          Type: 'AWS::EC2::SecurityGroup',
          Properties: { VpcId: ref('Vpc') },
        },
        SgC: { Type: 'AWS::EC2::SecurityGroup', Properties: {} },
      },
    });
    expect(f.securityGroupsPerVpc).toEqual({ Vpc: 3, Other: 1, default: 1 });
  });

  test('counts rules per group and direction: IPv4 and IPv6 apart, a group reference as one of each', () => {
    const f = quotaFootprint({
      Resources: {
        Sg: {
          Type: 'AWS::EC2::SecurityGroup',
          Properties: {
            SecurityGroupIngress: [
              { CidrIp: '0.0.0.0/0', FromPort: 80, ToPort: 80 },
              { CidrIpv6: '::/0', FromPort: 80, ToPort: 80 },
              { SourceSecurityGroupId: groupId('Other') },
            ],
            SecurityGroupEgress: [{ CidrIp: '10.0.0.0/8' }],
          },
        },
        Other: { Type: 'AWS::EC2::SecurityGroup', Properties: {} },
        Bare: { Type: 'AWS::EC2::SecurityGroup', Properties: {} },
        StandaloneIn: {
          Type: 'AWS::EC2::SecurityGroupIngress',
          Properties: { GroupId: groupId('Sg'), CidrIp: '10.1.0.0/16' },
        },
        StandaloneOut: {
          Type: 'AWS::EC2::SecurityGroupEgress',
          Properties: {
            GroupId: groupId('Other'),
            DestinationSecurityGroupId: groupId('Sg'),
          },
        },
      },
    });
    expect(f.rulesPerSecurityGroup.Sg).toEqual({
      inbound: { ipv4: 3, ipv6: 2 },
      outbound: { ipv4: 1, ipv6: 0 },
    });
    // A standalone egress rule replaces EC2's allow-all rule; the group reference counts one of each family.
    expect(f.rulesPerSecurityGroup.Other).toEqual({
      inbound: { ipv4: 0, ipv6: 0 },
      outbound: { ipv4: 1, ipv6: 1 },
    });
    // No egress rule at all: EC2's allow-all IPv4 rule stays.
    expect(f.rulesPerSecurityGroup.Bare).toEqual({
      inbound: { ipv4: 0, ipv6: 0 },
      outbound: { ipv4: 1, ipv6: 0 },
    });
    expect(mostRulesInOneGroup(f)).toBe(3);
  });
});

describe('stagesThatFit', () => {
  const stage = (eips: number, vpcs: number, natsInZone0: number) =>
    quotaFootprint({
      Resources: {
        ...Object.fromEntries(
          Array.from({ length: eips }, (_, i) => [
            `Eip${i}`,
            { Type: 'AWS::EC2::EIP' },
          ]),
        ),
        ...Object.fromEntries(
          Array.from({ length: vpcs }, (_, i) => [
            `Vpc${i}`,
            { Type: 'AWS::EC2::VPC' },
          ]),
        ),
        ...Object.fromEntries(
          Array.from({ length: vpcs }, (_, i) => [
            `Igw${i}`,
            { Type: 'AWS::EC2::InternetGateway' },
          ]),
        ),
        Subnet: subnet(az(0)),
        ...Object.fromEntries(
          Array.from({ length: natsInZone0 }, (_, i) => [
            `Nat${i}`,
            nat('Subnet'),
          ]),
        ),
      },
    });

  test('four Elastic IPs and two VPCs fit once: the default VPC leaves room for four more', () => {
    expect(stagesThatFit(stage(4, 2, 1))).toEqual({
      count: 1,
      limitedBy: 'Elastic IPs',
    });
  });

  test('one Elastic IP and one VPC fit four times, limited by VPCs (the default VPC holds the fifth)', () => {
    expect(stagesThatFit(stage(1, 1, 1))).toEqual({
      count: 4,
      limitedBy: 'VPCs',
    });
  });

  test('NAT gateways add up zone by zone', () => {
    expect(stagesThatFit(stage(0, 0, 2))).toEqual({
      count: 2,
      limitedBy: 'NAT gateways per AZ',
    });
  });

  test('three stacks side by side fit when their sum fits once', () => {
    expect(
      stagesThatFit(combined(stage(1, 1, 1), stage(1, 1, 1), stage(1, 1, 1)))
        .count,
    ).toBe(1);
    expect(
      stagesThatFit(combined(stage(2, 2, 1), stage(2, 2, 1), stage(1, 1, 1)))
        .count,
    ).toBe(0);
  });

  test('one egress-only internet gateway per stage fits five stages by that quota (the default VPC holds none)', () => {
    const dualStack = quotaFootprint({
      Resources: {
        Eigw: { Type: 'AWS::EC2::EgressOnlyInternetGateway' },
      },
    });
    expect(stagesThatFit(dualStack)).toEqual({
      count: 5,
      limitedBy: 'egress-only internet gateways',
    });
  });

  test('fails when one group holds more rules than the quota', () => {
    const f = quotaFootprint({
      Resources: {
        Sg: {
          Type: 'AWS::EC2::SecurityGroup',
          Properties: {
            SecurityGroupIngress: Array.from(
              { length: DEFAULT_QUOTAS.rulesPerSecurityGroup + 1 },
              (_, i) => ({ CidrIp: `10.0.${i}.0/24` }),
            ),
          },
        },
      },
    });
    expect(stagesThatFit(f)).toEqual({
      count: 0,
      limitedBy: 'rules per security group',
    });
  });
});

test('subnetZones lists the distinct zones of the subnets, sorted', () => {
  expect(
    subnetZones({
      Resources: {
        A: subnet(az(1)),
        B: subnet(az(0)),
        C: subnet(az(1)),
        Vpc: { Type: 'AWS::EC2::VPC' },
      },
    }),
  ).toEqual(['GetAZs[0]', 'GetAZs[1]']);
});
