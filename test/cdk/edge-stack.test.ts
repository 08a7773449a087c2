import { gunzipSync } from 'node:zlib';
import { bundleAgent } from '../../lib/agent/bundle';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { renderEdgeConfig, renderMainConfig } from '../../lib/nginx/render';
import type { EdgeRenderOptions } from '../../lib/nginx/render-options';
import { parseSettings } from '../../lib/settings';
import { StickyEdgeStack } from '../../lib/stacks/sticky-edge-stack';
import {
  cdkJsonContext,
  ContextSettings,
  flatten,
  getAttText,
  ingressRules,
  logicalIdOf,
  propertiesOf,
  Synthesized,
  synthesize,
  targetOf,
  writtenNginxConf,
} from './synth';
import { dnfInstallWithRetry } from '../../lib/os/dnf-install';

// Each mode is synthesized once, on first use; synthesis (with cdk-nag) takes seconds on a shared machine.
jest.setTimeout(120_000);

const CERT =
  'arn:aws:acm:eu-west-1:123456789012:certificate/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b';
const PINNED_AMI = 'ami-0123456789abcdef0';

const MODES = {
  'nlb ip_hash': { lb: 'nlb', sticky: 'ip_hash' },
  'nlb hash': { lb: 'nlb', sticky: 'hash' },
  'nlb cookie': { lb: 'nlb', sticky: 'cookie' },
  'alb ip_hash': { lb: 'alb', sticky: 'ip_hash' },
  'alb hash': { lb: 'alb', sticky: 'hash' },
  'alb cookie': { lb: 'alb', sticky: 'cookie' },
  // An app embedded cross-site: its own routing cookie name, SameSite=None (which needs the certificate).
  'nlb cookie tls': {
    lb: 'nlb',
    sticky: 'cookie',
    certificateArn: CERT,
    cookieTtl: '600',
    cookieName: 'app_route',
    cookieSameSite: 'None',
  },
  'alb hash tls, staging on Graviton with a pinned AMI': {
    lb: 'alb',
    sticky: 'hash',
    certificateArn: CERT,
    stage: 'staging',
    amiId: PINNED_AMI,
    nginxInstanceType: 't4g.micro',
    appInstanceType: 't4g.small',
    nginxMinCapacity: '3',
    nginxMaxCapacity: '3',
    appPort: '8080',
  },
} satisfies Record<string, ContextSettings>;
type Mode = keyof typeof MODES;

const ALL = Object.keys(MODES) as Mode[];
const NLB = ALL.filter((mode) => MODES[mode].lb === 'nlb');
const ALB = ALL.filter((mode) => MODES[mode].lb === 'alb');
const TLS = ALL.filter((mode) => 'certificateArn' in MODES[mode]);
const PLAIN = ALL.filter((mode) => !TLS.includes(mode));

const synthesized = new Map<Mode, Synthesized>();
function synth(mode: Mode): Synthesized {
  if (!synthesized.has(mode)) synthesized.set(mode, synthesize(MODES[mode]));
  return synthesized.get(mode)!;
}

/** The logical IDs a deploy must never change: replacing them loses the VPC or the NAT addresses. */
const PINNED = {
  vpcs: ['EdgeNetworkVpc23CD18F7'],
  natEips: ['EdgeNetworkNatEipA12F86648'],
  /** The second NAT gateway's address, with natGateways=2. */
  secondNatEip: 'EdgeNetworkNatEipB23DA2266',
};

/** The app servers' instances, whose public addresses nginx dials. */
function appInstances(s: Synthesized): string[] {
  return s.stack.appServers.map((server) =>
    logicalIdOf(s.stack, server.instance),
  );
}

/** Documentation addresses standing in for the app servers' public addresses when comparing configs. */
const APP_ADDRESSES = ['198.51.100.10', '198.51.100.11'];

/** The Properties of every load-balancer listener in the template. */
function listenerProperties(s: Synthesized) {
  return Object.values(
    s.template.findResources('AWS::ElasticLoadBalancingV2::Listener'),
  ).map((l) => l.Properties);
}

function ids(s: Synthesized) {
  return {
    nginxGroup: logicalIdOf(s.stack, s.stack.autoScalingGroup),
    nginxSg: logicalIdOf(s.stack, s.stack.nginx.securityGroup),
    lbSg: logicalIdOf(s.stack, s.stack.edge.securityGroup),
    appSg: logicalIdOf(s.stack, s.stack.apps!.securityGroup),
    lb: logicalIdOf(s.stack, s.stack.loadBalancer),
    targetGroup: logicalIdOf(s.stack, s.stack.edge.targetGroup),
  };
}

