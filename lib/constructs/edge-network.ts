import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { logVpcTraffic } from './ec2-baseline';

/**
 * The edge VPC: public subnets for the load balancer and the NAT gateways, private subnets with egress for
 * nginx, across two Availability Zones. Every connection nginx opens to the app tier leaves through a NAT
 * gateway whose Elastic IP this construct creates, so the app tier can admit exactly those addresses.
 */
export class EdgeNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  /** One Elastic IP per NAT gateway (one gateway per AZ, so losing an AZ does not cut the other off). */
  readonly natEips: readonly ec2.CfnEIP[];
  /** The NAT gateways' public addresses (tokens until deploy). */
  readonly natAddresses: readonly string[];
  /** Where the load balancer and the NAT gateways sit. */
  readonly loadBalancerSubnets: ec2.SubnetSelection = {
    subnetType: ec2.SubnetType.PUBLIC,
  };
  /** Where nginx runs: no public addresses, out through NAT. */
  readonly nginxSubnets: ec2.SubnetSelection = {
    subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
  };

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.natEips = [
      new ec2.CfnEIP(this, 'NatEipA', { domain: 'vpc' }),
      new ec2.CfnEIP(this, 'NatEipB', { domain: 'vpc' }),
    ];
    this.natAddresses = this.natEips.map((eip) => eip.attrPublicIp);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      maxAzs: 2,
      natGateways: this.natEips.length,
      natGatewayProvider: ec2.NatProvider.gateway({
        eipAllocationIds: this.natEips.map((eip) => eip.attrAllocationId),
      }),
      subnetConfiguration: [
        // Nothing launched here needs a public address: the NAT gateways and the load balancer bring their own.
        {
          name: 'LoadBalancer',
          subnetType: ec2.SubnetType.PUBLIC,
          cidrMask: 24,
          mapPublicIpOnLaunch: false,
        },
        {
          name: 'Nginx',
          subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
          cidrMask: 24,
        },
      ],
    });
    logVpcTraffic(this.vpc);
  }
}
