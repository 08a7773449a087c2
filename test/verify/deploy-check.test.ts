/**
 * The post-deploy check as the stack deploys it: a trigger that runs only after the nginx tier, the app
 * servers and the listener, a function on an explicit current runtime in the edge VPC's private subnets,
 * an IAM policy with the one describe call, and a security group that only lets the function out.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { App, CfnElement, Duration, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct, IConstruct } from 'constructs';
import {
  DeployCheck,
  DeployCheckProps,
} from '../../lib/constructs/deploy-check';
import type { AppServer } from '../../lib/constructs/external-apps';
import { VERIFY_LAMBDA_TARGET } from '../../lib/verify/bundle';
import { Synthesized, synthesize } from '../cdk/synth';

const CERT =
  'arn:aws:acm:eu-west-1:123456789012:certificate/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b';

let plain: Synthesized;
let tls: Synthesized;

beforeAll(() => {
  plain = synthesize({ lb: 'nlb', sticky: 'cookie' });
  tls = synthesize({ lb: 'alb', sticky: 'hash', certificateArn: CERT });
});

/** The ID the template uses (the app instances' carry a user-data hash, applied as an override). */
const logicalId = (s: Synthesized, element: IConstruct): string =>
  s.stack.resolve((element as CfnElement).logicalId);

/** The one resource of `type` under the DeployCheck construct. */
function deployCheckResource(
  s: Synthesized,
  type: string,
): [string, Record<string, any>] {
  const found = Object.entries(s.template.findResources(type)).filter(([id]) =>
    id.startsWith('DeployCheck'),
  );
  expect(found).toHaveLength(1);
  return found[0];
}

function triggerOf(s: Synthesized): Record<string, any> {
  const triggers = Object.values(s.template.findResources('Custom::Trigger'));
  expect(triggers).toHaveLength(1);
  return triggers[0];
}

/** Logical IDs of every CloudFormation resource under `scope`. */
function resourcesUnder(s: Synthesized, scope: Construct): string[] {
  return scope.node
    .findAll()
    .flatMap((c) =>
      c instanceof CfnElement &&
      Stack.of(c) === s.stack &&
      c.node.defaultChild === undefined
        ? [logicalId(s, c)]
        : [],
    );
}

test('one trigger runs the check function, after the nginx group, both app servers and the listener', () => {
  const [functionId] = deployCheckResource(plain, 'AWS::Lambda::Function');
  const trigger = triggerOf(plain);
  const version =
    plain.template.toJSON().Resources[trigger.Properties.HandlerArn.Ref];
  expect(version.Properties.FunctionName).toEqual({ Ref: functionId });
  const dependsOn: string[] = trigger.DependsOn;
  const group = plain.stack.autoScalingGroup.node
    .defaultChild as autoscaling.CfnAutoScalingGroup;
  expect(group.cfnOptions.creationPolicy?.resourceSignal).toBeDefined();
  expect(dependsOn).toContain(logicalId(plain, group));
  for (const server of plain.stack.appServers) {
    expect(dependsOn).toContain(
      logicalId(plain, server.instance.node.defaultChild as CfnElement),
    );
  }
  const listeners = Object.keys(
    plain.template.findResources('AWS::ElasticLoadBalancingV2::Listener'),
  );
  expect(listeners.length).toBeGreaterThan(0);
  for (const listener of listeners) expect(dependsOn).toContain(listener);
  expect(dependsOn).toEqual(
    expect.arrayContaining(resourcesUnder(plain, plain.stack.edge)),
  );
});

test('the function runs on an explicit Node.js 24 runtime in the edge VPC private subnets, with its own group', () => {
  const [, fn] = deployCheckResource(plain, 'AWS::Lambda::Function');
  const [groupId] = deployCheckResource(plain, 'AWS::EC2::SecurityGroup');
  expect(fn.Properties.Runtime).toBe('nodejs24.x');
  expect(fn.Properties.Handler).toBe('index.handler');
  const privateSubnets = plain.stack.network.vpc.privateSubnets.map((subnet) =>
    logicalId(plain, subnet.node.defaultChild as CfnElement),
  );
  expect(privateSubnets).toHaveLength(2);
  expect(fn.Properties.VpcConfig).toEqual({
    SubnetIds: privateSubnets.map((id) => ({ Ref: id })),
    SecurityGroupIds: [{ 'Fn::GetAtt': [groupId, 'GroupId'] }],
  });
  expect(fn.Properties.Environment.Variables).toMatchObject({
    VERIFY_STICKY: 'cookie',
    VERIFY_STACK_ID: { Ref: 'AWS::StackId' },
    VERIFY_VPC_ID: {
      Ref: logicalId(
        plain,
        plain.stack.network.vpc.node.defaultChild as CfnElement,
      ),
    },
  });
});