function nginxLaunchTemplate(s: Synthesized): Record<string, any> {
  const group = propertiesOf(s.template, ids(s).nginxGroup);
  return propertiesOf(
    s.template,
    targetOf(group.LaunchTemplate.LaunchTemplateId),
  ).LaunchTemplateData;
}

function nginxUserData(s: Synthesized): string {
  return flatten(nginxLaunchTemplate(s).UserData);
}

/** The CIDRs of the subnets the load balancer really sits in, read from the template. */
function loadBalancerSubnetCidrs(s: Synthesized): string[] {
  const subnets: unknown[] = propertiesOf(s.template, ids(s).lb).Subnets;
  return subnets.map(
    (subnet) => propertiesOf(s.template, targetOf(subnet)).CidrBlock,
  );
}

/** The listener ports the mode must open to the internet, and nothing else. */
function expectedListenerPorts(mode: Mode): number[] {
  const { lb } = MODES[mode];
  if (!TLS.includes(mode)) return [80];
  return lb === 'nlb' ? [443] : [80, 443];
}

describe('pinned logical IDs', () => {
  test.each(ALL)(
    '%s: the one VPC and the one Elastic IP keep their logical IDs',
    (mode) => {
      const { template } = synth(mode);
      expect(
        Object.keys(template.findResources('AWS::EC2::VPC')).sort(),
      ).toEqual(PINNED.vpcs);
      expect(
        Object.keys(template.findResources('AWS::EC2::EIP')).sort(),
      ).toEqual(PINNED.natEips);
    },
  );
});

describe('edge network', () => {
  test.each(ALL)(
    '%s: one NAT gateway, on an Elastic IP the stack owns, for both AZs',
    (mode) => {
      const { template } = synth(mode);
      const gateways = Object.values(
        template.findResources('AWS::EC2::NatGateway'),
      );
      expect(
        gateways.map((g) => targetOf(g.Properties.AllocationId)).sort(),
      ).toEqual(PINNED.natEips);
      expect(
        gateways.map((g) => g.Properties.AllocationId['Fn::GetAtt'][1]),
      ).toEqual(['AllocationId']);
      const natRoutes = Object.values(
        template.findResources('AWS::EC2::Route'),
      ).filter((route) => route.Properties.NatGatewayId !== undefined);
      expect(natRoutes).toHaveLength(2);
      expect(
        new Set(
          natRoutes.map((route) => targetOf(route.Properties.NatGatewayId)),
        ),
      ).toEqual(
        new Set(Object.keys(template.findResources('AWS::EC2::NatGateway'))),
      );
    },
  );

  test.each(ALL)(
    '%s: the VPC spans two AZs chosen at deploy time and logs its traffic',
    (mode) => {
      const { template } = synth(mode);
      const zones = Object.values(
        template.findResources('AWS::EC2::Subnet'),
      ).map((subnet) => JSON.stringify(subnet.Properties.AvailabilityZone));
      expect(new Set(zones)).toEqual(
        new Set(
          [0, 1].map((i) =>
            JSON.stringify({ 'Fn::Select': [i, { 'Fn::GetAZs': '' }] }),
          ),
        ),
      );
      const flowLogs = Object.values(
        template.findResources('AWS::EC2::FlowLog'),
      );
      expect(
        flowLogs.map((log) => targetOf(log.Properties.ResourceId)).sort(),
      ).toEqual(PINNED.vpcs);
    },
  );
});

