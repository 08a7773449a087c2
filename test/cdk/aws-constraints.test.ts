import {
  awsConstraintViolations,
  Template,
  Violation,
  worstCase,
} from './aws-constraints';
import { ContextSettings, synthesize } from './synth';

// Nineteen syntheses with cdk-nag: each takes seconds on a shared machine.
jest.setTimeout(600_000);

const CERT =
  'arn:aws:acm:us-east-1:123456789012:certificate/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b';

/** Every mode: nlb/alb × ip_hash/hash/cookie × plain/TLS, the longest stage name settings allow, and dual stack. */
const MODES: Record<string, ContextSettings> = {};
for (const lb of ['nlb', 'alb'])
  for (const sticky of ['ip_hash', 'hash', 'cookie'])
    for (const tls of [false, true])
      MODES[`${lb} ${sticky}${tls ? ' tls' : ''}`] = {
        lb,
        sticky,
        ...(tls ? { certificateArn: CERT } : {}),
      };
MODES['a 20-character stage, alb cookie tls, two NAT gateways'] = {
  stage: 'abcdefghij-klmnopqrs',
  lb: 'alb',
  sticky: 'cookie',
  certificateArn: CERT,
  natGateways: '2',
};
// The most app servers (the most egress rules). The cookie strategy's nginx.conf grows with the square of the
// count (each route upstream lists every server): its largest user data is 8 servers with ALB, TLS, two NAT
// gateways (the post-deploy check's addresses) and the longest stage name.
MODES['8 app servers, nlb hash tls, two NAT gateways'] = {
  appCount: '8',
  sticky: 'hash',
  certificateArn: CERT,
  natGateways: '2',
};
MODES['8 app servers, a 20-character stage, alb cookie tls, two NAT gateways'] =
  {
    stage: 'abcdefghij-klmnopqrs',
    appCount: '8',
    lb: 'alb',
    sticky: 'cookie',
    certificateArn: CERT,
    natGateways: '2',
  };
// Own backends: the most (egress rules), and the most with the longest addresses, ports and names under the
// cookie strategy (the header's geo and maps, the route upstreams).
MODES['8 own backends, nlb ip_hash'] = {
  backends: Array.from(
    { length: 8 },
    (_, i) => `203.0.113.${200 + i}:65535`,
  ).join(','),
};
MODES[
  '8 own backends with the longest names, a 20-character stage, alb cookie tls, two NAT gateways'
] = {
  stage: 'abcdefghij-klmnopqrs',
  lb: 'alb',
  sticky: 'cookie',
  certificateArn: CERT,
  natGateways: '2',
  backends: Array.from(
    { length: 8 },
    (_, i) => `${'n'.repeat(31)}${i}=203.0.113.${200 + i}:65535`,
  ).join(','),
};

MODES['nlb cookie ipv6'] = { lb: 'nlb', sticky: 'cookie', ipv6: 'true' };
MODES['alb hash tls ipv6, two NAT gateways'] = {
  lb: 'alb',
  sticky: 'hash',
  certificateArn: CERT,
  natGateways: '2',
  ipv6: 'true',
};

const describeViolation = (v: Violation) => `${v.where}: ${v.rule}: ${v.value}`;

describe('the synthesized template passes the AWS create-time constraints', () => {
  test.each(Object.keys(MODES))('%s', (mode) => {
    const { stack, template } = synthesize(MODES[mode]);
    const violations = awsConstraintViolations(
      template.toJSON() as Template,
      stack.stackName,
    ).map(describeViolation);
    expect(violations).toEqual([]);
  });
});

/** A template of one resource, to show each rule catches what it must. */
function oneResource(Type: string, Properties: unknown): Template {
  return { Resources: { R: { Type, Properties } } };
}
const violationsOf = (template: Template, stackName = 'sandbox-StickyEdge') =>
  awsConstraintViolations(template, stackName).map((v) => v.where);

