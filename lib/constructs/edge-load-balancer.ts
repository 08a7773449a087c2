import { Duration, Validations } from 'aws-cdk-lib';
import { LB_HEALTH_CHECK } from '../nginx/nginx-options';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import type { LbKind } from '../settings';

export interface EdgeLoadBalancerProps {
  /** `nlb`: TCP (or TLS) with PROXY v2 to nginx. `alb`: HTTP(S) with X-Forwarded-For. */
  readonly kind: LbKind;
  /** The edge VPC the load balancer and its security group live in. */
  readonly vpc: ec2.IVpc;
  /** Public subnets; nginx trusts exactly their CIDRs, as the load balancer connects from inside them. */
  readonly vpcSubnets: ec2.SubnetSelection;
  /** The nginx nodes. */
  readonly target: autoscaling.AutoScalingGroup;
  /** nginx's traffic port; health checks go to the same port, as they carry the PROXY header too. */
  readonly targetPort: number;
  /** The path nginx answers itself with 200, which the target group's health check requests. */
  readonly healthPath: string;
  /**
   * Terminate TLS on 443 with this certificate.
   * @default - plain HTTP on port 80
   */
  readonly certificate?: elbv2.IListenerCertificate;
  /**
   * How long a leaving nginx node keeps its open connections (the target group's deregistration delay). The
   * Auto Scaling group waits this long before it terminates a node it scales in (activity
   * WaitingForELBConnectionDraining) before its termination lifecycle hook, if any, or terminating it.
   * @default Duration.seconds(30) - short, as sandbox deploys replace nodes often
   */
  readonly deregistrationDelay?: Duration;
  /**
   * NLB: reset the connections still open at the end of the deregistration delay
   * (`deregistration_delay.connection_termination.enabled`). Off when a lifecycle hook keeps a node for its
   * WebSockets beyond the delay: an NLB keeps forwarding a deregistered target's established connections
   * otherwise. An ALB has no such attribute.
   * @default true
   */
  readonly closeConnectionsAfterDelay?: boolean;
  /**
   * Dualstack: the load balancer takes IPv6 clients as well (its DNS name answers AAAA too), and its listener
   * ports admit `::/0` beside `0.0.0.0/0`. The targets stay IPv4: a load balancer "communicates with targets
   * based on the IP address type of the target group" (ELB NLB guide, "Update the IP address types for your
   * Network Load Balancer"), so nginx still sees connections from the load balancer's private IPv4 addresses in
   * `vpcSubnets` and trusts only those; the client's IPv6 address reaches it in the PROXY v2 header (NLB) or
   * X-Forwarded-For (ALB). `vpcSubnets` must have IPv6 blocks and a `::/0` route (same guide, "Dualstack
   * requirements").
   * @default false - IPv4 only
   */
  readonly ipv6?: boolean;
}

const DEREGISTRATION_DELAY = Duration.seconds(30);
const HEALTH_CHECK_INTERVAL = Duration.seconds(LB_HEALTH_CHECK.intervalSeconds);

/**
 * The internet-facing load balancer in front of nginx, with its own security group: clients reach its
 * listener ports, and nginx admits only this group. With a certificate it listens on 443 only: an NLB closes
 * port 80 (it cannot redirect), an ALB redirects 80 to 443.
 */
export class EdgeLoadBalancer extends Construct {
  readonly loadBalancer:
    elbv2.NetworkLoadBalancer | elbv2.ApplicationLoadBalancer;
  readonly securityGroup: ec2.SecurityGroup;
  readonly targetGroup: elbv2.NetworkTargetGroup | elbv2.ApplicationTargetGroup;
  /** The ports open to the internet. */
  readonly listenerPorts: readonly number[];
  /** `http://DNS` or `https://DNS`. */
  readonly url: string;
  /** Whether the load balancer is dualstack (the `ipv6` prop). */
  readonly ipv6: boolean;

  constructor(scope: Construct, id: string, props: EdgeLoadBalancerProps) {
    super(scope, id);
    this.ipv6 = props.ipv6 ?? false;
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `${props.kind.toUpperCase()}: listener ports from the internet, out to nginx only`,
      allowAllOutbound: false,
    });
    const wired =
      props.kind === 'nlb'
        ? networkLoadBalancer(this, props)
        : applicationLoadBalancer(this, props);
    this.loadBalancer = wired.loadBalancer;
    this.targetGroup = wired.targetGroup;
    this.listenerPorts = wired.listenerPorts;
    this.url = `${props.certificate === undefined ? 'http' : 'https'}://${this.loadBalancer.loadBalancerDnsName}`;
    const clients = this.ipv6
      ? [ec2.Peer.anyIpv4(), ec2.Peer.anyIpv6()]
      : [ec2.Peer.anyIpv4()];
    for (const port of this.listenerPorts) {
      for (const peer of clients) {
        this.securityGroup.addIngressRule(
          peer,
          ec2.Port.tcp(port),
          'clients from the internet',
        );
      }
    }
    // An NLB listener opens no security-group rule towards its targets (an ALB's opens this same one): nginx
    // admits the load balancer's group, and nothing else.
    props.target.connections.allowFrom(
      this.loadBalancer,
      ec2.Port.tcp(props.targetPort),
      'traffic and health checks from the load balancer',
    );
    Validations.of(this.securityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        'An internet-facing load balancer: its listener ports are open to every IPv4 client (and IPv6 client, when dualstack) by design',
    });
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'Sandbox: access logs need a log bucket that outlives `cdk destroy`; nginx logs every request with the client address it derived',
    });
  }
}