describe('security groups', () => {
  test.each(ALL)(
    '%s: only the load balancer listener ports are open to the internet',
    (mode) => {
      const s = synth(mode);
      const open = ingressRules(s.template).filter(
        ({ rule }) => rule.CidrIp === '0.0.0.0/0' || rule.CidrIpv6 === '::/0',
      );
      expect(
        open.map(({ group, rule }) => [group, rule.FromPort, rule.ToPort]),
      ).toEqual(
        expectedListenerPorts(mode).map((port) => [ids(s).lbSg, port, port]),
      );
    },
  );

  test.each(ALL)(
    '%s: nginx admits only the load balancer security group, on its traffic port',
    (mode) => {
      const s = synth(mode);
      const { nginxSg, lbSg } = ids(s);
      const rules = ingressRules(s.template).filter(
        ({ group }) => group === nginxSg,
      );
      expect(rules.map(({ rule }) => rule)).toEqual([
        expect.objectContaining({
          SourceSecurityGroupId: { 'Fn::GetAtt': [lbSg, 'GroupId'] },
          IpProtocol: 'tcp',
          FromPort: 80,
          ToPort: 80,
        }),
      ]);
    },
  );

  test.each(ALL)(
    '%s: the load balancer sends only to nginx, and nginx only to the app servers and HTTPS',
    (mode) => {
      const s = synth(mode);
      const { nginxSg, lbSg } = ids(s);
      const egress = Object.values(
        s.template.findResources('AWS::EC2::SecurityGroupEgress'),
      ).map((r) => r.Properties);
      expect(egress).toEqual([
        expect.objectContaining({
          GroupId: { 'Fn::GetAtt': [lbSg, 'GroupId'] },
          DestinationSecurityGroupId: { 'Fn::GetAtt': [nginxSg, 'GroupId'] },
          FromPort: 80,
          ToPort: 80,
        }),
      ]);
      // No inline egress: CloudFormation drops a group's default allow-all egress once a standalone egress rule
      // names it (aws-cloudformation/cfn-language-discussion#157), so the rule above is all the group may send.
      expect(
        propertiesOf(s.template, lbSg).SecurityGroupEgress,
      ).toBeUndefined();
      const port = s.settings.appPort;
      expect(propertiesOf(s.template, nginxSg).SecurityGroupEgress).toEqual([
        expect.objectContaining({
          CidrIp: '0.0.0.0/0',
          IpProtocol: 'tcp',
          FromPort: 443,
          ToPort: 443,
        }),
        ...appInstances(s).map((instance) =>
          expect.objectContaining({
            CidrIp: {
              'Fn::Join': [
                '',
                [{ 'Fn::GetAtt': [instance, 'PublicIp'] }, '/32'],
              ],
            },
            FromPort: port,
            ToPort: port,
          }),
        ),
      ]);
    },
  );

  test.each(ALL)(
    '%s: the app port admits each NAT Elastic IP /32 and nothing else',
    (mode) => {
      const s = synth(mode);
      const port = s.settings.appPort;
      const rules = ingressRules(s.template).filter(
        ({ group }) => group === ids(s).appSg,
      );
      expect(rules.map(({ rule }) => rule)).toEqual(
        PINNED.natEips.map((eip) => ({
          CidrIp: {
            'Fn::Join': ['', [{ 'Fn::GetAtt': [eip, 'PublicIp'] }, '/32']],
          },
          Description: expect.any(String),
          IpProtocol: 'tcp',
          FromPort: port,
          ToPort: port,
        })),
      );
    },
  );
});

