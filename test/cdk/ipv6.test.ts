/**
 * `-c ipv6=true`: a dual-stack edge VPC and a dualstack load balancer in front of IPv4 targets. The template
 * must give the load balancer what ELB requires of a dualstack one (NLB guide, "Update the IP address types
 * for your Network Load Balancer", dualstack requirements: subnets with IPv6 blocks whose route tables route
 * IPv6), open IPv6 only where IPv4 is open today, and leave nginx trusting the load balancer's IPv4 subnets only.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { DeployCheck } from '../../lib/constructs/deploy-check';
import { SettingsError } from '../../lib/settings';
import { VERIFY_ENV } from '../../lib/verify/lambda-environment';
import {
  ContextSettings,
  flatten,
  getAttText,
  logicalIdOf,
  propertiesOf,
  Synthesized,
  synthesize,
  targetOf,
  writtenNginxConf,
} from './synth';

// Four synths (three dual-stack modes, one IPv4 for contrast), each on first use: seconds each on a shared machine.
jest.setTimeout(180_000);

const CERT =
  'arn:aws:acm:eu-west-1:123456789012:certificate/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b';

const MODES = {
  'nlb ip_hash ipv6': { lb: 'nlb', sticky: 'ip_hash', ipv6: 'true' },
  'nlb hash tls ipv6, natGateways=2': {
    lb: 'nlb',
    sticky: 'hash',
    certificateArn: CERT,
    natGateways: '2',
    ipv6: 'true',
  },
  'alb hash tls ipv6': {
    lb: 'alb',
    sticky: 'hash',
    certificateArn: CERT,
    ipv6: 'true',
  },
} satisfies Record<string, ContextSettings>;
type Mode = keyof typeof MODES;
const ALL = Object.keys(MODES) as Mode[];

const synthesized = new Map<Mode | 'ipv4', Synthesized>();
function synth(mode: Mode | 'ipv4'): Synthesized {
  if (!synthesized.has(mode))
    synthesized.set(mode, synthesize(mode === 'ipv4' ? {} : MODES[mode]));
  return synthesized.get(mode)!;
}

function resources(s: Synthesized, type: string): [string, any][] {
  return Object.entries(s.template.findResources(type));
}

/** The subnets of one subnet group (`LoadBalancer`, `Nginx`, `App`), by logical ID. */
function subnetsOf(s: Synthesized, group: string): string[] {
  return resources(s, 'AWS::EC2::Subnet')
    .filter(([, r]) =>
      r.Properties.Tags.some(
        (tag: { Key: string; Value: string }) =>
          tag.Key === 'aws-cdk:subnet-name' && tag.Value === group,
      ),
    )
    .map(([id]) => id);
}

/** The route of a subnet's route table for a destination, IPv4 or IPv6. */
function routeOf(
  s: Synthesized,
  subnet: string,
  destination:
    { DestinationCidrBlock: string } | { DestinationIpv6CidrBlock: string },
): Record<string, any> | undefined {
  const association = resources(
    s,
    'AWS::EC2::SubnetRouteTableAssociation',
  ).find(([, r]) => targetOf(r.Properties.SubnetId) === subnet)![1];
  const table = targetOf(association.Properties.RouteTableId);
  return resources(s, 'AWS::EC2::Route')
    .map(([, r]) => r.Properties)
    .find(
      (route) =>
        targetOf(route.RouteTableId) === table &&
        Object.entries(destination).every(([k, v]) => route[k] === v),
    );
}

interface Rule {
  readonly group: string;
  readonly direction: 'ingress' | 'egress';
  readonly rule: Record<string, any>;
}

/** Every security-group rule of the template, in either direction, inline or standalone. */
function securityGroupRules(s: Synthesized): Rule[] {
  const inline = resources(s, 'AWS::EC2::SecurityGroup').flatMap(
    ([group, r]) => [
      ...(
        (r.Properties.SecurityGroupIngress ?? []) as Record<string, any>[]
      ).map((rule) => ({ group, direction: 'ingress' as const, rule })),
      ...(
        (r.Properties.SecurityGroupEgress ?? []) as Record<string, any>[]
      ).map((rule) => ({ group, direction: 'egress' as const, rule })),
    ],
  );
  const standalone = (
    [
      ['AWS::EC2::SecurityGroupIngress', 'ingress'],
      ['AWS::EC2::SecurityGroupEgress', 'egress'],
    ] as const
  ).flatMap(([type, direction]) =>
    resources(s, type).map(([, r]) => {
      const { GroupId, ...rule } = r.Properties;
      return { group: targetOf(GroupId), direction, rule };
    }),
  );
  return [...inline, ...standalone];
}

