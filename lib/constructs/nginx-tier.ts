import { CfnElement, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HEALTH_PATH } from '../nginx/render';
import type { EdgeRenderOptions } from '../nginx/render-options';
import { GROUP_ROOT_VOLUME, SSM_MANAGED_POLICY_REASON } from './ec2-baseline';
import {
  amazonLinuxNginxConf,
  NGINX_STATUS_LISTEN,
} from '../nginx/nginx-options';
import { compressedLines } from '../os/compress';
import { dnfInstallWithRetry } from '../os/dnf-install';
import { INSTANCE_ACCESS_LOG } from '../nginx/access-log';
import {
  AGENT_PACKAGE,
  AgentLifecycle,
  agentInstallCommands,
  LIFECYCLE_HOOK_NAME,
} from '../agent/install';

export interface NginxTierProps {
  /** The edge VPC. */
  readonly vpc: ec2.IVpc;
  /** Private subnets whose default route is a NAT gateway, so nginx reaches the app servers through it. */
  readonly vpcSubnets: ec2.SubnetSelection;
  /** The nginx nodes' instance type. */
  readonly instanceType: ec2.InstanceType;
  /** The nodes' image: Amazon Linux 2023 (user data installs nginx with dnf). */
  readonly machineImage: ec2.IMachineImage;
  /** The Auto Scaling group's minimum size: at least one node per availability zone. */
  readonly minCapacity: number;
  /** The Auto Scaling group's maximum size. */
  readonly maxCapacity: number;
  /** What every node's nginx.conf is rendered from. */
  readonly renderOptions: EdgeRenderOptions;
  /**
   * The app servers, each an address and a port: the only places nginx may connect to besides HTTPS for
   * packages and SSM (one egress rule each).
   */
  readonly upstreams: readonly NginxUpstream[];
  /**
   * Target tracking keeps the group's average CPU utilisation near this percentage, between the bounds.
   * @default 50
   */
  readonly scaleCpuPercent?: number;
  /**
   * The log group each node's CloudWatch agent ships nginx's JSON access log to (one stream per instance).
   * @default - the access log stays on the node
   */
  readonly accessLogGroup?: logs.ILogGroup;
  /**
   * On termination (scale-in, replacement) a lifecycle hook holds a node after its deregistration delay while
   * nginx still carries connections (WebSockets), at most this many seconds (1-28800), sending heartbeats; then
   * the node closes what is left and is terminated. 0 adds no hook.
   * @default 0 - no hook: a node is terminated at the end of the deregistration delay
   */
  readonly webSocketDrainSeconds?: number;
}

/** An app server nginx's security group lets it connect to. */
export interface NginxUpstream {
  /** Its address (an app server's public IPv4 address /32). */
  readonly peer: ec2.IPeer;
  /** The port it listens on. */
  readonly port: number;
  /** The egress rule's description (EC2's character set: no apostrophes). */
  readonly description: string;
}

/**
 * How long a new node's metrics are left out of the group's average: user data installs nginx with dnf and
 * signals once nginx answers, about two minutes on a t3.micro; a minute more covers a slow mirror.
 */
const INSTANCE_WARMUP = Duration.minutes(3);

/** Heredoc delimiter around nginx.conf (compressed) in user data; quoted, so the shell expands nothing in between. */
const NGINX_CONF_END = 'STICKY_EDGE_NGINX_CONF';

/** nginx.conf's file on the node. */
const NGINX_CONF_PATH = '/etc/nginx/nginx.conf';

/** What a token stands in for in the compressed nginx.conf: `@STICKY_EDGE_T0@` … (nginx.conf never holds it). */
const PLACEHOLDER_PREFIX = '@STICKY_EDGE_T';

/**
 * An unresolved CDK token in a string: `${Token[…]}`, or a number token as a string. The same pattern as CDK's
 * own (aws-cdk-lib core/lib/private/encoding: STRING_TOKEN_REGEX, VALID_KEY_CHARS, STRINGIFIED_NUMBER_PATTERN);
 * `Token.isUnresolved` then checks that none is left over.
 */
const STRING_TOKEN = /\$\{Token\[[a-zA-Z0-9:._-]+\]\}|-1\.\d{10,16}e\+289/g;

/**
 * CloudFormation attributes whose values are IP addresses or CIDR blocks: hex digits, `.`, `:` and `/` only.
 * (EC2 User Guide: an instance's and an Elastic IP's PublicIp/PrivateIp; a VPC's or subnet's CidrBlock and
 * Ipv6CidrBlocks.)
 */
const ADDRESS_ATTRIBUTES = new Set([
  'PublicIp',
  'PrivateIp',
  'CidrBlock',
  'Ipv6CidrBlock',
  'Ipv6CidrBlocks',
]);