describe('nginx tier', () => {
  test.each(ALL)(
    '%s: an Auto Scaling group on a launch template across both private subnets',
    (mode) => {
      const s = synth(mode);
      s.template.resourceCountIs('AWS::AutoScaling::LaunchConfiguration', 0);
      const group = propertiesOf(s.template, ids(s).nginxGroup);
      expect(group).toMatchObject({
        MinSize: String(s.settings.nginxMinCapacity),
        MaxSize: String(s.settings.nginxMaxCapacity),
        HealthCheckType: 'ELB',
        TargetGroupARNs: [{ Ref: ids(s).targetGroup }],
      });
      const privateSubnets = s.stack.network.vpc.privateSubnets.map(
        (subnet) => ({ Ref: logicalIdOf(s.stack, subnet) }),
      );
      expect(group.VPCZoneIdentifier).toEqual(privateSubnets);
    },
  );

  test.each(ALL)(
    '%s: IMDSv2 only, encrypted gp3 root, no key pair, Session Manager role',
    (mode) => {
      const s = synth(mode);
      const data = nginxLaunchTemplate(s);
      expect(data.MetadataOptions).toEqual({ HttpTokens: 'required' });
      expect(data.BlockDeviceMappings).toEqual([
        {
          DeviceName: '/dev/xvda',
          Ebs: { Encrypted: true, VolumeSize: 10, VolumeType: 'gp3' },
        },
      ]);
      expect(data.KeyName).toBeUndefined();
      const profile = propertiesOf(
        s.template,
        targetOf(data.IamInstanceProfile.Arn),
      );
      const role = propertiesOf(s.template, targetOf(profile.Roles[0]));
      expect(flatten(role.ManagedPolicyArns[0])).toMatch(
        /:iam::aws:policy\/AmazonSSMManagedInstanceCore$/,
      );
    },
  );

  test.each(ALL)(
    '%s: a deploy waits for every node to signal, and updates one node at a time',
    (mode) => {
      const s = synth(mode);
      const resource = s.template.toJSON().Resources[ids(s).nginxGroup];
      expect(resource.CreationPolicy.ResourceSignal).toEqual({
        Count: s.settings.nginxMinCapacity,
        Timeout: 'PT15M',
      });
      expect(resource.UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({
        MaxBatchSize: 1,
        MinInstancesInService: Math.min(
          s.settings.nginxMinCapacity,
          s.settings.nginxMaxCapacity - 1,
        ),
        WaitOnResourceSignals: true,
      });
      // Nodes render the app servers' addresses and start only once the app servers answer at them.
      expect(resource.DependsOn).toEqual(
        expect.arrayContaining(appInstances(s)),
      );
    },
  );

  test.each(ALL)(
    '%s: nodes launch only once the NAT routes exist, so dnf can reach the repositories',
    (mode) => {
      const s = synth(mode);
      const resource = s.template.toJSON().Resources[ids(s).nginxGroup];
      const natRoutes = Object.keys(
        s.template.findResources('AWS::EC2::Route', {
          Properties: { NatGatewayId: Match.anyValue() },
        }),
      );
      expect(natRoutes).toHaveLength(2);
      expect(resource.DependsOn).toEqual(expect.arrayContaining(natRoutes));
    },
  );

  test.each(ALL)(
    '%s: the routing cookie carries the configured name and SameSite, and the post-deploy check reads that name',
    (mode) => {
      const s = synth(mode);
      const settings = MODES[mode] as ContextSettings;
      const name = settings.cookieName ?? 'sticky_edge_route';
      const conf = writtenNginxConf(nginxUserData(s));
      if (s.settings.sticky === 'cookie')
        expect(conf).toContain(
          `"app-a" "${name}=app-a; Path=/; Max-Age=${s.settings.cookieTtlSeconds}; HttpOnly; ${
            settings.cookieSameSite === 'None'
              ? 'SameSite=None; Secure; Partitioned'
              : `SameSite=Lax${TLS.includes(mode) ? '; Secure' : ''}`
          }";`,
        );
      expect(conf).toContain(
        `map $cookie_${name} $sticky_edge_route_carried {`,
      );
      s.template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({ VERIFY_ROUTE_COOKIE: name }),
        },
      });
    },
  );

  test.each(ALL)(
    '%s: user data writes exactly the rendered nginx.conf',
    (mode) => {
      const s = synth(mode);
      let userData = nginxUserData(s);
      appInstances(s).forEach(
        (instance, i) =>
          (userData = userData.replaceAll(
            getAttText(instance, 'PublicIp'),
            APP_ADDRESSES[i],
          )),
      );
      const written = writtenNginxConf(userData);
      const options: EdgeRenderOptions = {
        lb: s.settings.lb,
        sticky: s.settings.sticky,
        listen: '80',
        trust: loadBalancerSubnetCidrs(s),
        backends: APP_ADDRESSES.map((address, i) => ({
          address: `${address}:${s.settings.appPort}`,
          id: ['app-a', 'app-b'][i],
        })),
        statusListen: '127.0.0.1:8081',
        tls: TLS.includes(mode),
        cookieTtlSeconds: s.settings.cookieTtlSeconds,
        cookieName: s.settings.cookieName,
        cookieSameSite: s.settings.cookieSameSite,
      };
      expect(written).toBe(
        renderMainConfig({ http: renderEdgeConfig(options), user: 'nginx' }),
      );
    },
  );

  test.each(ALL)(
    '%s: user data checks the config with nginx -t before starting nginx, then signals',
    (mode) => {
      const s = synth(mode);
      const lines = nginxUserData(s).split('\n');
      const at = (line: string) => lines.indexOf(line);
      expect(lines[0]).toBe('#!/bin/bash');
      expect(at('set -euo pipefail')).toBeGreaterThan(0);
      expect(
        at(dnfInstallWithRetry(['nginx', 'aws-cfn-bootstrap', 'nodejs22'])),
      ).toBeGreaterThan(at('set -euo pipefail'));
      const write = lines.findIndex((line) =>
        line.startsWith("base64 -d <<'STICKY_EDGE_NGINX_CONF' | gunzip"),
      );
      expect(write).toBeGreaterThan(
        at(dnfInstallWithRetry(['nginx', 'aws-cfn-bootstrap', 'nodejs22'])),
      );
      expect(lines[write]).toMatch(/ > \/etc\/nginx\/nginx\.conf$/);
      expect(at('nginx -t')).toBeGreaterThan(at('STICKY_EDGE_NGINX_CONF'));
      expect(at('STICKY_EDGE_NGINX_CONF')).toBeGreaterThan(write);
      expect(at('systemctl enable --now nginx')).toBeGreaterThan(
        at('nginx -t'),
      );
      expect(
        at(
          'curl -fsS --retry 10 --retry-connrefused --retry-delay 1 http://127.0.0.1:8081/healthz',
        ),
      ).toBeGreaterThan(at('systemctl enable --now nginx'));
      expect(lines).toContain(
        `/opt/aws/bin/cfn-signal --stack ${s.stack.stackName} --resource ${ids(s).nginxGroup} --region «{"Ref":"AWS::Region"}» -e $exitCode || echo 'Failed to send Cloudformation Signal'`,
      );
      expect(lines).toContain('trap exitTrap EXIT');
    },
  );
});