function listenerPorts(mode: Mode): number[] {
  const { lb } = MODES[mode];
  if (!('certificateArn' in MODES[mode])) return [80];
  return lb === 'nlb' ? [443] : [80, 443];
}

describe('dual-stack VPC', () => {
  test.each(ALL)(
    '%s: the VPC gets one Amazon-provided IPv6 block, and every subnet a /64 of it, created after it',
    (mode) => {
      const s = synth(mode);
      const blocks = resources(s, 'AWS::EC2::VPCCidrBlock');
      expect(blocks.map(([, r]) => r.Properties)).toEqual([
        {
          AmazonProvidedIpv6CidrBlock: true,
          VpcId: { Ref: logicalIdOf(s.stack, s.stack.network.vpc) },
        },
      ]);
      const subnets = resources(s, 'AWS::EC2::Subnet');
      expect(subnets).toHaveLength(6);
      const vpcBlock = {
        'Fn::Select': [
          0,
          {
            'Fn::GetAtt': [
              logicalIdOf(s.stack, s.stack.network.vpc),
              'Ipv6CidrBlocks',
            ],
          },
        ],
      };
      subnets.forEach(([, r], i) => {
        expect(r.Properties.Ipv6CidrBlock).toEqual({
          'Fn::Select': [i, { 'Fn::Cidr': [vpcBlock, 6, '64'] }],
        });
        // Fn::GetAtt Ipv6CidrBlocks is empty until the association exists.
        expect(r.DependsOn).toContain(blocks[0][0]);
      });
    },
  );

  test.each(ALL)(
    '%s: only the nginx subnets give a new interface an IPv6 address (the check Lambda needs one); none maps a public IPv4 one',
    (mode) => {
      const s = synth(mode);
      const assign = (group: string) =>
        subnetsOf(s, group).map(
          (id) => propertiesOf(s.template, id).AssignIpv6AddressOnCreation,
        );
      expect(assign('LoadBalancer')).toEqual([false, false]);
      expect(assign('App')).toEqual([false, false]);
      expect(assign('Nginx')).toEqual([true, true]);
      for (const [, r] of resources(s, 'AWS::EC2::Subnet'))
        expect(r.Properties.MapPublicIpOnLaunch).toBe(false);
    },
  );

  test.each(ALL)(
    '%s: the load balancer subnets route ::/0 to the internet gateway; nginx keeps IPv4 egress through the NAT gateway, IPv6 only to an egress-only gateway',
    (mode) => {
      const s = synth(mode);
      const [igw] = resources(s, 'AWS::EC2::InternetGateway').map(([id]) => id);
      const eigws = resources(s, 'AWS::EC2::EgressOnlyInternetGateway');
      expect(eigws).toHaveLength(1);
      for (const subnet of subnetsOf(s, 'LoadBalancer')) {
        expect(
          routeOf(s, subnet, { DestinationIpv6CidrBlock: '::/0' }),
        ).toMatchObject({ GatewayId: { Ref: igw } });
      }
      for (const subnet of subnetsOf(s, 'Nginx')) {
        expect(
          routeOf(s, subnet, { DestinationCidrBlock: '0.0.0.0/0' }),
        ).toHaveProperty('NatGatewayId');
        expect(
          routeOf(s, subnet, { DestinationIpv6CidrBlock: '::/0' }),
        ).toEqual(
          expect.objectContaining({
            EgressOnlyInternetGatewayId: { Ref: eigws[0][0] },
          }),
        );
      }
    },
  );

  test.each(ALL)(
    '%s: the NAT gateways stay IPv4, one Elastic IP each, as without IPv6',
    (mode) => {
      const s = synth(mode);
      const settings: ContextSettings = MODES[mode];
      const nat = Number(settings.natGateways ?? 1);
      expect(resources(s, 'AWS::EC2::EIP')).toHaveLength(nat);
      expect(
        resources(s, 'AWS::EC2::NatGateway').map(
          ([, r]) => r.Properties.ConnectivityType,
        ),
      ).toEqual(Array(nat).fill(undefined));
      for (const [, r] of resources(s, 'AWS::EC2::Route'))
        expect(r.Properties.DestinationIpv6CidrBlock).not.toBe('64:ff9b::/96');
    },
  );
});

