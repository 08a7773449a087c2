import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  AssetHashType,
  CfnOutput,
  CfnParameter,
  CfnResource,
  Duration,
  Fn,
  DockerImage,
  Lazy,
  RemovalPolicy,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Trigger } from 'aws-cdk-lib/triggers';
import { Construct, IConstruct } from 'constructs';
import {
  IPV6_READY_WITHIN_SECONDS,
  VERIFY_ENV,
} from '../verify/lambda-environment';
import { DEFAULT_COOKIE_NAME, type StickyStrategy } from '../settings';
import { LIMITS } from '../verify';
import { bundleVerifyLambda, VERIFY_LAMBDA_ENTRY } from '../verify/bundle';

/** An app server the check calls directly, skipping nginx, to prove it is up. */
export interface DeployCheckBackend {
  /** Its public address (the app server's auto-assigned public IPv4 address; a token until deploy). */
  readonly address: string;
  /** The port the backend listens on (the app port). */
  readonly port: number;
  /**
   * The name nginx gives it (its route id), which the check reports it by when the app is the team's own.
   * @default - the backend's URL
   */
  readonly name?: string;
}

/** A dualstack load balancer, which the check also visits over IPv6. */
export interface DeployCheckIpv6 {
  /**
   * The IPv6 blocks of the load balancer's subnets: the only IPv6 destinations the function may reach (on the
   * listener ports). Its AAAA records point there, inside the VPC.
   */
  readonly loadBalancerCidrs: readonly string[];
}

export interface DeployCheckProps {
  /** The edge VPC. The function runs in its private subnets, so its requests leave through the NAT gateways. */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets for the function: private ones whose default route is a NAT gateway of `vpc`.
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The load balancer's URL, as clients use it. */
  readonly url: string;
  /** The load balancer's listener ports the function must reach. */
  readonly listenerPorts: readonly number[];
  /** The edge's sticky strategy: how the check tells whether each visitor stayed on one backend. */
  readonly sticky: StickyStrategy;
  /**
   * The routing cookie's name (`cookieName`), which the check reads to tell cookie routing from address routing.
   * @default 'sticky_edge_route'
   */
  readonly routeCookieName?: string;
  /**
   * App servers to call directly.
   * @default - none: the check cannot prove that a backend serving no session is up
   */
  readonly backends?: readonly DeployCheckBackend[];
  /**
   * The backends are the team's own (`backends`), not the demo app: the check reads which backend answered
   * from nginx's `X-Sticky-Edge-Backend` header (sent to the NAT addresses only) and cannot see what the app
   * sees, so it proves reachability, stickiness and spread but not the client address.
   * @default false - the demo backend, whose JSON names the backend and the address it saw
   */
  readonly ownBackends?: boolean;
  /** What must be deployed, and signalled healthy, before the check runs: the nginx tier, app servers, listener. */
  readonly executeAfter: readonly Construct[];
  /**
   * What the check verifies: a change to any CloudFormation resource under these constructs (nginx config,
   * image, instance type, app servers) gives the function a new version, and so runs the check again.
   * @default - the `executeAfter` constructs
   */
  readonly watch?: readonly IConstruct[];
  /**
   * The health check of the load balancer's target group (its interval and healthy threshold size the wait).
   * Missing fields count at ELB's defaults: a 30 s interval and 5 healthy checks.
   */
  readonly targetHealthCheck: elbv2.HealthCheck;
  /**
   * Simulated visitors.
   * @default 20
   */
  readonly sessions?: number;
  /**
   * Plain requests per visitor (each also sends two with forged headers).
   * @default 4
   */
  readonly requestsPerSession?: number;
  /**
   * How long the check may wait for a fresh load balancer to answer (DNS, target health) before verifying.
   * @default - target registration, the health checks that make a target healthy, and one DNS TTL (see `readyWithinFor`)
   */
  readonly readyWithin?: Duration;
  /**
   * The load balancer is dualstack: after the IPv4 visitors, the same visitors come over IPv6 from the
   * function's own IPv6 addresses (`ipv6AllowedForDualStack`; `vpcSubnets` must be dual-stack and give new
   * network interfaces an IPv6 address), and the backends must report exactly those.
   * @default - IPv4 visitors only
   */
  readonly ipv6?: DeployCheckIpv6;
}

