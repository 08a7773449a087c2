import * as path from 'node:path';
import { CfnOutput, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Trigger } from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import { VERIFY_ENV } from '../verify/lambda-environment';
import type { StickyStrategy } from '../settings';
import { LIMITS } from '../verify';

/** An app server the check calls directly, skipping nginx, to prove it is up. */
export interface DeployCheckBackend {
  /** Its public address (the Elastic IP; a token until deploy). */
  readonly address: string;
  readonly port: number;
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
  readonly sticky: StickyStrategy;
  /**
   * App servers to call directly.
   * @default - none: the check cannot prove that a backend serving no session is up
   */
  readonly backends?: readonly DeployCheckBackend[];
  /** What must be deployed, and signalled healthy, before the check runs: the nginx tier, app servers, listener. */
  readonly executeAfter: readonly Construct[];
  /** Simulated visitors. @default 20 */
  readonly sessions?: number;
  /** Plain requests per visitor (each also sends two with forged headers). @default 4 */
  readonly requestsPerSession?: number;
  /**
   * How long the check may wait for a fresh load balancer to answer (DNS, target health) before verifying.
   * @default Duration.minutes(4)
   */
  readonly readyWithin?: Duration;
}

/** The verification itself is bounded at 90 s by the core; this leaves room for waiting and the EC2 call. */
const VERIFY_BUDGET = Duration.minutes(2);

/** Lambda stops a function after 15 minutes; waiting plus verifying must fit. */
const READY_WITHIN_MAX = Duration.minutes(13);

/**
 * Verifies the deployed edge from inside the edge VPC during `cdk deploy`: a trigger runs the verifier
 * Lambda after the nginx tier, the app servers and the listener exist, and a failed check fails the
 * deployment (CloudFormation rolls back) with the diagnosis. The trigger runs on the first deploy and
 * whenever the function or its settings change; the `RerunCommand` output runs it on demand.
 */
export class DeployCheck extends Construct {
  readonly function: NodejsFunction;
  readonly securityGroup: ec2.SecurityGroup;
  readonly trigger: Trigger;

  constructor(scope: Construct, id: string, props: DeployCheckProps) {
    super(scope, id);
    checkProps(props);
    const readyWithin = props.readyWithin ?? Duration.minutes(4);
    const timeout = Duration.seconds(
      readyWithin.toSeconds() + VERIFY_BUDGET.toSeconds(),
    );
    this.securityGroup = egressOnlyGroup(this, props);
    this.function = new NodejsFunction(this, 'Function', {
      description:
        'sticky-edge post-deploy check: stickiness and the real client address through the load balancer',
      entry: path.join(__dirname, '../../lambda/verify/index.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? {
        subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
      },
      securityGroups: [this.securityGroup],
      logGroup: new logs.LogGroup(this, 'Logs', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      environment: {
        [VERIFY_ENV.url]: props.url,
        [VERIFY_ENV.sticky]: props.sticky,
        [VERIFY_ENV.vpcId]: props.vpc.vpcId,
        [VERIFY_ENV.backendUrls]: (props.backends ?? [])
          .map((b) => `http://${b.address}:${b.port}`)
          .join(','),
        [VERIFY_ENV.sessions]: String(props.sessions ?? 20),
        [VERIFY_ENV.requestsPerSession]: String(props.requestsPerSession ?? 4),
        [VERIFY_ENV.readyWithinSeconds]: String(readyWithin.toSeconds()),
      },
      bundling: {
        minify: true,
        format: OutputFormat.CJS,
        // The runtime ships the AWS SDK v3; bundling it would only add megabytes.
        externalModules: ['@aws-sdk/*'],
        forceDockerBundling: false,
      },
    });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ec2:DescribeNatGateways'],
        resources: ['*'],
      }),
    );
    this.trigger = new Trigger(this, 'Trigger', {
      handler: this.function,
      executeAfter: [...props.executeAfter],
      timeout,
    });
    // The trigger re-runs only when the function changes; this re-checks after any other change or at any time.
    new CfnOutput(this, 'RerunCommand', {
      value: `aws lambda invoke --function-name ${this.function.functionName} --cli-read-timeout 0 /dev/stdout`,
      description:
        'Re-run the post-deploy check: prints the result, or the diagnosis as errorMessage',
    });
    acknowledgeFindings(this.function);
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
  if (
    props.readyWithin !== undefined &&
    props.readyWithin.toSeconds() > READY_WITHIN_MAX.toSeconds()
  ) {
    throw new Error(
      `deploy check readyWithin must be at most ${READY_WITHIN_MAX.toHumanString()}, got ${props.readyWithin.toHumanString()}`,
    );
  }
}

/**
 * Out only: HTTPS for the EC2 API (no VPC endpoint, so through the NAT) and a TLS listener, the plain
 * listener ports, and each app server's port at its own address. DNS goes to the VPC resolver, which
 * security groups do not filter.
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
      "the load balancer's public listener, via the NAT",
    );
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

function acknowledgeFindings(fn: NodejsFunction): void {
  // NodejsFunction creates a role when given none.
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
      'ec2:DescribeNatGateways, the only action granted here, supports no resource-level permissions (Service Authorization Reference, Amazon EC2); it is read-only',
  });
}