test('the wait covers target registration, the target group health checks and a DNS TTL, within the Lambda limits', () => {
  const [, fn] = deployCheckResource(plain, 'AWS::Lambda::Function');
  const [, group] = Object.entries(
    plain.template.findResources('AWS::ElasticLoadBalancingV2::TargetGroup'),
  )[0];
  const { HealthCheckIntervalSeconds, HealthyThresholdCount } =
    group.Properties;
  // 5 min for "a few minutes" of registration (NLB guide) + 2 checks × 10 s + a 60 s DNS TTL.
  expect([HealthyThresholdCount, HealthCheckIntervalSeconds]).toEqual([2, 10]);
  const wait = Number(
    fn.Properties.Environment.Variables.VERIFY_READY_WITHIN_SECONDS,
  );
  expect(wait).toBe(
    300 + HealthyThresholdCount * HealthCheckIntervalSeconds + 60,
  );
  expect(wait).toBe(380);
  // Then 2 min of verification and 30 s for the AWS calls; well inside Lambda's 15 minutes.
  expect(fn.Properties.Timeout).toBe(530);
  // The trigger waits 30 s longer than the function may run, so a timeout reads as the function's own.
  expect(triggerOf(plain).Properties.Timeout).toBe('560000');
  // The ALB's target group has the same health check, so the same wait.
  const [, albFn] = deployCheckResource(tls, 'AWS::Lambda::Function');
  expect(
    albFn.Properties.Environment.Variables.VERIFY_READY_WITHIN_SECONDS,
  ).toBe('380');
});

test('its log group outlives a rollback or `cdk destroy`, so a failed check stays readable', () => {
  const [logsId, logGroup] = deployCheckResource(plain, 'AWS::Logs::LogGroup');
  expect(logGroup.DeletionPolicy).toBe('Retain');
  expect(logGroup.UpdateReplacePolicy).toBe('Retain');
  expect(logGroup.Properties.RetentionInDays).toBe(30);
  // Found by stack name once the stack is gone; the stack ID's last part keeps a redeploy from colliding with it.
  expect(logGroup.Properties.LogGroupName).toEqual({
    'Fn::Join': [
      '',
      [
        '/sticky-edge/deploy-check/sandbox-StickyEdge/',
        {
          'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }],
        },
      ],
    ],
  });
  const [, fn] = deployCheckResource(plain, 'AWS::Lambda::Function');
  expect(fn.Properties.LoggingConfig).toEqual({ LogGroup: { Ref: logsId } });
});

test('an output gives the command that re-runs the check on demand', () => {
  const [functionId] = deployCheckResource(plain, 'AWS::Lambda::Function');
  const outputs = Object.entries(
    plain.template.toJSON().Outputs as Record<string, any>,
  ).filter(([id]) => id.startsWith('DeployCheckRerunCommand'));
  expect(outputs).toHaveLength(1);
  expect(outputs[0][1].Value).toEqual({
    'Fn::Join': [
      '',
      [
        'aws lambda invoke --function-name ',
        { Ref: functionId },
        ' --cli-read-timeout 0 /dev/stdout',
      ],
    ],
  });
});

