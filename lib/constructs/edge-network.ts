import { Fn } from 'aws-cdk-lib';
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
  /**
   * Dual stack: an Amazon-provided IPv6 /56 for the VPC and a /64 for every subnet, so the load balancer can
   * take IPv6 clients. Only the nginx subnets give a new network interface an IPv6 address, for the post-deploy
   * check's IPv6 visitors; the load balancer, the NAT gateways and the app servers need none from the subnet.
   * @default false - IPv4 only
   */
  readonly ipv6?: boolean;
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
  /** Whether the VPC and its subnets have IPv6 blocks (the `ipv6` prop). */
  readonly ipv6: boolean;

  constructor(scope: Construct, id: string, props: EdgeNetworkProps = {}) {
    super(scope, id);
    this.ipv6 = props.ipv6 ?? false;
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
      // Dual stack (aws-cdk-lib ec2.Vpc): a CfnVPCCidrBlock with the Amazon-provided /56, a /64 per subnet,
      // `::/0` to the internet gateway from the public subnets, and an egress-only internet gateway with `::/0`
      // for the private ones, which CDK adds whenever there are private subnets. Nothing there sends IPv6 to the
      // internet: the nginx nodes' security group allows IPv4 egress only and the check's only to the load
      // balancer's subnets, inside the VPC. The NAT gateways and their one Elastic IP stay IPv4 only.
      ...(this.ipv6
        ? {
            ipProtocol: ec2.IpProtocol.DUAL_STACK,
            ipv6Addresses: ec2.Ipv6Addresses.amazonProvided(),
          }
        : {}),
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
          ...this.ipv6AssignAddressOnCreation(false),
        },
        {
          name: NGINX,
          subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
          cidrMask: 24,
          // The post-deploy check's Lambda network interfaces live here and need an IPv6 address for its IPv6
          // visitors. The nginx nodes get one too, unused: their security group admits and sends IPv4 only.
          ...this.ipv6AssignAddressOnCreation(true),
        },
        {
          name: APP,
          subnetType: ec2.SubnetType.PUBLIC,
          cidrMask: 24,
          mapPublicIpOnLaunch: false,
          ...this.ipv6AssignAddressOnCreation(false),
        },
      ],
    });
    logVpcTraffic(this.vpc);
  }

  /**
   * The IPv6 /64 of each load-balancer subnet (tokens until deploy): where a dualstack load balancer's IPv6
   * addresses are. Empty in an IPv4-only VPC.
   */
  loadBalancerIpv6Cidrs(): string[] {
    if (!this.ipv6) return [];
    return this.vpc
      .selectSubnets(this.loadBalancerSubnets)
      .subnets.map((subnet) =>
        Fn.select(0, (subnet as ec2.Subnet).subnetIpv6CidrBlocks),
      );
  }

  /** CDK refuses the subnet option in an IPv4-only VPC (and defaults it to true in a dual-stack one). */
  private ipv6AssignAddressOnCreation(assign: boolean): {
    ipv6AssignAddressOnCreation?: boolean;
  } {
    return this.ipv6 ? { ipv6AssignAddressOnCreation: assign } : {};
  }
}
