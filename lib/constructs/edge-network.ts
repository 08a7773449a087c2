import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { logVpcTraffic } from './ec2-baseline';

export interface EdgeNetworkProps {
  /**
   * NAT gateways, each with its own Elastic IP: 1 (the default) sends both AZs' egress through the first AZ;
   * 2 puts one in each AZ, so losing an AZ does not cut the other off, for one more Elastic IP and one more
   * NAT gateway's hourly charge.
   * @default 1
   */
  readonly natGateways?: 1 | 2;
  /**
   * The two Availability Zones by name, all in the stack's region.
   * @default - the region's first two zones (`Fn::GetAZs`), resolved at deploy time
   */
  readonly availabilityZones?: readonly string[];
}

/** The subnet groups, by name; one subnet of each per AZ. */
const LOAD_BALANCER = 'LoadBalancer';
const APP = 'App';
const NGINX = 'Nginx';

/**
 * The stage's one VPC, across two Availability Zones: public subnets for the load balancer and the NAT
 * gateway(s), public subnets for the app servers (a public IPv4 address each), and private subnets with egress
 * for nginx. Every connection nginx opens to the app servers' public addresses leaves through a NAT gateway
 * whose Elastic IP this construct creates, so the app servers can admit exactly those addresses.
 */
export class EdgeNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  /** One Elastic IP per NAT gateway. */
  readonly natEips: readonly ec2.CfnEIP[];
  /** The NAT gateways' public addresses (tokens until deploy). */
  readonly natAddresses: readonly string[];
  /** Where the load balancer and the NAT gateways sit. */
  readonly loadBalancerSubnets: ec2.SubnetSelection = {
    subnetGroupName: LOAD_BALANCER,
  };
  /** Where the app servers sit: public, apart from the load balancer's subnets nginx trusts. */
  readonly appSubnets: ec2.SubnetSelection = { subnetGroupName: APP };
  /** Where nginx runs: no public addresses, out through NAT. */
  readonly nginxSubnets: ec2.SubnetSelection = { subnetGroupName: NGINX };

  constructor(scope: Construct, id: string, props: EdgeNetworkProps = {}) {
    super(scope, id);
    // The logical IDs NatEipA and NatEipB are pinned in test/cdk: replacing one changes the address the app
    // servers admit.
    this.natEips = ['NatEipA', 'NatEipB']
      .slice(0, props.natGateways ?? 1)
      .map((eipId) => new ec2.CfnEIP(this, eipId, { domain: 'vpc' }));
    this.natAddresses = this.natEips.map((eip) => eip.attrPublicIp);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      // Zone names given are written into the template as they are: no lookup, synth stays offline.
      ...(props.availabilityZones === undefined
        ? { maxAzs: 2 }
        : { availabilityZones: [...props.availabilityZones] }),
      natGateways: this.natEips.length,
      natGatewaySubnets: this.loadBalancerSubnets,
      natGatewayProvider: ec2.NatProvider.gateway({
        eipAllocationIds: this.natEips.map((eip) => eip.attrAllocationId),
      }),
      subnetConfiguration: [
        // Nothing is given a public address at launch by default: the NAT gateways and the load balancer bring
        // their own, and the app servers ask for one each.
        {
          name: LOAD_BALANCER,
          subnetType: ec2.SubnetType.PUBLIC,
          cidrMask: 24,
          mapPublicIpOnLaunch: false,
        },
        {
          name: NGINX,
          subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
          cidrMask: 24,
        },
        {
          name: APP,
          subnetType: ec2.SubnetType.PUBLIC,
          cidrMask: 24,
          mapPublicIpOnLaunch: false,
        },
      ],
    });
    logVpcTraffic(this.vpc);
  }
}