test('the IAM policy grants ec2:DescribeNatGateways and DescribeStacks on its own stack, nothing else', () => {
  const [, policy] = deployCheckResource(plain, 'AWS::IAM::Policy');
  expect(policy.Properties.PolicyDocument.Statement).toEqual([
    { Action: 'ec2:DescribeNatGateways', Effect: 'Allow', Resource: '*' },
    {
      Action: 'cloudformation:DescribeStacks',
      Effect: 'Allow',
      Resource: { Ref: 'AWS::StackId' },
    },
  ]);
  const [, role] = deployCheckResource(plain, 'AWS::IAM::Role');
  const managed = JSON.stringify(role.Properties.ManagedPolicyArns);
  expect(role.Properties.ManagedPolicyArns).toHaveLength(2);
  expect(managed).toContain('service-role/AWSLambdaBasicExecutionRole');
  expect(managed).toContain('service-role/AWSLambdaVPCAccessExecutionRole');
});

test('its security group admits nothing and lets out only HTTPS, the listener ports and each app server', () => {
  const egress = (s: Synthesized) =>
    deployCheckResource(s, 'AWS::EC2::SecurityGroup')[1].Properties;
  const appRule = (s: Synthesized, server: AppServer) => ({
    CidrIp: {
      'Fn::Join': [
        '',
        [
          {
            'Fn::GetAtt': [
              logicalId(s, server.instance.node.defaultChild as CfnElement),
              'PublicIp',
            ],
          },
          '/32',
        ],
      ],
    },
    FromPort: 3000,
    ToPort: 3000,
    IpProtocol: 'tcp',
  });
  const plainGroup = egress(plain);
  expect(plainGroup.SecurityGroupIngress).toBeUndefined();
  expect(plainGroup.SecurityGroupEgress).toEqual([
    expect.objectContaining({
      CidrIp: '0.0.0.0/0',
      FromPort: 443,
      ToPort: 443,
      IpProtocol: 'tcp',
    }),
    expect.objectContaining({
      CidrIp: '0.0.0.0/0',
      FromPort: 80,
      ToPort: 80,
      IpProtocol: 'tcp',
    }),
    ...plain.stack.appServers.map((server) =>
      expect.objectContaining(appRule(plain, server)),
    ),
  ]);
  // A TLS listener on 443 shares the rule the EC2 API needs; only the other listener ports get their own.
  const otherPorts = tls.stack.edge.listenerPorts.filter(
    (port) => port !== 443,
  );
  expect(
    egress(tls).SecurityGroupEgress.map((rule: any) => rule.FromPort),
  ).toEqual([443, ...otherPorts, 3000, 3000]);
  expect(
    Object.values(
      plain.template.findResources('AWS::EC2::SecurityGroupIngress'),
    ).map((r) => JSON.stringify(r.Properties)),
  ).not.toContainEqual(
    expect.stringContaining(
      deployCheckResource(plain, 'AWS::EC2::SecurityGroup')[0],
    ),
  );
});

test('the bundle is minified, leaves the AWS SDK to the runtime and holds the verification core', () => {
  const [, fn] = deployCheckResource(plain, 'AWS::Lambda::Function');
  const hash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
  const bundle = path.join(
    plain.app.synth().directory,
    `asset.${hash}`,
    'index.js',
  );
  const text = readFileSync(bundle, 'utf8');
  expect(text).toMatch(/require\("@aws-sdk\/client-ec2"\)/);
  expect(text).toContain('sticky_edge_route');
  expect(text.split('\n').length).toBeLessThan(20);
  expect(statSync(bundle).size).toBeLessThan(100 * 1024);
  // What the function's Handler names, index.handler, is there: the staged file loads in plain Node.js, with
  // the AWS SDK from this repo's node_modules standing in for the runtime's, and exports it.
  const exported = execFileSync(
    process.execPath,
    [
      '-e',
      `process.stdout.write(typeof require(${JSON.stringify(bundle)}).handler)`,
    ],
    {
      // Its stderr is kept for a failure's message: the SDK warns about Node.js versions on load.
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NODE_PATH: path.resolve(__dirname, '../../node_modules'),
      },
    },
  );
  expect(exported.toString()).toBe('function');
  // Built for the runtime the function runs on.
  expect(`nodejs${VERIFY_LAMBDA_TARGET.replace(/^node/, '')}.x`).toBe(
    fn.Properties.Runtime,
  );
});

