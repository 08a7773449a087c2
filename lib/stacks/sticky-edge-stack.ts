import {
  CfnOutput,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  StackProps,
  Tags,
  Token,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HEALTH_PATH } from '../nginx/render';
import {
  EdgeSettings,
  regionOfZone,
  SETTING_KEYS,
  SettingsError,
} from '../settings';
import { DeployCheck } from '../constructs/deploy-check';
import { EdgeDashboard } from '../constructs/edge-dashboard';
import { amazonLinux2023 } from '../constructs/ec2-baseline';
import { EdgeLoadBalancer } from '../constructs/edge-load-balancer';
import { EdgeNetwork } from '../constructs/edge-network';
import { AppServer, ExternalApps } from '../constructs/external-apps';
import { nginxRenderOptions, NGINX_TRAFFIC_PORT } from '../nginx/nginx-options';
import { NginxTier } from '../constructs/nginx-tier';

export interface StickyEdgeStackProps extends StackProps {
  /** Validated settings (`parseSettings`): load balancer, strategy, sizes, ports, image, certificate. */
  readonly settings: EdgeSettings;
}

/**
 * The whole path in one stack and one VPC, so a stage deploys and tears down as a unit and two stages fit the
 * default per-region quotas: load balancer → nginx Auto Scaling group (private subnets) → NAT gateway → two
 * app servers at their public addresses.
 */
export class StickyEdgeStack extends Stack {
  readonly settings: EdgeSettings;
  readonly network: EdgeNetwork;
  /** The demo app servers; undefined when `backends` names the team's own. */
  readonly apps?: ExternalApps;
  readonly nginx: NginxTier;
  readonly edge: EdgeLoadBalancer;
  /** nginx's JSON access log, shipped by every node. */
  readonly accessLogGroup: logs.LogGroup;
  readonly dashboard: EdgeDashboard;
  /** Shortcuts to what a post-deploy check needs. */
  readonly autoScalingGroup: NginxTier['autoScalingGroup'];
  readonly loadBalancer: EdgeLoadBalancer['loadBalancer'];
  readonly natEips: readonly ec2.CfnEIP[];
  /** The demo app servers (none with `backends`). */
  readonly appServers: readonly AppServer[];
  /** Every app server nginx proxies to, demo or own, by name: what the outputs and the post-deploy check name. */
  readonly upstreams: readonly EdgeUpstream[];
  readonly url: string;