describe('load balancer', () => {
  test.each(ALL)(
    "%s: internet-facing in the load balancer subnets (not the app servers' ones), with its own security group from creation",
    (mode) => {
      const s = synth(mode);
      expect(propertiesOf(s.template, ids(s).lb)).toMatchObject({
        Type: MODES[mode].lb === 'nlb' ? 'network' : 'application',
        Scheme: 'internet-facing',
        SecurityGroups: [{ 'Fn::GetAtt': [ids(s).lbSg, 'GroupId'] }],
      });
      const lbSubnets = s.stack.network.vpc
        .selectSubnets(s.stack.network.loadBalancerSubnets)
        .subnets.map((subnet) => ({ Ref: logicalIdOf(s.stack, subnet) }));
      expect(lbSubnets).toHaveLength(2);
      expect(
        lbSubnets.map((subnet) => propertiesOf(s.template, subnet.Ref)),
      ).toEqual(
        [0, 1].map(() =>
          expect.objectContaining({
            CidrBlock: expect.stringMatching(/^10\.40\.[01]\.0\/24$/),
          }),
        ),
      );
      expect(propertiesOf(s.template, ids(s).lb).Subnets).toEqual(lbSubnets);
    },
  );

  test.each(NLB)(
    '%s: PROXY v2 on, client IP preservation off, HTTP health check on the proxy-protocol port',
    (mode) => {
      const s = synth(mode);
      const targetGroup = propertiesOf(s.template, ids(s).targetGroup);
      expect(targetGroup).toMatchObject({
        Protocol: 'TCP',
        Port: 80,
        TargetType: 'instance',
        HealthCheckProtocol: 'HTTP',
        HealthCheckPort: 'traffic-port',
        HealthCheckPath: '/healthz',
      });
      expect(targetGroup.TargetGroupAttributes).toEqual(
        expect.arrayContaining([
          { Key: 'proxy_protocol_v2.enabled', Value: 'true' },
          { Key: 'preserve_client_ip.enabled', Value: 'false' },
          {
            Key: 'deregistration_delay.timeout_seconds',
            Value: String(s.settings.nginxDrainSeconds),
          },
        ]),
      );
    },
  );

  test.each(ALB)(
    '%s: X-Forwarded-For appended, invalid headers dropped, HTTP health check',
    (mode) => {
      const s = synth(mode);
      expect(
        propertiesOf(s.template, ids(s).lb).LoadBalancerAttributes,
      ).toEqual(
        expect.arrayContaining([
          { Key: 'routing.http.xff_header_processing.mode', Value: 'append' },
          {
            Key: 'routing.http.drop_invalid_header_fields.enabled',
            Value: 'true',
          },
        ]),
      );
      const targetGroup = propertiesOf(s.template, ids(s).targetGroup);
      expect(targetGroup).toMatchObject({
        Protocol: 'HTTP',
        Port: 80,
        HealthCheckPath: '/healthz',
      });
      // The ALB pins nothing itself: stickiness to an app server is nginx's job, whichever node answers.
      expect(targetGroup.TargetGroupAttributes).toEqual([
        {
          Key: 'deregistration_delay.timeout_seconds',
          Value: String(s.settings.nginxDrainSeconds),
        },
        { Key: 'stickiness.enabled', Value: 'false' },
      ]);
    },
  );

  test.each(PLAIN)('%s: one plain listener on port 80', (mode) => {
    const s = synth(mode);
    const listeners = listenerProperties(s);
    expect(listeners).toEqual([
      expect.objectContaining({
        Port: 80,
        Protocol: MODES[mode].lb === 'nlb' ? 'TCP' : 'HTTP',
        DefaultActions: [
          { Type: 'forward', TargetGroupArn: { Ref: ids(s).targetGroup } },
        ],
      }),
    ]);
  });

  test.each(NLB.filter((mode) => TLS.includes(mode)))(
    '%s: TLS on 443 only, port 80 closed, PROXY v2 still on',
    (mode) => {
      const s = synth(mode);
      const listeners = listenerProperties(s);
      expect(listeners).toEqual([
        expect.objectContaining({
          Port: 443,
          Protocol: 'TLS',
          Certificates: [{ CertificateArn: CERT }],
          DefaultActions: [
            { Type: 'forward', TargetGroupArn: { Ref: ids(s).targetGroup } },
          ],
        }),
      ]);
      expect(
        propertiesOf(s.template, ids(s).targetGroup).TargetGroupAttributes,
      ).toContainEqual({ Key: 'proxy_protocol_v2.enabled', Value: 'true' });
    },
  );

  test.each(ALB.filter((mode) => TLS.includes(mode)))(
    '%s: HTTPS on 443, port 80 redirects to it',
    (mode) => {
      const s = synth(mode);
      const listeners = listenerProperties(s);
      expect(listeners).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Port: 443,
            Protocol: 'HTTPS',
            Certificates: [{ CertificateArn: CERT }],
          }),
          expect.objectContaining({
            Port: 80,
            Protocol: 'HTTP',
            DefaultActions: [
              {
                Type: 'redirect',
                RedirectConfig: expect.objectContaining({
                  Port: '443',
                  Protocol: 'HTTPS',
                  StatusCode: 'HTTP_301',
                }),
              },
            ],
          }),
        ]),
      );
      expect(listeners).toHaveLength(2);
    },
  );
});