/**
 * Dualstack keeps the load balancer's public IPv4 addresses: `dualstack-without-public-ipv4` (ALB only) would
 * shut out IPv4-only clients. Unset otherwise, which is ELB's `ipv4`, so an IPv4 stack's template is unchanged.
 */
function ipAddressType(
  props: EdgeLoadBalancerProps,
): elbv2.IpAddressType | undefined {
  return props.ipv6 ? elbv2.IpAddressType.DUAL_STACK : undefined;
}

interface Wired {
  readonly loadBalancer:
    elbv2.NetworkLoadBalancer | elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.NetworkTargetGroup | elbv2.ApplicationTargetGroup;
  readonly listenerPorts: readonly number[];
}

/**
 * PROXY v2 carries the client address, so client IP preservation is off: nginx then sees the NLB's own
 * addresses, inside the NLB's subnets, and trusts only those. NLB health checks carry the PROXY header as
 * well, hence an HTTP check on the traffic port rather than a TCP one nginx would log as a broken header.
 */
function networkLoadBalancer(
  scope: EdgeLoadBalancer,
  props: EdgeLoadBalancerProps,
): Wired {
  const loadBalancer = new elbv2.NetworkLoadBalancer(scope, 'Nlb', {
    vpc: props.vpc,
    vpcSubnets: props.vpcSubnets,
    internetFacing: true,
    ipAddressType: ipAddressType(props),
    securityGroups: [scope.securityGroup],
  });
  const port = props.certificate === undefined ? 80 : 443;
  const listener =
    props.certificate === undefined
      ? loadBalancer.addListener('Tcp', { port, protocol: elbv2.Protocol.TCP })
      : loadBalancer.addListener('Tls', {
          port,
          protocol: elbv2.Protocol.TLS,
          certificates: [props.certificate],
          sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        });
  const targetGroup = listener.addTargets('Nginx', {
    port: props.targetPort,
    protocol: elbv2.Protocol.TCP,
    targets: [props.target],
    proxyProtocolV2: true,
    preserveClientIp: false,
    deregistrationDelay: props.deregistrationDelay ?? DEREGISTRATION_DELAY,
    healthCheck: {
      protocol: elbv2.Protocol.HTTP,
      port: 'traffic-port',
      path: props.healthPath,
      interval: HEALTH_CHECK_INTERVAL,
      healthyThresholdCount: LB_HEALTH_CHECK.healthyThreshold,
      unhealthyThresholdCount: LB_HEALTH_CHECK.healthyThreshold,
    },
  });
  // With it, the NLB resets what is still open at the end of the delay, so the client reconnects at once (to the
  // same backend: every node routes alike) instead of waiting on a connection to an instance that is gone.
  // Without it (the NLB guide, "Deregistration delay": if the deregistered target stays healthy and a connection
  // is not idle, the NLB can continue to send traffic to it), WebSockets live on while the lifecycle hook keeps
  // the node, and the node's health agent closes them itself at the hook's maximum.
  targetGroup.setAttribute(
    'deregistration_delay.connection_termination.enabled',
    String(props.closeConnectionsAfterDelay ?? true),
  );
  return { loadBalancer, targetGroup, listenerPorts: [port] };
}

/**
 * The ALB appends the peer it saw to X-Forwarded-For (the default `append` mode, set explicitly because
 * nginx's realip depends on it) and drops malformed headers.
 */
function applicationLoadBalancer(
  scope: EdgeLoadBalancer,
  props: EdgeLoadBalancerProps,
): Wired {
  const loadBalancer = new elbv2.ApplicationLoadBalancer(scope, 'Alb', {
    vpc: props.vpc,
    vpcSubnets: props.vpcSubnets,
    internetFacing: true,
    ipAddressType: ipAddressType(props),
    securityGroup: scope.securityGroup,
    xffHeaderProcessingMode: elbv2.XffHeaderProcessingMode.APPEND,
    dropInvalidHeaderFields: true,
  });
  const listener =
    props.certificate === undefined
      ? loadBalancer.addListener('Http', {
          port: 80,
          protocol: elbv2.ApplicationProtocol.HTTP,
          open: false,
        })
      : loadBalancer.addListener('Https', {
          port: 443,
          protocol: elbv2.ApplicationProtocol.HTTPS,
          certificates: [props.certificate],
          sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
          open: false,
        });
  if (props.certificate !== undefined)
    loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443, open: false });
  const targetGroup = listener.addTargets('Nginx', {
    port: props.targetPort,
    protocol: elbv2.ApplicationProtocol.HTTP,
    targets: [props.target],
    deregistrationDelay: props.deregistrationDelay ?? DEREGISTRATION_DELAY,
    healthCheck: {
      path: props.healthPath,
      interval: HEALTH_CHECK_INTERVAL,
      healthyThresholdCount: LB_HEALTH_CHECK.healthyThreshold,
      unhealthyThresholdCount: LB_HEALTH_CHECK.healthyThreshold,
    },
  });
  return {
    loadBalancer,
    targetGroup,
    listenerPorts: props.certificate === undefined ? [80] : [80, 443],
  };
}