  constructor(scope: Construct, id: string, props: StickyEdgeStackProps) {
    super(scope, id, props);
    const settings = props.settings;
    const images = machineImages(settings);
    this.settings = settings;
    this.network = new EdgeNetwork(this, 'EdgeNetwork', {
      natGateways: settings.natGateways,
      availabilityZones: zonesInRegion(this, settings),
      ipv6: settings.ipv6,
    });
    if (settings.backends === undefined) {
      this.apps = new ExternalApps(this, 'ExternalApps', {
        vpc: this.network.vpc,
        vpcSubnets: this.network.appSubnets,
        instanceType: new ec2.InstanceType(settings.appInstanceType),
        machineImage: images.app,
        port: settings.appPort,
        proxyAddresses: this.network.natAddresses,
        count: settings.appCount,
      });
    }
    this.appServers = this.apps?.servers ?? [];
    this.upstreams =
      settings.backends?.map((b) => ({ ...b, own: true })) ??
      this.appServers.map((server) => ({
        name: server.name,
        host: server.address,
        port: settings.appPort,
        own: false,
      }));
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLog', {
      retention: settings.logRetentionDays as logs.RetentionDays,
      // The log is a sandbox's diagnostics, not a record: `cdk destroy` removes it with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const lbSubnets = this.network.vpc.selectSubnets(
      this.network.loadBalancerSubnets,
    );
    this.nginx = new NginxTier(this, 'Nginx', {
      vpc: this.network.vpc,
      vpcSubnets: this.network.nginxSubnets,
      instanceType: new ec2.InstanceType(settings.nginxInstanceType),
      machineImage: images.nginx,
      minCapacity: settings.nginxMinCapacity,
      maxCapacity: settings.nginxMaxCapacity,
      renderOptions: nginxRenderOptions(settings, {
        trust: lbSubnets.subnets.map((subnet) => subnet.ipv4CidrBlock),
        backends: this.upstreams.map((u) => ({
          address: `${u.host}:${u.port}`,
          id: u.name,
        })),
        // The post-deploy check cannot read the team's own app as it reads the demo backend's JSON: nginx names
        // the backend that answered to the check's source addresses only (see revealBackendTo).
        revealBackendTo:
          settings.backends === undefined
            ? undefined
            : this.network.natAddresses,
      }),
      upstreams: this.upstreams.map((u) => ({
        peer: ec2.Peer.ipv4(`${u.host}/32`),
        port: u.port,
        description: u.own
          ? `own app server ${u.name}`
          : 'an app server through the NAT gateway',
      })),
      scaleCpuPercent: settings.nginxScaleCpuPercent,
      accessLogGroup: this.accessLogGroup,
      webSocketDrainSeconds: settings.nginxWebSocketDrainSeconds,
    });
    // nginx nodes come up (and signal) only once the demo app servers answer at their public addresses.
    if (this.apps !== undefined)
      this.nginx.autoScalingGroup.node.addDependency(this.apps.ready);
    // Unlike ec2.Instance, an Auto Scaling group does not wait for its subnets' NAT routes, and nginx's user data
    // needs them to reach the package repositories.
    this.nginx.autoScalingGroup.node.addDependency(
      this.network.vpc.selectSubnets(this.network.nginxSubnets)
        .internetConnectivityEstablished,
    );
    this.edge = new EdgeLoadBalancer(this, 'LoadBalancer', {
      kind: settings.lb,
      vpc: this.network.vpc,
      vpcSubnets: { subnets: lbSubnets.subnets },
      target: this.nginx.autoScalingGroup,
      targetPort: NGINX_TRAFFIC_PORT,
      healthPath: HEALTH_PATH,
      deregistrationDelay: Duration.seconds(settings.nginxDrainSeconds),
      // With the lifecycle hook a node outlives its deregistration delay, and its WebSockets must too.
      closeConnectionsAfterDelay: settings.nginxWebSocketDrainSeconds === 0,
      ipv6: settings.ipv6,
      certificate:
        settings.certificateArn === undefined
          ? undefined
          : elbv2.ListenerCertificate.fromArn(settings.certificateArn),
    });
    // Runs during deploy once nginx has signalled, the app servers are up and the listener exists; fails the deploy on a failed check.
    new DeployCheck(this, 'DeployCheck', {
      vpc: this.network.vpc,
      vpcSubnets: this.network.nginxSubnets,
      url: this.edge.url,
      listenerPorts: this.edge.listenerPorts,
      sticky: settings.sticky,
      routeCookieName: settings.cookieName,
      // A drained server takes no new session, so the check's fresh visitors cannot show it serving one.
      backends: this.upstreams
        .filter((u) => !settings.drain.includes(u.name))
        .map((u) => ({
          address: u.host,
          port: u.port,
          name: u.name,
        })),
      ownBackends: settings.backends !== undefined,
      executeAfter: [this.nginx, ...(this.apps ? [this.apps] : []), this.edge],
      // The NAT gateways' addresses are what the backends must report: a network change re-runs it too.
      watch: [
        this.network,
        this.nginx,
        ...(this.apps ? [this.apps] : []),
        this.edge,
      ],
      targetHealthCheck: this.edge.targetGroup.healthCheck,
      ipv6: settings.ipv6
        ? { loadBalancerCidrs: this.network.loadBalancerIpv6Cidrs() }
        : undefined,
    });
    this.dashboard = new EdgeDashboard(this, 'Dashboard', {
      accessLogGroup: this.accessLogGroup,
      namespace: `StickyEdge/${settings.stage}`,
      backends: this.upstreams.map((u) => ({
        address: `${u.host}:${u.port}`,
        name: u.name,
      })),
      loadBalancer: this.edge.loadBalancer,
      targetGroup: this.edge.targetGroup,
      autoScalingGroup: this.nginx.autoScalingGroup,
      alarms: settings.alarms,
      backendSharePercent: settings.alarmBackendSharePercent,
    });
    this.autoScalingGroup = this.nginx.autoScalingGroup;
    this.loadBalancer = this.edge.loadBalancer;
    this.natEips = this.network.natEips;
    this.url = this.edge.url;
    if (settings.amiId !== undefined) {
      Validations.of(this).acknowledge({
        id: 'CloudFormation-Validate::W9010',
        reason:
          'amiId pins the image on purpose, so an environment can be rebuilt exactly; without it the stack reads the latest AL2023 from SSM',
      });
    }
    Tags.of(this).add('project', 'sticky-edge');
    Tags.of(this).add('stage', settings.stage);
    this.addOutputs();
  }

  private addOutputs(): void {
    // The load balancer's own DNS name is never on the certificate: over TLS, clients use the certificate's name.
    const tlsHint =
      this.settings.certificateArn === undefined
        ? ''
        : ". With TLS, put your certificate's domain (a CNAME to the load balancer) in place of the host";
    new CfnOutput(this, 'LoadBalancerUrl', {
      value: this.url,
      description: `Open it in a browser and reload${tlsHint}`,
    });
    new CfnOutput(this, 'CurlCommand', {
      value: `curl -s -c sticky-edge.jar -b sticky-edge.jar ${this.url}/`,
      description: `Repeat it: the same backend answers, the hit count grows and clientIp is your address${tlsHint}`,
    });
    if (this.settings.ipv6) {
      // A dualstack load balancer's DNS name answers AAAA as well as A: the same URL reaches it over IPv6.
      new CfnOutput(this, 'LoadBalancerIpv6Url', {
        value: this.url,
        description: `The same name answers AAAA (IPv6) as well as A: a browser on an IPv6 network uses IPv6${tlsHint}`,
      });
      new CfnOutput(this, 'Ipv6CurlCommand', {
        value: `curl -6 -s -c sticky-edge.jar -b sticky-edge.jar ${this.url}/`,
        description: `Over IPv6 only (needs IPv6 where you run it): clientIp is your IPv6 address${tlsHint}`,
      });
    }
    new CfnOutput(this, 'DashboardUrl', {
      value: this.dashboard.url,
      description:
        'Where sessions go: requests and share per backend, re-pinned sessions, 5xx, targets, nginx nodes, latency',
    });
    new CfnOutput(this, 'NatElasticIps', {
      value: Fn.join(
        ',',
        this.natEips.map((eip) => eip.attrPublicIp),
      ),
      description: 'The addresses the app servers see nginx connect from',
    });
    if (this.appServers.length > 0) {
      new CfnOutput(this, 'AppPublicIps', {
        value: Fn.join(
          ',',
          this.appServers.map((server) => server.address),
        ),
        description:
          'The app servers nginx proxies to (port appPort, reachable from the NAT addresses only); they change when an app server is replaced',
      });
    }
    new CfnOutput(this, 'Backends', {
      value: Fn.join(
        ',',
        this.upstreams.map((u) => `${u.name}=${u.host}:${u.port}`),
      ),
      description:
        'Every app server nginx proxies to as NAME=ADDRESS:PORT; NAME is its route id, the access log route and the name the post-deploy check reports',
    });
  }
}