/**
 * nginx edge nodes: an Auto Scaling group across both AZs' private subnets, launched from a launch template
 * (Amazon Linux 2023, IMDSv2 only, encrypted gp3 root, no key pair, Session Manager for access). Each node
 * installs nginx, writes the rendered nginx.conf, refuses to start on a config `nginx -t` rejects, starts the
 * health agent beside nginx (lib/agent), and signals CloudFormation only once nginx answers its health path
 * and the agent runs, so a deploy waits for working nodes.
 */
export class NginxTier extends Construct {
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly securityGroup: ec2.SecurityGroup;
  /** What every node's nginx.conf is rendered from. */
  readonly renderOptions: EdgeRenderOptions;

  constructor(scope: Construct, id: string, props: NginxTierProps) {
    super(scope, id);
    this.renderOptions = props.renderOptions;
    this.securityGroup = nginxSecurityGroup(this, props);
    const userData = ec2.UserData.forLinux();
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      instanceType: props.instanceType,
      machineImage: props.machineImage,
      securityGroup: this.securityGroup,
      userData,
      requireImdsv2: true,
      blockDevices: [GROUP_ROOT_VOLUME],
      ssmSessionPermissions: true,
      minCapacity: props.minCapacity,
      maxCapacity: props.maxCapacity,
      defaultInstanceWarmup: INSTANCE_WARMUP,
      // The dashboard's node count (GroupInServiceInstances); group metrics are free at one-minute granularity.
      groupMetrics: [
        new autoscaling.GroupMetrics(
          autoscaling.GroupMetric.IN_SERVICE_INSTANCES,
          autoscaling.GroupMetric.DESIRED_CAPACITY,
        ),
      ],
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: Duration.minutes(5),
      }),
      signals: autoscaling.Signals.waitForMinCapacity({
        timeout: Duration.minutes(15),
      }),
      // One node at a time, never below the serving minimum (it must stay under the maximum to launch the new one).
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: Math.min(
          props.minCapacity,
          props.maxCapacity - 1,
        ),
      }),
    });
    scaleOnCpu(this.autoScalingGroup, props.scaleCpuPercent ?? 50);
    const drainSeconds = props.webSocketDrainSeconds ?? 0;
    userData.addCommands(
      ...nginxInstallCommands(
        this,
        amazonLinuxNginxConf(props.renderOptions),
        drainSeconds === 0
          ? undefined
          : holdWhileWebSocketsRemain(
              this,
              this.autoScalingGroup,
              drainSeconds,
            ),
      ),
    );
    if (props.accessLogGroup !== undefined)
      userData.addCommands(
        ...shipAccessLog(this.autoScalingGroup.role, props.accessLogGroup),
      );
    userData.addSignalOnExitCommand(this.autoScalingGroup);
    Validations.of(this.autoScalingGroup.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: SSM_MANAGED_POLICY_REASON,
    });
    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions-AS3',
      reason:
        'Sandbox: scaling events are in the group activity history; an SNS topic nobody subscribes to adds nothing',
    });
    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions-EC28',
      reason:
        'Sandbox: 5-minute basic monitoring is enough and detailed monitoring is billed per instance',
    });
  }
}

/**
 * Target tracking on average CPU: nginx's work (TLS-free proxying, the cookie maps' regexes, logging) grows
 * with requests and connections whichever load balancer is in front, so one metric serves NLB and ALB alike
 * (an ALB's RequestCountPerTarget would miss WebSocket load, an NLB's flow counts are per load balancer, not
 * per node). Scaling the nginx tier moves no session: every node renders the same mapping. A node scaled in
 * is first deregistered and the group waits the target group's deregistration delay (`nginxDrainSeconds`),
 * then the termination lifecycle hook holds it while its WebSockets remain (`holdWhileWebSocketsRemain`);
 * target tracking scales in only after 15 minutes below the target, so the tier does not flap.
 */
function scaleOnCpu(
  group: autoscaling.AutoScalingGroup,
  targetPercent: number,
): void {
  group.scaleOnCpuUtilization('CpuTarget', {
    targetUtilizationPercent: targetPercent,
  });
}

/**
 * Without a heartbeat for this long the hook lets the group terminate the node (default result CONTINUE), so
 * a node whose agent died waits 5 minutes, not the whole drain. The agent beats every minute. The hook's global
 * timeout is 100 × this (30,000 s), which bounds `webSocketDrainSeconds` at 28,800 (Amazon EC2 Auto Scaling
 * User Guide, "Configure a lifecycle hook's timeout": heartbeat 30-7200 s; global timeout 48 hours or 100 × the
 * heartbeat timeout, whichever is smaller).
 */