describe('external app tier', () => {
  test.each(ALL)(
    "%s: two app servers in the VPC's app subnets, one per AZ, each with a public address and no Elastic IP",
    (mode) => {
      const s = synth(mode);
      const instances = s.template.findResources('AWS::EC2::Instance');
      expect(Object.keys(instances)).toEqual(appInstances(s));
      const appSubnets = s.stack.network.vpc
        .selectSubnets(s.stack.network.appSubnets)
        .subnets.map((subnet) => logicalIdOf(s.stack, subnet));
      expect(appSubnets).toHaveLength(2);
      const lbSubnets = s.stack.network.vpc
        .selectSubnets(s.stack.network.loadBalancerSubnets)
        .subnets.map((subnet) => logicalIdOf(s.stack, subnet));
      expect(appSubnets).not.toEqual(expect.arrayContaining([lbSubnets[0]]));
      expect(
        Object.values(instances).map((instance) => {
          const [nic] = instance.Properties.NetworkInterfaces;
          expect(instance.Properties.SubnetId).toBeUndefined();
          expect(nic).toMatchObject({
            DeviceIndex: '0',
            AssociatePublicIpAddress: true,
            GroupSet: [{ 'Fn::GetAtt': [ids(s).appSg, 'GroupId'] }],
          });
          return targetOf(nic.SubnetId);
        }),
      ).toEqual(appSubnets);
      for (const subnet of appSubnets)
        expect(propertiesOf(s.template, subnet)).toMatchObject({
          VpcId: { Ref: PINNED.vpcs[0] },
          MapPublicIpOnLaunch: false,
        });
      s.template.resourceCountIs('AWS::EC2::EIPAssociation', 0);
      s.template.resourceCountIs('AWS::EC2::NatGateway', 1);
    },
  );

  test.each(ALL)(
    '%s: app instances require IMDSv2, encrypt a gp3 root, have no key pair and use Session Manager',
    (mode) => {
      const s = synth(mode);
      for (const instance of Object.values(
        s.template.findResources('AWS::EC2::Instance'),
      )) {
        const props = instance.Properties;
        expect(props.KeyName).toBeUndefined();
        expect(props.BlockDeviceMappings).toEqual([
          {
            DeviceName: '/dev/xvda',
            Ebs: { Encrypted: true, VolumeSize: 10, VolumeType: 'gp3' },
          },
        ]);
        const template = propertiesOf(
          s.template,
          targetOf(props.LaunchTemplate.Version),
        );
        expect(template.LaunchTemplateData.MetadataOptions).toEqual({
          HttpTokens: 'required',
        });
        const role = propertiesOf(
          s.template,
          targetOf(
            propertiesOf(s.template, targetOf(props.IamInstanceProfile))
              .Roles[0],
          ),
        );
        expect(flatten(role.ManagedPolicyArns[0])).toMatch(
          /:iam::aws:policy\/AmazonSSMManagedInstanceCore$/,
        );
        expect(instance.CreationPolicy.ResourceSignal).toEqual({
          Count: 1,
          Timeout: 'PT15M',
        });
      }
    },
  );

  test.each(ALL)(
    '%s: each backend trusts only the NAT Elastic IPs as proxies and signals once it answers',
    (mode) => {
      const s = synth(mode);
      const natAddresses = PINNED.natEips
        .map((eip) => getAttText(eip, 'PublicIp'))
        .join(',');
      for (const [id, instance] of Object.entries(
        s.template.findResources('AWS::EC2::Instance'),
      )) {
        const lines = flatten(instance.Properties.UserData).split('\n');
        expect(lines).toContain(
          `Environment=BACKEND_TRUSTED_PROXIES=${natAddresses}`,
        );
        expect(lines).toContain(
          `Environment=BACKEND_LISTEN=0.0.0.0:${s.settings.appPort}`,
        );
        expect(lines).toContainEqual(
          expect.stringContaining(
            `/opt/aws/bin/cfn-signal --stack ${s.stack.stackName} --resource ${id} `,
          ),
        );
        expect(
          lines.indexOf(dnfInstallWithRetry(['aws-cfn-bootstrap'])),
        ).toBeGreaterThan(lines.indexOf('set -euo pipefail'));
      }
    },
  );
});

