import { Duration, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { HEALTH_PATH } from '../nginx/render';
import type { EdgeRenderOptions } from '../nginx/render-options';
import { GROUP_ROOT_VOLUME, SSM_MANAGED_POLICY_REASON } from './ec2-baseline';
import {
  amazonLinuxNginxConf,
  NGINX_STATUS_LISTEN,
} from '../nginx/nginx-options';
import { dnfInstallWithRetry } from '../os/dnf-install';
import { AGENT_PACKAGE, agentInstallCommands } from '../agent/install';

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
  /** The app servers' public addresses, the only places nginx may connect to besides HTTPS for packages and SSM. */
  readonly upstreamPeers: readonly ec2.IPeer[];
  /** The app servers' port, the only port nginx's security group lets it connect to them on. */
  readonly upstreamPort: number;
}

/** Heredoc delimiter around nginx.conf in user data; quoted, so the shell expands nothing in between. */
const NGINX_CONF_END = 'STICKY_EDGE_NGINX_CONF';

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
    userData.addCommands(
      ...nginxInstallCommands(amazonLinuxNginxConf(props.renderOptions)),
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
  for (const peer of props.upstreamPeers) {
    group.addEgressRule(
      peer,
      ec2.Port.tcp(props.upstreamPort),
      'an app server through the NAT gateway',
    );
  }
  return group;
}

/**
 * Install, write, check, start, and wait until nginx answers. `set -e` makes any failure end the script
 * with a non-zero status, which the exit trap sends to CloudFormation as a failed signal.
 */
function nginxInstallCommands(nginxConf: string): string[] {
  if (nginxConf.split('\n').includes(NGINX_CONF_END))
    throw new Error(
      `nginx.conf contains the heredoc delimiter ${NGINX_CONF_END}`,
    );
  return [
    'set -euo pipefail',
    dnfInstallWithRetry(['nginx', 'aws-cfn-bootstrap', AGENT_PACKAGE]),
    `cat > /etc/nginx/nginx.conf <<'${NGINX_CONF_END}'`,
    nginxConf.replace(/\n$/, ''),
    NGINX_CONF_END,
    'nginx -t',
    'systemctl enable --now nginx',
    `curl -fsS --retry 10 --retry-connrefused --retry-delay 1 http://${NGINX_STATUS_LISTEN}${HEALTH_PATH}`,
    // Open-source nginx checks backends only passively: the agent marks a hung or unreachable one down.
    ...agentInstallCommands(),
  ];
}
