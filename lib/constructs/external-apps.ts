import { Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct, DependencyGroup, IDependable } from 'constructs';
import { backendInstallCommands } from '../backend/install';
import {
  INSTANCE_ROOT_VOLUME,
  SSM_MANAGED_POLICY_REASON,
} from './ec2-baseline';
import { dnfInstallWithRetry } from '../os/dnf-install';

export interface ExternalAppsProps {
  /** The VPC the app servers run in (the edge VPC: one VPC per stage keeps two stages within the default quotas). */
  readonly vpc: ec2.IVpc;
  /** Public subnets; the servers alternate between the first two, and each gets a public IPv4 address at launch. */
  readonly vpcSubnets: ec2.SubnetSelection;
  /** The app servers' instance type. */
  readonly instanceType: ec2.InstanceType;
  /** The app servers' image: Amazon Linux 2023 (user data installs Node.js 22 with dnf). */
  readonly machineImage: ec2.IMachineImage;
  /** The port the demo backend listens on. */
  readonly port: number;
  /**
   * Public addresses of the proxies in front (the edge NAT Elastic IPs): the only sources admitted to the
   * app port (one /32 rule each), and the only peers whose X-Forwarded-For the backend believes.
   */
  readonly proxyAddresses: readonly string[];
  /**
   * How many app servers: `app-a`, `app-b`, … alternating between the first two subnets (one per AZ).
   * @default 2
   */
  readonly count?: number;
}

/** The app servers' letters, in the order they are added (`app-a` first); as many as `appCount` allows. */
const APP_LETTERS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] as const;

/**
 * App servers standing in for the seed's "external servers": `count` of them, alternating between the two AZs'
 * public subnets, each with an auto-assigned public IPv4 address that nginx dials through the NAT, so they see
 * what a server outside AWS would see (the NAT's Elastic IP) and admit nothing else. Traffic from the private
 * subnets to a public address of the same VPC follows the private route table (0.0.0.0/0 to the NAT gateway), and a public NAT gateway
 * sends it to the internet gateway with its Elastic IP as the source (VPC User Guide, "NAT gateways"); the
 * internet gateway turns it back to the instance's public address (the "hairpin" described in
 * unix.stackexchange.com/questions/711850). No AWS page we found states the same-VPC hairpin in so many
 * words, so the post-deploy check proves it on every deploy: it fails unless each backend saw exactly the NAT
 * gateways' addresses as its TCP peer.
 */
export class ExternalApps extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly servers: readonly AppServer[];
  /** Complete when every server has signalled a running backend. */
  readonly ready: IDependable;

  constructor(scope: Construct, id: string, props: ExternalAppsProps) {
    super(scope, id);
    this.securityGroup = appSecurityGroup(this, props.vpc, props);
    const subnets = props.vpc.selectSubnets(props.vpcSubnets).subnets;
    if (subnets.length < 2)
      throw new Error('ExternalApps needs two subnets, one per AZ');
    const count = props.count ?? 2;
    if (!Number.isInteger(count) || count < 1 || count > APP_LETTERS.length)
      throw new Error(
        `ExternalApps count must be a whole number from 1 to ${APP_LETTERS.length}, got ${count}`,
      );
    const serverProps = { ...props, securityGroup: this.securityGroup };
    // Server i is named by its letter (construct AppA, route id app-a) and alternates between the first two
    // subnets: adding a server never renames or moves one, so no logical ID and no cookie route changes.
    this.servers = APP_LETTERS.slice(0, count).map(
      (letter, i) =>
        new AppServer(this, `App${letter.toUpperCase()}`, {
          ...serverProps,
          name: `app-${letter}`,
          subnet: subnets[i % 2],
        }),
    );
    this.ready = new DependencyGroup(
      ...this.servers.map((server) => server.ready),
    );
  }
}

function appSecurityGroup(
  scope: Construct,
  vpc: ec2.IVpc,
  props: ExternalAppsProps,
): ec2.SecurityGroup {
  const group = new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc,
    description: 'App servers: the app port from the edge NAT addresses only',
    allowAllOutbound: false,
  });
  for (const address of props.proxyAddresses) {
    group.addIngressRule(
      ec2.Peer.ipv4(`${address}/32`),
      ec2.Port.tcp(props.port),
      'nginx through an edge NAT gateway',
    );
  }
  group.addEgressRule(
    ec2.Peer.anyIpv4(),
    ec2.Port.tcp(443),
    'dnf repositories, CloudFormation signals and Session Manager over HTTPS',
  );
  Validations.of(group).acknowledge({
    id: 'AwsSolutions-EC23',
    reason:
      'The rule cannot evaluate ingress built from the NAT Elastic IPs (Fn::Join of each address and /32); every ingress is one NAT address /32, asserted in test/cdk',
  });
  return group;
}

export interface AppServerProps extends ExternalAppsProps {
  /** What the backend reports as `backend` and the route id in nginx's config. */
  readonly name: string;
  /** The public subnet the server runs in (it gets a public IPv4 address at launch). */
  readonly subnet: ec2.ISubnet;
  /** The app servers' shared security group (the app port from the proxies' addresses only). */
  readonly securityGroup: ec2.ISecurityGroup;
}

/**
 * One app instance running the demo backend, with an auto-assigned public IPv4 address (not an Elastic IP, so
 * it does not count against the region's Elastic IP quota). Replacing the instance changes the address; nginx's
 * config is rendered from it, so the nginx tier rolls to the new one.
 */
export class AppServer extends Construct {
  readonly name: string;
  readonly instance: ec2.Instance;
  /** The public address nginx dials (a token until deploy). */
  readonly address: string;
  /** `address:port`, as nginx's upstream names it. */
  readonly endpoint: string;
  readonly ready: IDependable;

  constructor(scope: Construct, id: string, props: AppServerProps) {
    super(scope, id);
    this.name = props.name;
    const userData = ec2.UserData.forLinux();
    this.instance = new ec2.Instance(this, 'Instance', {
      vpc: props.vpc,
      vpcSubnets: { subnets: [props.subnet] },
      instanceType: props.instanceType,
      machineImage: props.machineImage,
      securityGroup: props.securityGroup,
      associatePublicIpAddress: true,
      userData,
      userDataCausesReplacement: true,
      requireImdsv2: true,
      blockDevices: [INSTANCE_ROOT_VOLUME],
      ssmSessionPermissions: true,
    });
    userData.addCommands(
      'set -euo pipefail',
      dnfInstallWithRetry(['aws-cfn-bootstrap']),
      ...backendInstallCommands({
        name: props.name,
        port: props.port,
        trustedProxies: props.proxyAddresses,
      }),
    );
    userData.addSignalOnExitCommand(this.instance);
    // The stack waits for the backend to be installed and running, not just for the instance to boot.
    this.instance.instance.cfnOptions.creationPolicy = {
      resourceSignal: { count: 1, timeout: Duration.minutes(15).toIsoString() },
    };
    this.address = this.instance.instancePublicIp;
    this.endpoint = `${this.address}:${props.port}`;
    this.ready = this.instance;
    Validations.of(this.instance.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: SSM_MANAGED_POLICY_REASON,
    });
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-EC28',
      reason:
        'Sandbox demo server: 5-minute basic monitoring is enough and detailed monitoring is billed per instance',
    });
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-EC29',
      reason:
        'Sandbox demo server with no state: `cdk destroy` must be able to terminate it',
    });
  }
}