/** One app server nginx proxies to: a demo one the stack creates, or one of the team's own (`backends`). */
export interface EdgeUpstream {
  /** Its route id and the name the outputs and the post-deploy check give it (`app-a`, `backend-1`). */
  readonly name: string;
  /** Its IPv4 address (a token for a demo server until deploy). */
  readonly host: string;
  /** The port it listens on (`appPort` for a demo server). */
  readonly port: number;
  /** True for the team's own server (`backends`), which the stack does not create. */
  readonly own: boolean;
}

/**
 * The zones setting, checked against the stack's region when the stack names one (an environment-agnostic stack
 * learns its region only at deploy time; preflight checks the zones there).
 */
function zonesInRegion(
  stack: Stack,
  settings: EdgeSettings,
): readonly string[] | undefined {
  const zones = settings.availabilityZones;
  if (zones === undefined || Token.isUnresolved(stack.region)) return zones;
  const outside = zones.filter((zone) => regionOfZone(zone) !== stack.region);
  if (outside.length > 0) {
    throw new SettingsError(
      `availabilityZones must be zones of the stack's region ${stack.region}, got ${JSON.stringify(zones.join(','))}`,
    );
  }
  return zones;
}

/**
 * Each tier's image. One pinned AMI runs on both tiers, so both instance types must run its architecture.
 */
function machineImages(settings: EdgeSettings): {
  nginx: ec2.IMachineImage;
  app: ec2.IMachineImage;
} {
  const nginx = architectureOf('nginxInstanceType', settings);
  const app = architectureOf('appInstanceType', settings);
  if (settings.amiId !== undefined && nginx !== app) {
    throw new SettingsError(
      `appInstanceType must have the architecture of nginxInstanceType (${nginx}) when amiId pins one image for both, got ${JSON.stringify(settings.appInstanceType)} (${app})`,
    );
  }
  return {
    nginx: amazonLinux2023(nginx, settings.amiId),
    app: amazonLinux2023(app, settings.amiId),
  };
}

/** Instance classes (`t3`) and sizes (`micro`) aws-cdk-lib knows: its `ec2.InstanceClass` and `ec2.InstanceSize` values. */
const KNOWN_CLASSES = new Set<string>(Object.values(ec2.InstanceClass));
const KNOWN_SIZES = new Set<string>(Object.values(ec2.InstanceSize));

/**
 * An instance type CDK cannot read an architecture from, or whose class or size aws-cdk-lib does not know
 * (`zz9.huge`), is a bad setting, reported as one line, not a crash or a template EC2 refuses at deploy.
 * Checked offline against aws-cdk-lib's lists; the preflight asks the region whether it offers the type.
 */
function architectureOf(
  key: 'nginxInstanceType' | 'appInstanceType',
  settings: EdgeSettings,
): ec2.InstanceArchitecture {
  const [instanceClass, size, ...rest] = settings[key].split('.');
  if (
    rest.length > 0 ||
    !KNOWN_CLASSES.has(instanceClass) ||
    !KNOWN_SIZES.has(size)
  ) {
    throw new SettingsError(
      `${key} must be ${SETTING_KEYS[key]}, got ${JSON.stringify(settings[key])}`,
    );
  }
  try {
    return new ec2.InstanceType(settings[key]).architecture;
  } catch {
    throw new SettingsError(
      `${key} must be ${SETTING_KEYS[key]}, got ${JSON.stringify(settings[key])}`,
    );
  }
}
