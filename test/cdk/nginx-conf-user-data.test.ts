/**
 * nginx.conf travels gzipped and base64-encoded in the nginx nodes' user data, its CDK tokens swapped for
 * placeholders that sed turns back into the deployed values on the node. Here the user data's own lines run
 * under the real bash, base64, gunzip and sed, with the values CloudFormation would put in, and must write
 * exactly what the renderer writes for those values; a token that is not an address is refused at synth.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Template } from 'aws-cdk-lib/assertions';
import { NginxTier } from '../../lib/constructs/nginx-tier';
import {
  amazonLinuxNginxConf,
  nginxRenderOptions,
} from '../../lib/nginx/nginx-options';
import type { EdgeRenderOptions } from '../../lib/nginx/render-options';
import { DEFAULT_SETTINGS, MAX_APP_SERVERS } from '../../lib/settings';
import { cdkJsonContext, flatten, writtenNginxConf } from './synth';

jest.setTimeout(60_000);

/** A bare stack with a VPC: enough for an nginx tier, without the whole app's synth. */
function bareStack() {
  const stack = new Stack(new App({ context: cdkJsonContext() }), 'Tier');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  return { stack, vpc };
}

function tier(
  stack: Stack,
  vpc: ec2.Vpc,
  renderOptions: EdgeRenderOptions,
): NginxTier {
  return new NginxTier(stack, 'Nginx', {
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    instanceType: new ec2.InstanceType('t3.micro'),
    machineImage: ec2.MachineImage.latestAmazonLinux2023(),
    minCapacity: 2,
    maxCapacity: 4,
    renderOptions,
    upstreams: [],
  });
}

const cookie = { ...DEFAULT_SETTINGS, sticky: 'cookie' as const };

test('the user data, run by bash with base64, gunzip and sed, writes exactly the rendered nginx.conf for the deployed values', () => {
  const { stack, vpc } = bareStack();
  // The most app servers, each address an Elastic IP's PublicIp; a trusted block from Fn::Select over Fn::Cidr
  // over the VPC's CidrBlock; the NAT's address to reveal the backend to: every token shape the check admits.
  const eips = Array.from(
    { length: MAX_APP_SERVERS },
    (_, i) => new ec2.CfnEIP(stack, `App${i}`),
  );
  const nat = new ec2.CfnEIP(stack, 'Nat');
  const block = Fn.select(1, Fn.cidr(vpc.vpcCidrBlock, 4, '8'));
  const options = (
    address: (i: number) => string,
    trusted: string,
    natAddress: string,
  ) =>
    nginxRenderOptions(cookie, {
      trust: ['10.0.0.0/24', trusted],
      backends: eips.map((_, i) => ({
        address: `${address(i)}:3000`,
        id: `app-${i}`,
      })),
      revealBackendTo: [natAddress],
    });
  const nginx = tier(
    stack,
    vpc,
    options((i) => eips[i].attrPublicIp, block, nat.attrPublicIp),
  );

  // What CloudFormation puts where each token stands.
  const deployed = new Map<string, string>([
    ...eips.map((eip, i): [string, string] => [
      flatten(stack.resolve(eip.attrPublicIp)),
      `203.0.113.${200 + i}`,
    ]),
    [flatten(stack.resolve(block)), '10.0.1.0/24'],
    [flatten(stack.resolve(nat.attrPublicIp)), '198.51.100.7'],
  ]);
  const template = Template.fromStack(stack).toJSON();
  const launchTemplate = Object.values<any>(template.Resources).find(
    (r) => r.Type === 'AWS::EC2::LaunchTemplate',
  );
  let userData = flatten(launchTemplate.Properties.LaunchTemplateData.UserData);
  for (const [token, value] of deployed)
    userData = userData.replaceAll(token, value);
  // Compressed: none of nginx.conf's text is in the clear.
  expect(userData).not.toContain('upstream ');

  const lines = userData.split('\n');
  const start = lines.findIndex((l) => l.startsWith('base64 -d'));
  const end = lines.indexOf('STICKY_EDGE_NGINX_CONF', start + 1);
  expect(lines[start]).toMatch(/ \| sed( -e '[^']*'){10} > /);
  const dir = mkdtempSync(path.join(tmpdir(), 'sticky-edge-conf-'));
  try {
    const target = path.join(dir, 'nginx.conf');
    const script = lines
      .slice(start, end + 1)
      .join('\n')
      .replace(' > /etc/nginx/nginx.conf', ` > ${target}`);
    expect(script).not.toContain('«');
    execFileSync('bash', ['-euo', 'pipefail', '-c', script]);
    const expected = amazonLinuxNginxConf(
      options((i) => `203.0.113.${200 + i}`, '10.0.1.0/24', '198.51.100.7'),
    );
    expect(readFileSync(target, 'utf8')).toBe(expected);
    // The tests' decoder reads it as the node does.
    expect(writtenNginxConf(userData)).toBe(expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect(nginx.renderOptions.backends).toHaveLength(MAX_APP_SERVERS);
});

test('fails when nginx.conf would carry a token that is not an address or CIDR block (its text is not known to be safe in sed)', () => {
  const { stack, vpc } = bareStack();
  const host = new CfnParameter(stack, 'Host').valueAsString;
  expect(() =>
    tier(
      stack,
      vpc,
      nginxRenderOptions(cookie, {
        trust: ['10.0.0.0/24'],
        backends: [{ address: `${host}:3000`, id: 'app-a' }],
      }),
    ),
  ).toThrow(
    /^nginx\.conf holds a token that is not an address or CIDR block, which sed cannot be trusted with: \{"Ref":"Host"\}$/,
  );
});

test('fails when nginx.conf would carry an element of a list token, which cannot stand in a string', () => {
  const { stack, vpc } = bareStack();
  const element = Fn.getAzs()[0];
  expect(element).toMatch(/^#\{Token\[/);
  expect(() =>
    tier(
      stack,
      vpc,
      nginxRenderOptions(cookie, {
        trust: [element],
        backends: [{ address: '203.0.113.10:3000', id: 'app-a' }],
      }),
    ),
  ).toThrow(/^nginx\.conf holds a CDK token the placeholders miss$/);
});