/** Where the check's log groups live: `<prefix><stack name>/<stack ID suffix>`, kept after the stack. */
export const DEPLOY_CHECK_LOGS_PREFIX = '/sticky-edge/deploy-check/';

/**
 * "It can take a few minutes for the registration process to complete and health checks to start" (ELB NLB
 * guide, "Register targets" and "Health checks for Network Load Balancer target groups"). AWS gives no figure
 * for "a few"; five minutes is what we allow.
 */
const TARGET_REGISTRATION = Duration.minutes(5);

/**
 * A zone's load balancer address is in DNS only while it has a healthy target (NLB guide, health checks), and
 * ELB's records live 60 s (ELB asks clients to re-resolve at least once a minute): one TTL after the targets
 * turn healthy, every answer names a serving node.
 */
const DNS_TTL = Duration.seconds(60);

/** ELB's defaults when the target group leaves them unset (ELB API reference, CreateTargetGroup). */
const DEFAULT_HEALTH_CHECK_INTERVAL = Duration.seconds(30);
const DEFAULT_HEALTHY_THRESHOLD = 5;

/** The verification itself is bounded at 90 s by the core. */
const VERIFY_BUDGET = Duration.minutes(2);

/** DescribeStacks and DescribeNatGateways, each a single call (paged, in practice one page). */
const AWS_CALLS_BUDGET = Duration.seconds(30);

/**
 * The trigger's provider waits on the invocation this much longer than the function may run, so a function
 * that times out is reported as Lambda's "Task timed out", not as the provider's socket timeout.
 */
const TRIGGER_GRACE = Duration.seconds(30);

/**
 * Lambda stops a function after 15 minutes (Lambda quotas), and so does the trigger's provider function
 * (CDK's custom resource providers run for at most 15 minutes), which first retries AccessDenied for up to
 * 60 s (12 × 5 s, in its handler) while IAM propagates, then waits on the invocation for the trigger's
 * timeout: 13 minutes for the function leaves the retries, the grace and 30 s of margin.
 */
const FUNCTION_TIMEOUT_MAX = Duration.minutes(13);

/** How long a fresh target group takes, at the worst AWS documents, until its load balancer answers through it. */
export function readyWithinFor(healthCheck: elbv2.HealthCheck): Duration {
  const interval = healthCheck.interval ?? DEFAULT_HEALTH_CHECK_INTERVAL;
  const threshold =
    healthCheck.healthyThresholdCount ?? DEFAULT_HEALTHY_THRESHOLD;
  return Duration.seconds(
    TARGET_REGISTRATION.toSeconds() +
      threshold * interval.toSeconds() +
      DNS_TTL.toSeconds(),
  );
}

/** With IPv6 visitors, a second verification and its short wait for the AAAA answers. */
function verifyBudget(props: DeployCheckProps): Duration {
  return props.ipv6 === undefined
    ? VERIFY_BUDGET
    : Duration.seconds(
        2 * VERIFY_BUDGET.toSeconds() + IPV6_READY_WITHIN_SECONDS,
      );
}

/** The function's (and the trigger's) timeout: the wait, the verification(s) and the AWS calls. */
function timeoutFor(readyWithin: Duration, props: DeployCheckProps): Duration {
  return Duration.seconds(
    readyWithin.toSeconds() +
      verifyBudget(props).toSeconds() +
      AWS_CALLS_BUDGET.toSeconds(),
  );
}

/**
 * Verifies the deployed edge from inside the edge VPC during `cdk deploy`: a trigger runs the verifier
 * Lambda after the nginx tier, the app servers and the listener exist, and a failed check fails the
 * deployment (CloudFormation rolls back) with the diagnosis. The trigger runs on the first deploy and
 * whenever the function, its settings or anything it watches change; the `RerunCommand` output runs it on
 * demand. Its log group outlives the stack, so a failed check's report is still there after a rollback.
 *
 * It stays in the VPC although Lambda releases a VPC function's network interfaces late (deleting the stack
 * can wait 20-40 minutes on them: aws-cdk #14456, #4119): from there its requests leave through the NAT
 * gateways, whose addresses EC2 names, so it proves that the backends see exactly the caller's public
 * address. Outside the VPC its address is Lambda's own, unknown in advance, and the check could only show
 * that the backends see some public address.
 */