describe('the constraint walker', () => {
  test.each([
    ['an apostrophe', "the load balancer's public listener"],
    ['an arrow', 'nginx → app'],
    ['a greater-than sign', 'nginx > app'],
    ['a percent sign', '100% of traffic'],
    ['a question mark', 'why?'],
    ['a double quote', 'the "app" port'],
    ['256 characters', 'a'.repeat(256)],
  ])('fails a security group rule description with %s', (_, description) => {
    expect(
      violationsOf(
        oneResource('AWS::EC2::SecurityGroup', {
          GroupDescription: 'ok',
          SecurityGroupEgress: [
            { CidrIp: '0.0.0.0/0', Description: description },
          ],
        }),
      ),
    ).toEqual(['R.SecurityGroupEgress.0.Description']);
    expect(
      violationsOf(
        oneResource('AWS::EC2::SecurityGroupIngress', {
          Description: description,
        }),
      ),
    ).toEqual(['R.Description']);
    expect(
      violationsOf(
        oneResource('AWS::EC2::SecurityGroup', {
          GroupDescription: description,
        }),
      ),
    ).toEqual(['R.GroupDescription']);
  });

  test('passes every character EC2 allows in a description', () => {
    expect(
      violationsOf(
        oneResource('AWS::EC2::SecurityGroup', {
          GroupDescription: 'aZ09. _-:/()#,@[]+=&;{}!$*',
        }),
      ),
    ).toEqual([]);
  });

  test('fails a group name starting with sg-', () => {
    expect(
      violationsOf(
        oneResource('AWS::EC2::SecurityGroup', {
          GroupDescription: 'ok',
          GroupName: 'sg-edge',
        }),
      ),
    ).toEqual(['R.GroupName']);
  });

  test.each([
    ['a key starting with aws:', [{ Key: 'aws:stage', Value: 'x' }], 'Key'],
    ['a key of 129 characters', [{ Key: 'k'.repeat(129), Value: 'x' }], 'Key'],
    [
      'a value of 257 characters',
      [{ Key: 'k', Value: 'v'.repeat(257) }],
      'Value',
    ],
    ['a value with a quote', [{ Key: 'k', Value: "bob's" }], 'Value'],
  ])('fails %s', (_, tags, part) => {
    expect(violationsOf(oneResource('AWS::EC2::VPC', { Tags: tags }))).toEqual([
      `R.Tags.0.${part}`,
    ]);
  });

  test('reads tags on launch templates and tag maps', () => {
    expect(
      violationsOf(
        oneResource('AWS::EC2::LaunchTemplate', {
          LaunchTemplateData: {
            TagSpecifications: [{ Tags: [{ Key: 'aws:x', Value: 'y' }] }],
          },
        }),
      ),
    ).toEqual(['R.LaunchTemplateData.TagSpecifications.0.Tags.0.Key']);
    expect(
      violationsOf(
        oneResource('AWS::SSM::Parameter', { Tags: { 'aws:x': 'y' } }),
      ),
    ).toEqual(['R.Tags.0.Key']);
  });

  test.each(['-edge', 'edge-', 'internal-edge', 'a'.repeat(33), 'edge_lb'])(
    'fails the load balancer name %j',
    (name) => {
      expect(
        violationsOf(
          oneResource('AWS::ElasticLoadBalancingV2::LoadBalancer', {
            Name: name,
          }),
        ),
      ).toEqual(['R.Name']);
    },
  );

  test('fails a launch template name with a colon or over 128 characters', () => {
    for (const name of ['stage:edge', 'x'.repeat(129)])
      expect(
        violationsOf(
          oneResource('AWS::EC2::LaunchTemplate', { LaunchTemplateName: name }),
        ),
      ).toEqual(['R.LaunchTemplateName']);
  });

  test('fails user data over 16 KB before base64, counting tokens at their worst case', () => {
    // 16,000 bytes of text fit; 30 public addresses at their worst case (15 each) add 450 and do not.
    const joined = {
      'Fn::Base64': {
        'Fn::Join': [
          '',
          [
            'x'.repeat(16_000),
            ...Array.from({ length: 30 }, () => ({
              'Fn::GetAtt': ['Eip', 'PublicIp'],
            })),
          ],
        ],
      },
    };
    expect(
      violationsOf(oneResource('AWS::EC2::Instance', { UserData: joined })),
    ).toEqual(['R.UserData']);
    const fits = { 'Fn::Base64': 'x'.repeat(16_000) };
    expect(
      violationsOf(oneResource('AWS::EC2::Instance', { UserData: fits })),
    ).toEqual([]);
  });

  test('fails a Lambda description over 256 characters and environment variables over 4 KB', () => {
    expect(
      violationsOf(
        oneResource('AWS::Lambda::Function', {
          Description: 'd'.repeat(257),
          Environment: {
            Variables: {
              ARN: { 'Fn::GetAtt': ['Role', 'Arn'] },
              MORE: 'v'.repeat(2100),
            },
          },
        }),
      ),
    ).toEqual(['R.Description', 'R.Environment.Variables']);
  });

  test('fails a log group name with a space and a retention CloudWatch does not offer', () => {
    expect(
      violationsOf(
        oneResource('AWS::Logs::LogGroup', {
          LogGroupName: '/sticky edge',
          RetentionInDays: 10,
        }),
      ),
    ).toEqual(['R.LogGroupName', 'R.RetentionInDays']);
  });

  test('fails a metric filter name with a colon, a pattern over 1024 characters, a metric name with $, four dimensions', () => {
    expect(
      violationsOf(
        oneResource('AWS::Logs::MetricFilter', {
          FilterName: 'a:b',
          FilterPattern: `{ $.uri = "${'x'.repeat(1020)}" }`,
          MetricTransformations: [
            {
              MetricName: 'Requests$',
              MetricNamespace: 'StickyEdge/sandbox',
              MetricValue: '1',
              Dimensions: ['a', 'b', 'c', 'd'].map((k) => ({
                Key: k,
                Value: `$.${k}`,
              })),
            },
          ],
        }),
      ),
    ).toEqual([
      'R.FilterName',
      'R.FilterPattern',
      'R.MetricTransformations.0.MetricName',
      'R.MetricTransformations.0.Dimensions',
    ]);
  });

  test('passes a metric filter AWS accepts, and fails one without exactly one transformation', () => {
    const transformation = {
      MetricName: 'Requests',
      MetricNamespace: 'StickyEdge/sandbox',
      MetricValue: '1',
      Dimensions: [{ Key: 'Backend', Value: '$.backend' }],
    };
    expect(
      violationsOf(
        oneResource('AWS::Logs::MetricFilter', {
          FilterPattern: '{ $.backend != "-" }',
          MetricTransformations: [transformation],
        }),
      ),
    ).toEqual([]);
    expect(
      violationsOf(
        oneResource('AWS::Logs::MetricFilter', {
          FilterPattern: '',
          MetricTransformations: [transformation, transformation],
        }),
      ),
    ).toEqual(['R.MetricTransformations']);
  });

  test('fails a dashboard name with a dot, a body that is not JSON, and a widget over 500 metrics', () => {
    expect(
      violationsOf(
        oneResource('AWS::CloudWatch::Dashboard', {
          DashboardName: 'sticky.edge',
          DashboardBody: '{"widgets": [',
        }),
      ),
    ).toEqual(['R.DashboardName', 'R.DashboardBody']);
    const widget = (metrics: number) => ({
      type: 'metric',
      properties: {
        metrics: Array.from({ length: metrics }, () => ['N', 'M']),
      },
    });
    expect(
      violationsOf(
        oneResource('AWS::CloudWatch::Dashboard', {
          DashboardBody: {
            'Fn::Join': [
              '',
              [
                '{"widgets":',
                JSON.stringify([widget(500), widget(501)]),
                ',"region":"',
                { Ref: 'AWS::Region' },
                '"}',
              ],
            ],
          },
        }),
      ),
    ).toEqual(['R.DashboardBody.widgets.1']);
  });

  test('fails an alarm description over 1024 characters and over 10 metric queries', () => {
    expect(
      violationsOf(
        oneResource('AWS::CloudWatch::Alarm', {
          AlarmDescription: 'x'.repeat(1025),
          Metrics: Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}` })),
        }),
      ),
    ).toEqual(['R.AlarmDescription', 'R.Metrics']);
  });

  test('fails a role path without slashes and a description with an arrow', () => {
    expect(
      violationsOf(
        oneResource('AWS::IAM::Role', { Path: 'edge', Description: 'a → b' }),
      ),
    ).toEqual(['R.Path', 'R.Description']);
  });

  test("fails a role's inline policies over 10,240 characters, AWS::IAM::Policy included", () => {
    const statement = (n: number) => ({
      Version: '2012-10-17',
      Statement: Array.from({ length: n }, () => ({
        Effect: 'Allow',
        Action: 'ec2:DescribeNatGateways',
        Resource: { 'Fn::GetAtt': ['Thing', 'Arn'] },
      })),
    });
    const template: Template = {
      Resources: {
        Role: {
          Type: 'AWS::IAM::Role',
          Properties: {
            Policies: [{ PolicyName: 'Inline', PolicyDocument: statement(2) }],
          },
        },
        Extra: {
          Type: 'AWS::IAM::Policy',
          Properties: {
            PolicyName: 'Extra',
            Roles: [{ Ref: 'Role' }],
            PolicyDocument: statement(3),
          },
        },
      },
    };
    expect(violationsOf(template)).toEqual(['Role inline policies']);
  });

  test('fails a stack name over 128 characters or with an underscore', () => {
    const empty: Template = { Resources: {} };
    expect(violationsOf(empty, 's'.repeat(129))).toEqual(['stack name']);
    expect(violationsOf(empty, 'sandbox_StickyEdge')).toEqual(['stack name']);
  });

  test('fails an output description over 1024 bytes', () => {
    expect(
      violationsOf({
        Resources: {},
        Outputs: { Url: { Description: 'é'.repeat(513) } },
      }),
    ).toEqual(['Url.Description']);
  });

  test('resolves each token to a run of zeros as long as its worst case', () => {
    const template: Template = {
      Parameters: {
        Ami: { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>' },
      },
      Resources: { Sg: { Type: 'AWS::EC2::SecurityGroup' } },
    };
    expect(
      worstCase(
        {
          'Fn::Join': [
            '/',
            [
              { Ref: 'Sg' },
              { Ref: 'Ami' },
              { 'Fn::GetAtt': ['Eip', 'PublicIp'] },
              { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
              { 'Fn::Sub': 'arn:${AWS::Partition}:x' },
            ],
          ],
        },
        template,
      ).split('/'),
    ).toEqual([
      '0'.repeat(20),
      '0'.repeat(21),
      '0'.repeat(15),
      '0'.repeat(32),
      `arn:${'0'.repeat(20)}:x`,
    ]);
  });

  test("bounds a part split off the stack ID by the part's own length (the UUID is 36)", () => {
    const stackIdPart = (index: number) =>
      worstCase(
        {
          'Fn::Select': [
            index,
            { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] },
          ],
        },
        { Resources: {} },
      );
    expect(stackIdPart(2)).toBe('0'.repeat(36));
    expect(stackIdPart(1)).toBe('0'.repeat(128));
    expect(stackIdPart(3)).toHaveLength(2048);
  });
});

describe('the dual-stack rules', () => {
  /** A VPC with its IPv6 block, one dual-stack subnet routed to the internet, a dualstack NLB and a Lambda. */
  function dualStack(): Template {
    return {
      Resources: {
        Vpc: {
          Type: 'AWS::EC2::VPC',
          Properties: { CidrBlock: '10.0.0.0/16' },
        },
        Block: {
          Type: 'AWS::EC2::VPCCidrBlock',
          Properties: {
            AmazonProvidedIpv6CidrBlock: true,
            VpcId: { Ref: 'Vpc' },
          },
        },
        Subnet: {
          Type: 'AWS::EC2::Subnet',
          DependsOn: ['Block'],
          Properties: {
            VpcId: { Ref: 'Vpc' },
            CidrBlock: '10.0.0.0/24',
            AssignIpv6AddressOnCreation: true,
            Ipv6CidrBlock: {
              'Fn::Select': [
                0,
                {
                  'Fn::Cidr': [
                    {
                      'Fn::Select': [
                        0,
                        { 'Fn::GetAtt': ['Vpc', 'Ipv6CidrBlocks'] },
                      ],
                    },
                    2,
                    '64',
                  ],
                },
              ],
            },
          },
        },
        Table: {
          Type: 'AWS::EC2::RouteTable',
          Properties: { VpcId: { Ref: 'Vpc' } },
        },
        Association: {
          Type: 'AWS::EC2::SubnetRouteTableAssociation',
          Properties: {
            SubnetId: { Ref: 'Subnet' },
            RouteTableId: { Ref: 'Table' },
          },
        },
        Route6: {
          Type: 'AWS::EC2::Route',
          Properties: {
            RouteTableId: { Ref: 'Table' },
            DestinationIpv6CidrBlock: '::/0',
            GatewayId: { Ref: 'Igw' },
          },
        },
        Lb: {
          Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
          Properties: {
            IpAddressType: 'dualstack',
            Subnets: [{ Ref: 'Subnet' }],
          },
        },
        Fn: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            VpcConfig: {
              Ipv6AllowedForDualStack: true,
              SubnetIds: [{ Ref: 'Subnet' }],
            },
          },
        },
        Sg: {
          Type: 'AWS::EC2::SecurityGroup',
          Properties: {
            GroupDescription: 'ok',
            SecurityGroupIngress: [
              { CidrIpv6: '::/0', IpProtocol: 'tcp', FromPort: 80, ToPort: 80 },
            ],
          },
        },
      },
    };
  }
  const { Subnet, Route6, Sg } = dualStack().Resources;

  test('passes a dual-stack VPC, subnet, route, load balancer, function and rule that AWS accepts', () => {
    expect(violationsOf(dualStack())).toEqual([]);
  });

  test('fails a dualstack load balancer in a subnet without IPv6, or whose route table routes no IPv6', () => {
    const noBlock = dualStack();
    const ipv4 = {
      ...Subnet.Properties,
      Ipv6CidrBlock: undefined,
      AssignIpv6AddressOnCreation: undefined,
    };
    noBlock.Resources.Subnet = { ...Subnet, Properties: ipv4 };
    expect(violationsOf(noBlock)).toEqual([
      'Lb.Subnets.0',
      'Fn.VpcConfig.SubnetIds.0',
    ]);
    const noRoute = dualStack();
    noRoute.Resources.Route6 = {
      ...Route6,
      Properties: {
        ...Route6.Properties,
        DestinationIpv6CidrBlock: undefined,
        DestinationCidrBlock: '0.0.0.0/0',
      },
    };
    expect(violationsOf(noRoute)).toEqual(['Lb.Subnets.0']);
  });

  test('fails AssignIpv6AddressOnCreation without a block, a block that is not a /64, and a subnet created before the VPC has its IPv6 block', () => {
    const t = dualStack();
    t.Resources.Subnet = {
      Type: 'AWS::EC2::Subnet',
      Properties: { ...Subnet.Properties, Ipv6CidrBlock: undefined },
    };
    t.Resources.Wide = {
      Type: 'AWS::EC2::Subnet',
      DependsOn: 'Block',
      Properties: { VpcId: { Ref: 'Vpc' }, Ipv6CidrBlock: '2001:db8::/56' },
    };
    t.Resources.Early = {
      Type: 'AWS::EC2::Subnet',
      Properties: {
        VpcId: { Ref: 'Vpc' },
        Ipv6CidrBlock: Subnet.Properties.Ipv6CidrBlock,
      },
    };
    expect(violationsOf(t)).toEqual([
      'Subnet.AssignIpv6AddressOnCreation',
      'Lb.Subnets.0',
      'Fn.VpcConfig.SubnetIds.0',
      'Wide.Ipv6CidrBlock',
      'Early.DependsOn',
    ]);
  });

  test.each([
    [
      'an IPv4 range as CidrIpv6',
      { CidrIpv6: '0.0.0.0/0' },
      'Sg.SecurityGroupIngress.0.CidrIpv6',
    ],
    [
      'a prefix over 128',
      { CidrIpv6: '::/129' },
      'Sg.SecurityGroupIngress.0.CidrIpv6',
    ],
    [
      'no prefix',
      { CidrIpv6: '2001:db8::' },
      'Sg.SecurityGroupIngress.0.CidrIpv6',
    ],
    [
      'both CidrIp and CidrIpv6',
      { CidrIp: '0.0.0.0/0', CidrIpv6: '::/0' },
      'Sg.SecurityGroupIngress.0',
    ],
  ])('fails a security group rule with %s', (_, range, where) => {
    const t = dualStack();
    t.Resources.Sg = {
      ...Sg,
      Properties: {
        GroupDescription: 'ok',
        SecurityGroupIngress: [
          { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, ...range },
        ],
      },
    };
    expect(violationsOf(t)).toEqual([where]);
  });
});