describe('dualstack load balancer', () => {
  test.each(ALL)(
    '%s: IpAddressType dualstack in the load balancer subnets, IPv4 instance targets',
    (mode) => {
      const s = synth(mode);
      const lb = propertiesOf(
        s.template,
        logicalIdOf(s.stack, s.stack.loadBalancer),
      );
      expect(lb.IpAddressType).toBe('dualstack');
      expect(lb.Subnets.map(targetOf).sort()).toEqual(
        subnetsOf(s, 'LoadBalancer').sort(),
      );
      const group = propertiesOf(
        s.template,
        logicalIdOf(s.stack, s.stack.edge.targetGroup),
      );
      expect(group.TargetType).toBe('instance');
      expect(group.IpAddressType ?? 'ipv4').toBe('ipv4');
    },
  );

  test.each(ALL)(
    '%s: nginx still trusts only the load balancer subnets, by their IPv4 blocks',
    (mode) => {
      const s = synth(mode);
      const conf = writtenNginxConf(
        flatten(
          propertiesOf(
            s.template,
            targetOf(
              propertiesOf(
                s.template,
                logicalIdOf(s.stack, s.stack.autoScalingGroup),
              ).LaunchTemplate.LaunchTemplateId,
            ),
          ).LaunchTemplateData.UserData,
        ),
      );
      const trusted = [...conf.matchAll(/set_real_ip_from (\S+);/g)].map(
        (m) => m[1],
      );
      const lbBlocks = subnetsOf(s, 'LoadBalancer').map(
        (id) => propertiesOf(s.template, id).CidrBlock,
      );
      expect(lbBlocks).toEqual([
        expect.stringMatching(/^10\.40\./),
        expect.any(String),
      ]);
      expect([...new Set(trusted)].sort()).toEqual([...lbBlocks].sort());
    },
  );
});

describe('security groups', () => {
  test.each([...ALL, 'ipv4' as const])(
    '%s: every IPv6 rule opens a group, direction and port range that IPv4 already opens to 0.0.0.0/0',
    (mode) => {
      const rules = securityGroupRules(synth(mode));
      const ipv6 = rules.filter(({ rule }) => rule.CidrIpv6 !== undefined);
      if (mode === 'ipv4') expect(ipv6).toEqual([]);
      else expect(ipv6.length).toBeGreaterThan(0);
      for (const v6 of ipv6) {
        expect(rules).toContainEqual({
          group: v6.group,
          direction: v6.direction,
          rule: expect.objectContaining({
            CidrIp: '0.0.0.0/0',
            IpProtocol: v6.rule.IpProtocol,
            FromPort: v6.rule.FromPort,
            ToPort: v6.rule.ToPort,
          }),
        });
      }
    },
  );

  test.each(ALL)(
    '%s: ::/0 reaches the load balancer listener ports only; the check reaches IPv6 only at the load balancer subnets',
    (mode) => {
      const s = synth(mode);
      const rules = securityGroupRules(s).filter(
        ({ rule }) => rule.CidrIpv6 !== undefined,
      );
      const lbSg = logicalIdOf(s.stack, s.stack.edge.securityGroup);
      const checkSg = logicalIdOf(
        s.stack,
        s.stack.node
          .findChild('DeployCheck')
          .node.findChild('SecurityGroup') as ec2.SecurityGroup,
      );
      const lbSubnetBlocks = subnetsOf(s, 'LoadBalancer').map((subnet) => ({
        'Fn::Select': [0, { 'Fn::GetAtt': [subnet, 'Ipv6CidrBlocks'] }],
      }));
      const ports = listenerPorts(mode);
      expect(
        rules.map(({ group, direction, rule }) => [
          group,
          direction,
          rule.CidrIpv6,
          rule.FromPort,
          rule.ToPort,
        ]),
      ).toEqual([
        ...ports.map((port) => [lbSg, 'ingress', '::/0', port, port]),
        ...ports.flatMap((port) =>
          lbSubnetBlocks.map((block) => [checkSg, 'egress', block, port, port]),
        ),
      ]);
    },
  );
});

