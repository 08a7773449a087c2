/**
 * Any number of demo app servers (`appCount`) and the team's own servers (`backends`): the instances, the
 * security groups, nginx's upstreams and route ids, the post-deploy check's settings and the outputs follow them.
 */
import type { DeployCheck } from '../../lib/constructs/deploy-check';
import { VERIFY_ENV } from '../../lib/verify/lambda-environment';
import {
  DEFAULT_QUOTAS,
  mostRulesInOneGroup,
  quotaFootprint,
} from '../../lib/preflight/footprint';
import {
  ContextSettings,
  flatten,
  logicalIdOf,
  propertiesOf,
  Synthesized,
  synthesize,
  targetOf,
  writtenNginxConf,
} from './synth';

// Synthesis (with cdk-nag and the Lambda bundle) takes seconds on a shared machine; each mode runs once.
jest.setTimeout(180_000);

const OWN = 'web-1=203.0.113.10:8080,198.51.100.20:80';

const MODES = {
  '1 app server': { appCount: '1' },
  'default (2)': {},
  '3 app servers, cookie': { appCount: '3', sticky: 'cookie' },
  '8 app servers': { appCount: '8' },
  'own backends, cookie': { backends: OWN, sticky: 'cookie' },
} satisfies Record<string, ContextSettings>;
type Mode = keyof typeof MODES;

const synthesized = new Map<Mode, Synthesized>();
function synth(mode: Mode): Synthesized {
  if (!synthesized.has(mode)) synthesized.set(mode, synthesize(MODES[mode]));
  return synthesized.get(mode)!;
}

function resourcesOf(s: Synthesized, type: string) {
  return Object.entries(s.template.findResources(type));
}

/** The nginx.conf the nginx nodes' user data writes (tokens as `flatten` writes them). */
function nginxConf(s: Synthesized): string {
  const group = propertiesOf(
    s.template,
    logicalIdOf(s.stack, s.stack.autoScalingGroup),
  );
  return writtenNginxConf(
    flatten(
      propertiesOf(s.template, targetOf(group.LaunchTemplate.LaunchTemplateId))
        .LaunchTemplateData.UserData,
    ),
  );
}

function nginxEgress(s: Synthesized): any[] {
  return propertiesOf(
    s.template,
    logicalIdOf(s.stack, s.stack.nginx.securityGroup),
  ).SecurityGroupEgress;
}

function checkEnvironment(s: Synthesized): Record<string, unknown> {
  const check = s.stack.node.findChild('DeployCheck') as DeployCheck;
  return propertiesOf(s.template, logicalIdOf(s.stack, check.function))
    .Environment.Variables;
}

function output(s: Synthesized, name: string): string | undefined {
  const found = s.template.findOutputs(name);
  return found[name] === undefined ? undefined : flatten(found[name].Value);
}

describe('appCount', () => {
  test.each([
    ['1 app server', 1],
    ['default (2)', 2],
    ['3 app servers, cookie', 3],
    ['8 app servers', 8],
  ] as const)(
    '%s: that many instances, alternating between the two app subnets',
    (mode, count) => {
      const s = synth(mode);
      const instances = resourcesOf(s, 'AWS::EC2::Instance');
      expect(instances).toHaveLength(count);
      expect(s.stack.appServers.map((a) => a.name)).toEqual(
        Array.from({ length: count }, (_, i) => `app-${'abcdefgh'[i]}`),
      );
      // With a public address, the subnet is the network interface's (ec2.Instance with associatePublicIpAddress).
      const subnets = s.stack.appServers.map((a) =>
        JSON.stringify(
          propertiesOf(s.template, logicalIdOf(s.stack, a.instance))
            .NetworkInterfaces[0].SubnetId,
        ),
      );
      expect(subnets.every((subnet) => subnet.includes('AppSubnet'))).toBe(
        true,
      );
      expect(new Set(subnets).size).toBe(Math.min(count, 2));
      subnets.forEach((subnet, i) => expect(subnet).toBe(subnets[i % 2]));
    },
  );

  test('adding servers keeps the logical IDs of the existing ones (nothing is replaced or renamed)', () => {
    const ids = (s: Synthesized) =>
      s.stack.appServers.map((a) => logicalIdOf(s.stack, a.instance));
    const two = ids(synth('default (2)'));
    expect(ids(synth('3 app servers, cookie')).slice(0, 2)).toEqual(two);
    expect(ids(synth('8 app servers')).slice(0, 3)).toEqual(
      ids(synth('3 app servers, cookie')),
    );
    expect(ids(synth('1 app server'))).toEqual(two.slice(0, 1));
  });

  test.each([
    '1 app server',
    '3 app servers, cookie',
    '8 app servers',
  ] as const)(
    '%s: nginx may reach each server on the app port and nothing else but HTTPS',
    (mode) => {
      const s = synth(mode);
      expect(nginxEgress(s)).toEqual([
        expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443 }),
        ...s.stack.appServers.map((a) =>
          expect.objectContaining({
            CidrIp: {
              'Fn::Join': [
                '',
                [
                  {
                    'Fn::GetAtt': [
                      logicalIdOf(s.stack, a.instance),
                      'PublicIp',
                    ],
                  },
                  '/32',
                ],
              ],
            },
            FromPort: 3000,
            ToPort: 3000,
          }),
        ),
      ]);
    },
  );

  test('3 servers, cookie: nginx routes app-a, app-b and app-c by their own upstreams', () => {
    const s = synth('3 app servers, cookie');
    const conf = nginxConf(s);
    for (const id of ['app-a', 'app-b', 'app-c'])
      expect(conf).toContain(`"${id}" sticky_edge_route_${id};`);
    expect(conf.match(/^ *upstream /gm)).toHaveLength(4);
    expect(conf).not.toContain('X-Sticky-Edge-Backend');
  });

  test.each(['1 app server', '8 app servers'] as const)(
    '%s: the post-deploy check calls every server directly; the outputs name them all',
    (mode) => {
      const s = synth(mode);
      const env = checkEnvironment(s);
      const urls = flatten(env[VERIFY_ENV.backendUrls]).match(/http:\/\//g);
      expect(urls).toHaveLength(s.stack.appServers.length);
      expect(env[VERIFY_ENV.app]).toBeUndefined();
      // Flattened intrinsics carry commas of their own: count names and addresses, not commas.
      const backends = output(s, 'Backends')!;
      expect(
        [...backends.matchAll(/(?:^|,)(app-[a-h])=/g)].map((m) => m[1]),
      ).toEqual(s.stack.appServers.map((a) => a.name));
      expect(output(s, 'AppPublicIps')!.match(/"PublicIp"/g)).toHaveLength(
        s.stack.appServers.length,
      );
    },
  );
});