const HOOK_HEARTBEAT_TIMEOUT = Duration.minutes(5);
const MAX_WEBSOCKET_DRAIN_SECONDS = 28_800;

/**
 * The termination hook, and the instance role's right to answer it on this group only. The group deregisters
 * a node and waits its deregistration delay before `Terminating:Wait` (User Guide, "How lifecycle hooks work"),
 * so the hook adds its time after `nginxDrainSeconds`; the health agent on the node does the waiting
 * (lib/agent/lifecycle.ts). A separate policy, not the role's default one: it names the group, and the group
 * must not wait for a policy that waits for it.
 */
function holdWhileWebSocketsRemain(
  scope: Construct,
  group: autoscaling.AutoScalingGroup,
  drainSeconds: number,
): AgentLifecycle {
  if (
    !Number.isInteger(drainSeconds) ||
    drainSeconds < 0 ||
    drainSeconds > MAX_WEBSOCKET_DRAIN_SECONDS
  )
    throw new Error(
      `webSocketDrainSeconds must be a whole number from 0 to ${MAX_WEBSOCKET_DRAIN_SECONDS}, got ${drainSeconds}`,
    );
  group.addLifecycleHook('WebSocketDrain', {
    lifecycleHookName: LIFECYCLE_HOOK_NAME,
    lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
    defaultResult: autoscaling.DefaultResult.CONTINUE,
    heartbeatTimeout: HOOK_HEARTBEAT_TIMEOUT,
  });
  const policy = new iam.Policy(scope, 'LifecyclePolicy', {
    statements: [
      new iam.PolicyStatement({
        actions: [
          'autoscaling:CompleteLifecycleAction',
          'autoscaling:RecordLifecycleActionHeartbeat',
        ],
        resources: [group.autoScalingGroupArn],
      }),
      // The agent learns its group's name from its instance id: user data cannot name the group that launches it.
      new iam.PolicyStatement({
        actions: ['autoscaling:DescribeAutoScalingInstances'],
        resources: ['*'],
      }),
    ],
  });
  policy.attachToRole(group.role);
  Validations.of(policy).acknowledge(
    {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/<${Stack.of(scope).getLogicalId(group.node.defaultChild as CfnElement)}>]`,
      reason:
        'The * is the group ARN part CloudFormation never returns (its UUID); the group is named in full, so only this group is covered',
    },
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'DescribeAutoScalingInstances is read-only and supports no resource-level permissions (Service Authorization Reference, Amazon EC2 Auto Scaling)',
    },
  );
  return {
    region: Stack.of(scope).region,
    webSocketDrainSeconds: drainSeconds,
  };
}

/** Heredoc delimiter around the CloudWatch agent's config in user data. */
const AGENT_CONFIG_END = 'STICKY_EDGE_AGENT_CONFIG';
const AGENT_DIR = '/opt/aws/amazon-cloudwatch-agent';
const AGENT_CONFIG = `${AGENT_DIR}/etc/sticky-edge.json`;

/**
 * The CloudWatch agent from the Amazon Linux 2023 repositories tails the access log into the group, one
 * stream per instance. It only ships logs (no metrics section), so the role needs only to write to this group:
 * CreateLogStream and PutLogEvents (`grantWrite`), and DescribeLogStreams, which the agent calls to resume a
 * stream after a restart. The group exists already (the stack owns it and its retention), so no CreateLogGroup.
 * The agent reaches CloudWatch Logs over HTTPS, which the nodes' security group already allows.
 */
function shipAccessLog(role: iam.IRole, group: logs.ILogGroup): string[] {
  group.grantWrite(role);
  group.grant(role, 'logs:DescribeLogStreams');
  const config = {
    logs: {
      logs_collected: {
        files: {
          collect_list: [
            {
              file_path: INSTANCE_ACCESS_LOG,
              log_group_name: group.logGroupName,
              log_stream_name: '{instance_id}',
              timezone: 'UTC',
            },
          ],
        },
      },
    },
  };
  return [
    dnfInstallWithRetry(['amazon-cloudwatch-agent']),
    `cat > ${AGENT_CONFIG} <<'${AGENT_CONFIG_END}'`,
    Stack.of(group).toJsonString(config),
    AGENT_CONFIG_END,
    `${AGENT_DIR}/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:${AGENT_CONFIG}`,
  ];
}

function nginxSecurityGroup(
  scope: Construct,
  props: NginxTierProps,
): ec2.SecurityGroup {
  const group = new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc: props.vpc,
    description: 'nginx edge nodes: traffic from the load balancer only',
    allowAllOutbound: false,
  });
  group.addEgressRule(
    ec2.Peer.anyIpv4(),
    ec2.Port.tcp(443),
    'dnf repositories, CloudFormation signals and Session Manager over HTTPS',
  );
  for (const upstream of props.upstreams) {
    group.addEgressRule(
      upstream.peer,
      ec2.Port.tcp(upstream.port),
      upstream.description,
    );
  }
  return group;
}

/**
 * Install, write, check, start, and wait until nginx answers. `set -e` makes any failure end the script
 * with a non-zero status, which the exit trap sends to CloudFormation as a failed signal.
 */
function nginxInstallCommands(
  scope: Construct,
  nginxConf: string,
  lifecycle: AgentLifecycle | undefined,
): string[] {
  return [
    'set -euo pipefail',
    dnfInstallWithRetry(['nginx', 'aws-cfn-bootstrap', AGENT_PACKAGE]),
    ...writeNginxConf(scope, nginxConf),
    'nginx -t',
    'systemctl enable --now nginx',
    `curl -fsS --retry 10 --retry-connrefused --retry-delay 1 http://${NGINX_STATUS_LISTEN}${HEALTH_PATH}`,
    // Open-source nginx checks backends only passively: the agent marks a hung or unreachable one down.
    ...agentInstallCommands(undefined, lifecycle),
  ];
}