describe('post-deploy check', () => {
  test.each(ALL)(
    '%s: the function may send IPv6 from the dual-stack nginx subnets, names its security group for its IPv6 visitors and may read its interfaces',
    (mode) => {
      const s = synth(mode);
      const check = s.stack.node.findChild('DeployCheck') as DeployCheck;
      const fn = propertiesOf(s.template, logicalIdOf(s.stack, check.function));
      expect(fn.VpcConfig.Ipv6AllowedForDualStack).toBe(true);
      expect(fn.VpcConfig.SubnetIds.map(targetOf).sort()).toEqual(
        subnetsOf(s, 'Nginx').sort(),
      );
      expect(fn.Environment.Variables[VERIFY_ENV.ipv6SecurityGroup]).toEqual({
        'Fn::GetAtt': [logicalIdOf(s.stack, check.securityGroup), 'GroupId'],
      });
      // Two verifications and a minute for the AAAA answers: 380 s ready + 2 × 120 s + 60 s + 30 s of AWS calls.
      expect(fn.Timeout).toBe(710);
      const policies = resources(s, 'AWS::IAM::Policy')
        .map(([, r]) => r.Properties)
        .filter((p) =>
          p.Roles.some(
            (role: any) =>
              targetOf(role) ===
              logicalIdOf(s.stack, check.function.role! as any),
          ),
        );
      expect(
        policies.flatMap((p) => p.PolicyDocument.Statement),
      ).toContainEqual(
        expect.objectContaining({
          Action: ['ec2:DescribeNatGateways', 'ec2:DescribeNetworkInterfaces'],
          Resource: '*',
        }),
      );
    },
  );

  test('without ipv6 the function stays IPv4: no flag, no security group named, no interface reads', () => {
    const s = synth('ipv4');
    const check = s.stack.node.findChild('DeployCheck') as DeployCheck;
    const fn = propertiesOf(s.template, logicalIdOf(s.stack, check.function));
    expect(fn.VpcConfig.Ipv6AllowedForDualStack).toBeUndefined();
    expect(
      fn.Environment.Variables[VERIFY_ENV.ipv6SecurityGroup],
    ).toBeUndefined();
    expect(JSON.stringify(s.template.toJSON())).not.toContain(
      'ec2:DescribeNetworkInterfaces',
    );
  });

  test('fails when the check is given IPv6 visitors but no load balancer IPv6 blocks', () => {
    const stack = new Stack(new App(), 'Check');
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      ipProtocol: ec2.IpProtocol.DUAL_STACK,
    });
    expect(
      () =>
        new DeployCheck(stack, 'DeployCheck', {
          vpc,
          url: 'http://edge.example',
          listenerPorts: [80],
          sticky: 'cookie',
          executeAfter: [],
          targetHealthCheck: {},
          ipv6: { loadBalancerCidrs: [] },
        }),
    ).toThrow(
      "deploy check needs the load balancer's IPv6 subnet blocks for its IPv6 visitors, got none",
    );
  });
});

describe('outputs', () => {
  test.each(ALL)(
    '%s: the IPv6 URL (the same dualstack name, which answers AAAA) and a curl -6 line',
    (mode) => {
      const s = synth(mode);
      const outputs = s.template.toJSON().Outputs;
      const scheme = 'certificateArn' in MODES[mode] ? 'https' : 'http';
      const url = `${scheme}://${getAttText(logicalIdOf(s.stack, s.stack.loadBalancer), 'DNSName')}`;
      expect(flatten(outputs.LoadBalancerIpv6Url.Value)).toBe(url);
      expect(outputs.LoadBalancerIpv6Url.Description).toMatch(/AAAA/);
      expect(flatten(outputs.Ipv6CurlCommand.Value)).toBe(
        `curl -6 -s -c sticky-edge.jar -b sticky-edge.jar ${url}/`,
      );
    },
  );

  test('without ipv6 there is no IPv6 output, no IPv6 block and no dualstack load balancer', () => {
    const s = synth('ipv4');
    const outputs = s.template.toJSON().Outputs;
    expect(outputs.LoadBalancerIpv6Url).toBeUndefined();
    expect(outputs.Ipv6CurlCommand).toBeUndefined();
    expect(resources(s, 'AWS::EC2::VPCCidrBlock')).toEqual([]);
    expect(resources(s, 'AWS::EC2::EgressOnlyInternetGateway')).toEqual([]);
    expect(
      propertiesOf(s.template, logicalIdOf(s.stack, s.stack.loadBalancer))
        .IpAddressType,
    ).toBeUndefined();
  });
});

describe('cdk-nag and settings', () => {
  test.each(ALL)(
    '%s: no validation plugin reports anything unacknowledged',
    (mode) => {
      const s = synth(mode);
      const report = JSON.parse(
        readFileSync(path.join(s.app.outdir, 'validation-report.json'), 'utf8'),
      );
      expect(
        report.pluginReports.flatMap(
          (plugin: { violations?: unknown[] }) => plugin.violations ?? [],
        ),
      ).toEqual([]);
    },
  );

  test('fails when ipv6 is not true or false', () => {
    expect(() => synthesize({ ipv6: 'yes' })).toThrow(SettingsError);
    expect(() => synthesize({ ipv6: 'yes' })).toThrow(
      /^ipv6 must be true or false, got "yes"$/,
    );
  });
});