describe('own backends', () => {
  test('creates no app server, and nginx may reach exactly each backend address and port', () => {
    const s = synth('own backends, cookie');
    expect(resourcesOf(s, 'AWS::EC2::Instance')).toHaveLength(0);
    expect(s.stack.apps).toBeUndefined();
    // The nginx group, the load balancer's and the check's: no app servers' group.
    expect(resourcesOf(s, 'AWS::EC2::SecurityGroup')).toHaveLength(3);
    expect(nginxEgress(s)).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443 }),
      {
        CidrIp: '203.0.113.10/32',
        Description: 'own app server web-1',
        IpProtocol: 'tcp',
        FromPort: 8080,
        ToPort: 8080,
      },
      {
        CidrIp: '198.51.100.20/32',
        Description: 'own app server backend-2',
        IpProtocol: 'tcp',
        FromPort: 80,
        ToPort: 80,
      },
    ]);
  });

  test('nginx proxies to them by name and names the answering one to the NAT addresses only', () => {
    const s = synth('own backends, cookie');
    const conf = nginxConf(s);
    expect(conf).toContain('server 203.0.113.10:8080 max_fails');
    expect(conf).toContain('server 198.51.100.20:80 max_fails');
    expect(conf).toContain('"web-1" sticky_edge_route_web-1;');
    expect(conf).toContain('"backend-2" sticky_edge_route_backend-2;');
    const geo =
      /geo \$sticky_edge_reveal \{\n\s*default 0;\n\s*(.+) 1;\n\s*\}/.exec(
        conf,
      );
    expect(geo?.[1]).toMatch(
      /^«\{"Fn::GetAtt":\["EdgeNetworkNatEip\w+","PublicIp"\]\}»$/,
    );
    expect(conf).toContain(
      'add_header X-Sticky-Edge-Backend $sticky_edge_backend_header always;',
    );
  });

  test('the post-deploy check reads the own app by name and may call each backend directly', () => {
    const s = synth('own backends, cookie');
    const env = checkEnvironment(s);
    expect(env[VERIFY_ENV.app]).toBe('own');
    expect(env[VERIFY_ENV.backendNames]).toBe('web-1,backend-2');
    expect(env[VERIFY_ENV.backendUrls]).toBe(
      'http://203.0.113.10:8080,http://198.51.100.20:80',
    );
    const check = s.stack.node.findChild('DeployCheck') as DeployCheck;
    expect(
      propertiesOf(s.template, logicalIdOf(s.stack, check.securityGroup))
        .SecurityGroupEgress,
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ CidrIp: '203.0.113.10/32', FromPort: 8080 }),
        expect.objectContaining({ CidrIp: '198.51.100.20/32', FromPort: 80 }),
      ]),
    );
  });

  test('the outputs name the backends; there is no AppPublicIps', () => {
    const s = synth('own backends, cookie');
    expect(output(s, 'Backends')).toBe(
      'web-1=203.0.113.10:8080,backend-2=198.51.100.20:80',
    );
    expect(output(s, 'AppPublicIps')).toBeUndefined();
  });
});

describe('quotas', () => {
  test.each(['8 app servers', 'own backends, cookie'] as const)(
    '%s: still one Elastic IP (app servers get auto-assigned public addresses) and rules far below the quota',
    (mode) => {
      const footprint = quotaFootprint(synth(mode).template.toJSON());
      expect(footprint.elasticIps).toBe(1);
      // 8 servers: 9 egress rules on the nginx group, 9 on the check's.
      expect(mostRulesInOneGroup(footprint)).toBeLessThanOrEqual(
        DEFAULT_QUOTAS.rulesPerSecurityGroup / 4,
      );
    },
  );
});