export class DeployCheck extends Construct {
  readonly function: lambda.Function;
  readonly securityGroup: ec2.SecurityGroup;
  readonly trigger: Trigger;
  /** Kept after the stack is deleted or rolled back, with the last reports. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: DeployCheckProps) {
    super(scope, id);
    checkProps(props);
    const readyWithin =
      props.readyWithin ?? readyWithinFor(props.targetHealthCheck);
    const timeout = timeoutFor(readyWithin, props);
    const stack = Stack.of(this);
    const watched = once(() =>
      describeWatched(stack, props.watch ?? props.executeAfter, props),
    );
    const deployInputs = Lazy.string({
      produce: () =>
        Fn.join(' ', ['deploy-time inputs:', ...watched().deployInputs]),
    });
    this.securityGroup = egressOnlyGroup(this, props);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // Named so it can be found once the stack is gone: one per stack instance (the stack ID's last part),
      // so a redeploy never collides with a group an earlier one left.
      logGroupName: Fn.join('', [
        `${DEPLOY_CHECK_LOGS_PREFIX}${stack.stackName}/`,
        Fn.select(2, Fn.split('/', stack.stackId)),
      ]),
      retention: logs.RetentionDays.ONE_MONTH,
      // A failed first deploy rolls back by deleting the stack's resources: the report must survive it.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.function = new lambda.Function(this, 'Function', {
      description:
        props.ownBackends === true
          ? 'sticky-edge post-deploy check: every own backend and stickiness through the load balancer'
          : 'sticky-edge post-deploy check: stickiness and the real client address through the load balancer',
      code: verifyLambdaCode(),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? {
        subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
      },
      securityGroups: [this.securityGroup],
      ...(props.ipv6 === undefined ? {} : { ipv6AllowedForDualStack: true }),
      logGroup: this.logGroup,
      environment: {
        [VERIFY_ENV.url]: props.url,
        [VERIFY_ENV.sticky]: props.sticky,
        [VERIFY_ENV.routeCookie]: props.routeCookieName ?? DEFAULT_COOKIE_NAME,
        [VERIFY_ENV.vpcId]: props.vpc.vpcId,
        [VERIFY_ENV.stackId]: stack.stackId,
        [VERIFY_ENV.backendUrls]: (props.backends ?? [])
          .map((b) => `http://${b.address}:${b.port}`)
          .join(','),
        // Set only for own backends, so a demo stack's function (and its template) is what it was.
        ...(props.ownBackends === true
          ? {
              [VERIFY_ENV.app]: 'own',
              [VERIFY_ENV.backendNames]: (props.backends ?? [])
                .map((b) => b.name ?? `http://${b.address}:${b.port}/`)
                .join(','),
            }
          : {}),
        [VERIFY_ENV.sessions]: String(props.sessions ?? 20),
        [VERIFY_ENV.requestsPerSession]: String(props.requestsPerSession ?? 4),
        [VERIFY_ENV.readyWithinSeconds]: String(readyWithin.toSeconds()),
        // A new fingerprint changes the function's configuration, so CDK gives it a new version (its logical
        // ID hashes the configuration) and the trigger, which points at that version, runs again.
        [VERIFY_ENV.fingerprint]: Lazy.string({
          produce: () => watched().fingerprint,
        }),
        [VERIFY_ENV.deployInputs]: deployInputs,
        ...(props.ipv6 === undefined
          ? {}
          : {
              [VERIFY_ENV.ipv6SecurityGroup]:
                this.securityGroup.securityGroupId,
            }),
      },
      currentVersionOptions: {
        // Values known only at deploy time (the latest image from SSM, an app server's address) change no
        // logical ID. A version's Description cannot be updated ("Update requires: Replacement", CloudFormation
        // AWS::Lambda::Version), so a new value publishes a new version (the environment above changed with it,
        // so Lambda has something new to publish), which changes the trigger's HandlerArn: CloudFormation sends
        // the trigger an Update, and its provider invokes the handler on every Update (aws-cdk-lib
        // custom-resource-handlers/dist/triggers/lambda: only Delete is skipped). Putting the values on the
        // trigger alone would re-run the old version, with the old addresses in its environment.
        description: deployInputs,
      },
    });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        // With IPv6 visitors, the function reads its own interfaces' IPv6 addresses: what the backends must report.
        actions: [
          'ec2:DescribeNatGateways',
          ...(props.ipv6 === undefined
            ? []
            : ['ec2:DescribeNetworkInterfaces']),
        ],
        resources: ['*'],
      }),
    );
    // To tell an update's rollback (which re-runs the old check) from a deploy; its own stack only.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['cloudformation:DescribeStacks'],
        resources: [stack.stackId],
      }),
    );
    this.trigger = new Trigger(this, 'Trigger', {
      handler: this.function,
      executeAfter: [...props.executeAfter],
      timeout: Duration.seconds(
        timeout.toSeconds() + TRIGGER_GRACE.toSeconds(),
      ),
    });
    // Re-checks at any time, for example after the Auto Scaling group replaced nginx nodes, which no deploy sees.
    new CfnOutput(this, 'RerunCommand', {
      value: `aws lambda invoke --function-name ${this.function.functionName} --cli-read-timeout 0 /dev/stdout`,
      description:
        'Re-run the post-deploy check: prints the result, or the diagnosis as errorMessage',
    });
    acknowledgeFindings(this.function, props);
  }
}

/** Synth-time checks, so a bad value fails `cdk synth` instead of the deployment's last step. */
function checkProps(props: DeployCheckProps): void {
  const whole = (
    name: string,
    value: number | undefined,
    range: { min: number; max: number },
  ) => {
    if (
      value !== undefined &&
      (!Number.isInteger(value) || value < range.min || value > range.max)
    ) {
      throw new Error(
        `deploy check ${name} must be a whole number from ${range.min} to ${range.max}, got ${value}`,
      );
    }
  };
  whole('sessions', props.sessions, LIMITS.sessions);
  whole(
    'requestsPerSession',
    props.requestsPerSession,
    LIMITS.requestsPerSession,
  );
  if (props.listenerPorts.length === 0)
    throw new Error('deploy check needs at least one listener port, got none');
  if (props.ipv6 !== undefined && props.ipv6.loadBalancerCidrs.length === 0)
    throw new Error(
      "deploy check needs the load balancer's IPv6 subnet blocks for its IPv6 visitors, got none",
    );
  const readyWithinMax = Duration.seconds(
    FUNCTION_TIMEOUT_MAX.toSeconds() -
      verifyBudget(props).toSeconds() -
      AWS_CALLS_BUDGET.toSeconds(),
  );
  if (
    props.readyWithin !== undefined &&
    props.readyWithin.toSeconds() > readyWithinMax.toSeconds()
  ) {
    throw new Error(
      `deploy check readyWithin must be at most ${readyWithinMax.toHumanString()}, got ${props.readyWithin.toHumanString()}`,
    );
  }
  const sized = readyWithinFor(props.targetHealthCheck);
  if (
    props.readyWithin === undefined &&
    sized.toSeconds() > readyWithinMax.toSeconds()
  ) {
    throw new Error(
      `deploy check cannot wait for the target group's health check within Lambda's limit: it needs ${sized.toHumanString()}, at most ${readyWithinMax.toHumanString()} fit`,
    );
  }
}

/** What the check verifies, as the trigger must see it change. */
interface Watched {
  /** A hash of the watched resources' CloudFormation, as synthesized. */
  readonly fingerprint: string;
  /** Tokens for the values those resources read at deploy time: template parameters, the app servers' addresses. */
  readonly deployInputs: readonly string[];
}

/** Resolved late (from a Lazy), once every construct, rule and dependency has been added. */
function describeWatched(
  stack: Stack,
  scopes: readonly IConstruct[],
  props: DeployCheckProps,
): Watched {
  const resources = scopes
    .flatMap((scope) => scope.node.findAll())
    .filter(
      (c): c is CfnResource =>
        CfnResource.isCfnResource(c) && Stack.of(c) === stack,
    )
    // The resource as it will be synthesized (property overrides, DependsOn, metadata) is only to be had from
    // CfnResource's own renderer; it is marked internal but is what the stack synthesizer calls for every resource.
    // oxlint-disable-next-line no-underscore-dangle
    .map((r) => stack.resolve(r._toCloudFormation()))
    .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  const text = JSON.stringify(resources);
  const parameters = stack.node
    .findAll()
    .filter((c): c is CfnParameter => c instanceof CfnParameter)
    .filter((p) =>
      text.includes(JSON.stringify({ Ref: stack.resolve(p.logicalId) })),
    );
  return {
    fingerprint: createHash('sha256').update(text).digest('hex'),
    deployInputs: [
      ...parameters.map((p) => p.valueAsString),
      ...(props.backends ?? []).map((b) => b.address),
    ],
  };
}

function once<T>(produce: () => T): () => T {
  let value: { readonly v: T } | undefined;
  return () => (value ??= { v: produce() }).v;
}

/**
 * Out only: HTTPS for the EC2 API (no VPC endpoint, so through the NAT) and a TLS listener, the plain
 * listener ports, and each app server's port at its own address. DNS goes to the VPC resolver, which
 * security groups do not filter. With IPv6 visitors, the listener ports (443 too) at the load balancer's
 * subnets' IPv6 blocks, and no other IPv6 destination: the EC2 API and the app servers stay on IPv4.
 */
function egressOnlyGroup(
  scope: Construct,
  props: DeployCheckProps,
): ec2.SecurityGroup {
  const group = new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc: props.vpc,
    description:
      'sticky-edge post-deploy check: out to the load balancer, the app servers and the EC2 API',
    allowAllOutbound: false,
  });
  group.addEgressRule(
    ec2.Peer.anyIpv4(),
    ec2.Port.tcp(443),
    'EC2 API (DescribeNatGateways) and a TLS listener, via the NAT',
  );
  for (const port of props.listenerPorts.filter((p) => p !== 443)) {
    group.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(port),
      'the public listener of the load balancer, via the NAT',
    );
  }
  const ipv6Cidrs = props.ipv6?.loadBalancerCidrs ?? [];
  for (const port of props.listenerPorts) {
    for (const cidr of ipv6Cidrs) {
      group.addEgressRule(
        ec2.Peer.ipv6(cidr),
        ec2.Port.tcp(port),
        'the listener of the load balancer over IPv6, inside the VPC',
      );
    }
  }
  for (const backend of props.backends ?? []) {
    group.addEgressRule(
      ec2.Peer.ipv4(`${backend.address}/32`),
      ec2.Port.tcp(backend.port),
      'an app server, called directly via the NAT',
    );
  }
  return group;
}