/** The check function's environment, the trigger's HandlerArn (the version) and that version's description. */
function watchedBy(s: Synthesized) {
  const [, fn] = deployCheckResource(s, 'AWS::Lambda::Function');
  const handlerArn = triggerOf(s).Properties.HandlerArn.Ref;
  return {
    fingerprint: fn.Properties.Environment.Variables
      .VERIFY_FINGERPRINT as string,
    deployInputs: fn.Properties.Environment.Variables.VERIFY_DEPLOY_INPUTS,
    version: handlerArn as string,
    versionDescription:
      s.template.toJSON().Resources[handlerArn].Properties.Description,
  };
}

describe('the trigger runs again after any change to what it verifies', () => {
  let base: ReturnType<typeof watchedBy>;
  beforeAll(() => {
    base = watchedBy(synthesize({ lb: 'nlb', sticky: 'cookie' }));
  });

  test('nothing changed: the same fingerprint and the same version', () => {
    const again = watchedBy(plain);
    expect(base.fingerprint).toMatch(/^[a-f0-9]{64}$/);
    expect(again.fingerprint).toBe(base.fingerprint);
    expect(again.version).toBe(base.version);
  });

  test.each([
    ['nginxInstanceType', { nginxInstanceType: 't3.small' }],
    ['appInstanceType', { appInstanceType: 't3.small' }],
    ['appPort', { appPort: '3001' }],
    ['the image (amiId)', { amiId: 'ami-0123456789abcdef0' }],
  ])(
    '%s alone changes the fingerprint, so the function gets a new version',
    (_name, change) => {
      const changed = watchedBy(
        synthesize({ lb: 'nlb', sticky: 'cookie', ...change }),
      );
      expect(changed.fingerprint).not.toBe(base.fingerprint);
      expect(changed.version).not.toBe(base.version);
    },
  );

  test("values known only at deploy time, the latest image and the app servers' addresses, are in the environment and the version description", () => {
    const parameters = Object.keys(plain.template.toJSON().Parameters).filter(
      (id) => id.startsWith('SsmParameterValue'),
    );
    expect(parameters.length).toBeGreaterThan(0);
    const addresses = plain.stack.appServers.map((server) =>
      plain.stack.resolve(server.address),
    );
    const inputs = [...parameters.map((id) => ({ Ref: id })), ...addresses];
    const joined = { 'Fn::Join': [' ', ['deploy-time inputs:', ...inputs]] };
    expect(base.deployInputs).toEqual(joined);
    // A version's Description cannot be updated in place (Update requires: Replacement), so a new value
    // publishes a new version and changes the trigger's HandlerArn.
    expect(base.versionDescription).toEqual(joined);
  });
});

describe('fails at synth', () => {
  const attempt = (props: Partial<DeployCheckProps>) => () => {
    const stack = new Stack(new App(), 'Bad');
    const vpc = new ec2.Vpc(stack, 'Vpc');
    new DeployCheck(stack, 'DeployCheck', {
      vpc,
      url: 'http://example.test',
      listenerPorts: [80],
      sticky: 'ip_hash',
      executeAfter: [],
      targetHealthCheck: {},
      ...props,
    });
  };

  test('fails when sessions is out of range', () => {
    expect(attempt({ sessions: 0 })).toThrow(
      'deploy check sessions must be a whole number from 1 to 500, got 0',
    );
  });

  test('fails when requestsPerSession is out of range', () => {
    expect(attempt({ requestsPerSession: 1.5 })).toThrow(
      'deploy check requestsPerSession must be a whole number from 2 to 50, got 1.5',
    );
  });

  test('fails when no listener port is given', () => {
    expect(attempt({ listenerPorts: [] })).toThrow(
      'deploy check needs at least one listener port, got none',
    );
  });

  test('fails when waiting could outlast the Lambda limit', () => {
    expect(attempt({ readyWithin: Duration.minutes(11) })).toThrow(
      'deploy check readyWithin must be at most 10 minutes 30 seconds, got 11 minutes',
    );
  });

  test('fails when the target group health check is too slow to wait for within the Lambda limit', () => {
    expect(
      attempt({
        targetHealthCheck: {
          interval: Duration.seconds(300),
          healthyThresholdCount: 10,
        },
      }),
    ).toThrow(
      "deploy check cannot wait for the target group's health check within Lambda's limit: it needs 56 minutes, at most 10 minutes 30 seconds fit",
    );
  });
});