/**
 * Writes nginx.conf gzipped and base64-encoded: EC2 takes at most 16 KB of user data, and the cookie strategy's
 * config grows with the square of the app servers (each route upstream lists them all). Its CDK tokens (the
 * app servers' and NAT gateways' addresses) only resolve at deploy time, so each distinct one is replaced by a
 * placeholder before compressing, and sed puts the token back on the node: CloudFormation resolves it inside
 * the user data's Fn::Join, in the sed expression. That is safe because every token here is checked to be an
 * address or a CIDR block (`addressValued`), which cannot carry sed's `|`, `&` or `\`, nor the shell's `'`.
 * `pipefail` fails the script on a bad decode; `nginx -t` then checks what was written.
 */
function writeNginxConf(scope: Construct, nginxConf: string): string[] {
  if (nginxConf.includes(PLACEHOLDER_PREFIX))
    throw new Error(
      `nginx.conf contains the placeholder ${PLACEHOLDER_PREFIX}`,
    );
  const tokens = [...new Set(nginxConf.match(STRING_TOKEN) ?? [])];
  const placeholder = (i: number) => `${PLACEHOLDER_PREFIX}${i}@`;
  const text = tokens.reduce(
    (conf, token, i) => conf.replaceAll(token, placeholder(i)),
    nginxConf,
  );
  // A list token's element (`#{Token[…]}`) cannot stand in a string at all: CDK refuses it in the user data too.
  if (Token.isUnresolved(text) || text.includes('#{Token['))
    throw new Error('nginx.conf holds a CDK token the placeholders miss');
  const stack = Stack.of(scope);
  for (const token of tokens)
    if (!addressValued(stack.resolve(token)))
      throw new Error(
        `nginx.conf holds a token that is not an address or CIDR block, which sed cannot be trusted with: ${JSON.stringify(stack.resolve(token))}`,
      );
  const sed = tokens
    .map((token, i) => ` -e 's|${placeholder(i)}|${token}|g'`)
    .join('');
  return [
    `base64 -d <<'${NGINX_CONF_END}' | gunzip${sed === '' ? '' : ` | sed${sed}`} > ${NGINX_CONF_PATH}`,
    ...compressedLines(text),
    NGINX_CONF_END,
  ];
}

/**
 * True when a resolved CloudFormation value can only be an IP address or CIDR block (or a list of them): an
 * address attribute, Fn::Cidr (CIDR blocks), and Fn::Select or Fn::Join over such values and address-like
 * literals. Anything else (a Ref to a parameter, a name) is refused: its text is not known to be sed-safe.
 */
function addressValued(value: unknown): boolean {
  if (typeof value === 'number') return true;
  if (typeof value === 'string') return /^[0-9A-Za-z.:/]*$/.test(value);
  if (Array.isArray(value)) return value.every(addressValued);
  if (value === null || typeof value !== 'object') return false;
  const entries = Object.entries(value);
  if (entries.length !== 1) return false;
  const [intrinsic, args] = entries[0];
  if (!Array.isArray(args)) return false;
  switch (intrinsic) {
    case 'Fn::GetAtt':
      return ADDRESS_ATTRIBUTES.has(args[1]);
    case 'Fn::Cidr':
      return true;
    case 'Fn::Select':
      return addressValued(args[1]);
    case 'Fn::Join':
      return addressValued(args[0]) && addressValued(args[1]);
    default:
      return false;
  }
}