describe('health agent', () => {
  test.each(ALL)(
    '%s: user data installs the health agent as a service once nginx runs, and the signal waits for it',
    (mode) => {
      const s = synth(mode);
      const userData = nginxUserData(s);
      const lines = userData.split('\n');
      const at = (line: string) => lines.indexOf(line);
      const script =
        /^base64 -d <<'STICKY_EDGE_HEALTH_JS' \| gunzip > \/opt\/sticky-edge\/health-agent\.js\n([\s\S]*?)\nSTICKY_EDGE_HEALTH_JS$/m.exec(
          userData,
        );
      // The bundle the local topology runs, byte for byte once decoded.
      expect(
        gunzipSync(Buffer.from(script?.[1] ?? '', 'base64')).toString(),
      ).toBe(bundleAgent());
      // The lifecycle flags that may follow are tested in test/cdk/observability.test.ts.
      expect(lines).toContainEqual(
        expect.stringMatching(
          /^ExecStart=\/usr\/bin\/node-22 \/opt\/sticky-edge\/health-agent\.js --conf \/etc\/nginx\/nginx\.conf --nginx \/usr\/sbin\/nginx( --lifecycle-hook .*)?$/,
        ),
      );
      expect(lines).toContain('After=nginx.service');
      expect(lines).toContain('Restart=always');
      expect(
        at('systemctl enable --now sticky-edge-health.service'),
      ).toBeGreaterThan(at('systemctl enable --now nginx'));
      expect(
        at('systemctl is-active --quiet sticky-edge-health.service'),
      ).toBeGreaterThan(
        at('systemctl enable --now sticky-edge-health.service'),
      );
    },
  );
});

describe('user data size', () => {
  // EC2 refuses user data over 16 KB before base64; each «intrinsic» counts longer than the address it becomes.
  test.each(ALL)("%s: every instance's user data stays under 16 KB", (mode) => {
    const s = synth(mode);
    const instances = Object.values(
      s.template.findResources('AWS::EC2::Instance'),
    ).map((instance) => instance.Properties.UserData);
    for (const userData of [nginxLaunchTemplate(s).UserData, ...instances]) {
      expect(Buffer.byteLength(flatten(userData))).toBeLessThan(16 * 1024);
    }
  });
});

describe('machine image', () => {
  test.each(ALL.filter((mode) => !('amiId' in MODES[mode])))(
    '%s: the latest Amazon Linux 2023 for x86_64, resolved at deploy time',
    (mode) => {
      const { template } = synth(mode);
      const parameters = Object.values(template.toJSON().Parameters).map(
        (p: any) => p.Default,
      );
      expect(parameters).toContain(
        '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64',
      );
    },
  );

  test('a pinned AMI is used as is, with no parameter lookup, whatever the architecture', () => {
    const s = synth('alb hash tls, staging on Graviton with a pinned AMI');
    expect(nginxLaunchTemplate(s).ImageId).toBe(PINNED_AMI);
    for (const instance of Object.values(
      s.template.findResources('AWS::EC2::Instance'),
    )) {
      expect(instance.Properties.ImageId).toBe(PINNED_AMI);
    }
    expect(
      Object.values(s.template.toJSON().Parameters).map((p: any) => p.Default),
    ).not.toContainEqual(expect.stringContaining('ami-amazon-linux'));
  });
});

describe('stage', () => {
  test.each(ALL)(
    '%s: the stack name and every taggable resource carry the stage',
    (mode) => {
      const s = synth(mode);
      expect(s.stack.stackName).toBe(`${s.settings.stage}-StickyEdge`);
      for (const type of [
        'AWS::EC2::VPC',
        'AWS::EC2::EIP',
        'AWS::ElasticLoadBalancingV2::LoadBalancer',
        'AWS::EC2::Instance',
      ]) {
        for (const resource of Object.values(s.template.findResources(type))) {
          expect(resource.Properties.Tags).toEqual(
            expect.arrayContaining([
              { Key: 'stage', Value: s.settings.stage },
              { Key: 'project', Value: 'sticky-edge' },
            ]),
          );
        }
      }
    },
  );
});