/**
 * The verifier's Lambda bundle, staged by CDK's asset bundling with a local bundler: esbuild's API, in
 * process. NodejsFunction would bundle the same file with the same esbuild, but it runs the project's esbuild
 * through `npx --no-install`, which costs this machine 0.6–0.9 s of npm start-up on every synth, test synth
 * and deploy (aws-cdk-lib 2.276, aws-lambda-nodejs/lib/package-manager.js), for the 30 ms esbuild needs.
 */
function verifyLambdaCode(): lambda.Code {
  return lambda.Code.fromAsset(path.dirname(VERIFY_LAMBDA_ENTRY), {
    // The bundle's hash names the asset, so a change to anything the Lambda imports deploys a new one.
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // CDK's bundling options require an image for when local bundling declines; this one never declines
      // (esbuild is a dependency of the app), so no image is ever pulled.
      image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs24.x'),
      local: {
        tryBundle(outputDir: string): boolean {
          writeFileSync(path.join(outputDir, 'index.js'), bundleVerifyLambda());
          return true;
        },
      },
    },
  });
}

function acknowledgeFindings(
  fn: lambda.Function,
  props: DeployCheckProps,
): void {
  // lambda.Function creates a role when given none.
  const role = fn.role!;
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason:
      'The AWS-maintained AWSLambdaBasicExecutionRole lets the function write its logs (logs:CreateLogGroup, CreateLogStream, PutLogEvents); it grants nothing outside CloudWatch Logs',
  });
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
    reason:
      "The AWS-maintained policy Lambda needs to attach the function's network interfaces in the edge VPC",
  });
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      props.ipv6 === undefined
        ? 'ec2:DescribeNatGateways, the only action granted here, supports no resource-level permissions (Service Authorization Reference, Amazon EC2); it is read-only'
        : 'ec2:DescribeNatGateways and ec2:DescribeNetworkInterfaces, the only actions granted here, support no resource-level permissions (Service Authorization Reference, Amazon EC2); both are read-only',
  });
}