describe('outputs', () => {
  test.each(ALL)(
    '%s: the URL, a curl line with a cookie jar, the NAT Elastic IP and the app public addresses',
    (mode) => {
      const s = synth(mode);
      const outputs = s.template.toJSON().Outputs;
      const url = `${TLS.includes(mode) ? 'https' : 'http'}://${getAttText(ids(s).lb, 'DNSName')}`;
      expect(flatten(outputs.LoadBalancerUrl.Value)).toBe(url);
      expect(flatten(outputs.CurlCommand.Value)).toBe(
        `curl -s -c sticky-edge.jar -b sticky-edge.jar ${url}/`,
      );
      // Over TLS the load balancer's own name is not on the certificate: the outputs say which name to use.
      const tlsHint = /certificate's domain \(a CNAME to the load balancer\)/;
      for (const output of [outputs.LoadBalancerUrl, outputs.CurlCommand]) {
        if (TLS.includes(mode)) expect(output.Description).toMatch(tlsHint);
        else expect(output.Description).not.toMatch(tlsHint);
      }
      expect(flatten(outputs.NatElasticIps.Value)).toBe(
        PINNED.natEips.map((eip) => getAttText(eip, 'PublicIp')).join(','),
      );
      expect(outputs.AppPublicIps.Value).toEqual({
        'Fn::Join': [
          ',',
          appInstances(s).map((instance) => ({
            'Fn::GetAtt': [instance, 'PublicIp'],
          })),
        ],
      });
      expect(outputs.AppElasticIps).toBeUndefined();
    },
  );
});

describe('cdk-nag', () => {
  // Synthesis throws on an unacknowledged AwsSolutions error; the report also lists warnings.
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
});

describe('settings that shape the network', () => {
  test('natGateways=2: one NAT gateway per AZ, each on its own Elastic IP, each private subnet routed to its own', () => {
    const s = synthesize({ natGateways: '2' });
    expect(
      Object.keys(s.template.findResources('AWS::EC2::EIP')).sort(),
    ).toEqual([...PINNED.natEips, PINNED.secondNatEip]);
    const gateways = s.template.findResources('AWS::EC2::NatGateway');
    expect(
      Object.values(gateways)
        .map((g) => targetOf(g.Properties.AllocationId))
        .sort(),
    ).toEqual([...PINNED.natEips, PINNED.secondNatEip]);
    const routes = Object.values(
      s.template.findResources('AWS::EC2::Route', {
        Properties: { NatGatewayId: Match.anyValue() },
      }),
    );
    expect(
      new Set(routes.map((route) => targetOf(route.Properties.NatGatewayId))),
    ).toEqual(new Set(Object.keys(gateways)));
    expect(
      ingressRules(s.template)
        .filter(({ group }) => group === ids(s).appSg)
        .map(({ rule }) => flatten(rule.CidrIp)),
    ).toEqual(
      [...PINNED.natEips, PINNED.secondNatEip].map(
        (eip) => `${getAttText(eip, 'PublicIp')}/32`,
      ),
    );
  });

  test('availabilityZones: every subnet sits in one of the two zones given, written as they are', () => {
    const s = synthesize({ availabilityZones: 'us-east-1b,us-east-1c' });
    const zones = Object.values(
      s.template.findResources('AWS::EC2::Subnet'),
    ).map((subnet) => subnet.Properties.AvailabilityZone);
    expect(zones).toHaveLength(6);
    expect(new Set(zones)).toEqual(new Set(['us-east-1b', 'us-east-1c']));
    expect(JSON.stringify(s.template.toJSON())).not.toContain('Fn::GetAZs');
  });

  test('fails when availabilityZones lie outside the region the stack names', () => {
    const app = new App({ context: cdkJsonContext() });
    const settings = parseSettings((key) =>
      key === 'availabilityZones' ? 'us-east-1a,us-east-1b' : undefined,
    );
    expect(
      () =>
        new StickyEdgeStack(app, 'Zones', {
          settings,
          env: { region: 'eu-west-1' },
        }),
    ).toThrow(
      /^availabilityZones must be zones of the stack's region eu-west-1, got "us-east-1a,us-east-1b"$/,
    );
    expect(
      () =>
        new StickyEdgeStack(new App({ context: cdkJsonContext() }), 'Zones', {
          settings,
          env: { region: 'us-east-1' },
        }),
    ).not.toThrow();
  });
});
