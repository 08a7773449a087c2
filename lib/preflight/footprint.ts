/**
 * What one synthesized stage takes of the per-region default quotas it touches, counted from its
 * CloudFormation template (a plain JSON object; no CDK imports), so the numbers never drift from the template.
 */

/**
 * AWS's default quotas. Sources: Amazon VPC User Guide, "Amazon VPC quotas"
 * (https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html) and Amazon EC2 User Guide,
 * "Elastic IP address quota" (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/elastic-ip-addresses-eip.html#using-instance-addressing-limit).
 */
export const DEFAULT_QUOTAS = {
  /** "Elastic IP addresses per Region: 5" (VPC quotas; EC2 guide, Elastic IP address quota). */
  elasticIps: 5,
  /** "VPCs per Region: 5". */
  vpcs: 5,
  /** "Internet gateways per Region: 5" (raised together with VPCs per Region; one per VPC). */
  internetGateways: 5,
  /** "Egress-only internet gateways per Region: 5" (a dual-stack VPC's private subnets route IPv6 out through one). */
  egressOnlyInternetGateways: 5,
  /** "NAT gateways per Availability Zone: 5" (counted in the pending, active and deleting states). */
  natGatewaysPerAz: 5,
  /** "VPC security groups per Region: 2,500" (older guides: per VPC; either way far from what a stage uses). */
  securityGroups: 2500,
  /**
   * "Inbound or outbound rules per security group: 60", enforced separately for IPv4 and IPv6 rules; a rule
   * that references a security group or prefix list counts as one IPv4 and one IPv6 rule.
   */
  rulesPerSecurityGroup: 60,
} as const;

/**
 * What a region holds before anyone deploys: the default VPC, with its internet gateway and its default
 * security group (VPC User Guide, "Default VPCs": every region of an account created since 2013-12-04 has one).
 */
export const DEFAULT_VPC_USAGE = {
  vpcs: 1,
  internetGateways: 1,
  /** The default VPC has no IPv6 block and no egress-only internet gateway. */
  egressOnlyInternetGateways: 0,
  securityGroups: 1,
} as const;

export interface RuleCount {
  readonly ipv4: number;
  readonly ipv6: number;
}

export interface SecurityGroupRules {
  readonly inbound: RuleCount;
  readonly outbound: RuleCount;
}

export interface QuotaFootprint {
  readonly elasticIps: number;
  readonly vpcs: number;
  readonly internetGateways: number;
  /** With `ipv6=true`: CDK's dual-stack VPC adds one for its private subnets. */
  readonly egressOnlyInternetGateways: number;
  /**
   * NAT gateways per zone. A zone is its literal name, or `GetAZs[i]` for `Fn::Select [i, Fn::GetAZs]`
   * (the region's i-th zone), or `unknown` when the template does not say.
   */
  readonly natGatewaysPerAz: Readonly<Record<string, number>>;
  /** Security groups per VPC logical ID, the default security group every new VPC brings included. */
  readonly securityGroupsPerVpc: Readonly<Record<string, number>>;
  /** Rules per security group logical ID. */
  readonly rulesPerSecurityGroup: Readonly<Record<string, SecurityGroupRules>>;
}

type Json = Record<string, any>;

interface Resource {
  readonly Type: string;
  readonly Properties?: Json;
}

/** Counts the quota footprint of one synthesized template (`{ Resources: { id: { Type, Properties } } }`). */
export function quotaFootprint(template: {
  Resources?: Record<string, unknown>;
}): QuotaFootprint {
  const resources = Object.entries(
    (template.Resources ?? {}) as Record<string, Resource>,
  );
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
  const byId = new Map(resources);
  const vpcs = ofType('AWS::EC2::VPC');
  return {
    elasticIps: ofType('AWS::EC2::EIP').length,
    vpcs: vpcs.length,
    internetGateways: ofType('AWS::EC2::InternetGateway').length,
    egressOnlyInternetGateways: ofType('AWS::EC2::EgressOnlyInternetGateway')
      .length,
    natGatewaysPerAz: natGatewaysPerAz(ofType('AWS::EC2::NatGateway'), byId),
    securityGroupsPerVpc: securityGroupsPerVpc(
      vpcs.map(([id]) => id),
      ofType('AWS::EC2::SecurityGroup'),
    ),
    rulesPerSecurityGroup: rulesPerSecurityGroup(resources),
  };
}

/** The logical ID a `{ Ref }` or `{ Fn::GetAtt }` points at, or undefined for anything else. */
function referenced(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Json;
  if (typeof v.Ref === 'string') return v.Ref;
  if (Array.isArray(v['Fn::GetAtt'])) return v['Fn::GetAtt'][0];
  return undefined;
}

/** A subnet's zone: a literal name, `GetAZs[i]` for `Fn::Select [i, Fn::GetAZs …]`, else `unknown`. */
export function zoneOf(availabilityZone: unknown): string {
  if (typeof availabilityZone === 'string') return availabilityZone;
  const select = (availabilityZone as Json | undefined)?.['Fn::Select'];
  if (
    Array.isArray(select) &&
    select[1] !== null &&
    typeof select[1] === 'object' &&
    'Fn::GetAZs' in select[1]
  ) {
    const index = Number(select[0]);
    if (Number.isInteger(index)) return `GetAZs[${index}]`;
  }
  return 'unknown';
}

function natGatewaysPerAz(
  gateways: [string, Resource][],
  byId: Map<string, Resource>,
): Record<string, number> {
  const perAz: Record<string, number> = {};
  for (const [, gateway] of gateways) {
    const subnetId = referenced(gateway.Properties?.SubnetId);
    const subnet = subnetId === undefined ? undefined : byId.get(subnetId);
    const zone = zoneOf(subnet?.Properties?.AvailabilityZone);
    perAz[zone] = (perAz[zone] ?? 0) + 1;
  }
  return perAz;
}

/** A group without a VpcId goes to the region's default VPC, counted under `default`. */
function securityGroupsPerVpc(
  vpcIds: string[],
  groups: [string, Resource][],
): Record<string, number> {
  // Every new VPC comes with its own default security group (VPC User Guide, "Default security groups").
  const perVpc: Record<string, number> = Object.fromEntries(
    vpcIds.map((id) => [id, 1]),
  );
  for (const [, group] of groups) {
    const vpc = referenced(group.Properties?.VpcId) ?? 'default';
    perVpc[vpc] = (perVpc[vpc] ?? 0) + 1;
  }
  return perVpc;
}

/**
 * How one rule counts: a CIDR rule for its own family, a group reference for both. A prefix-list reference
 * really counts as the list's maximum entries (VPC quotas, "Maximum number of entries per prefix list"), which
 * a template does not show: it is counted as one of each here, a lower bound (the stack references none).
 */
function ruleCount(rule: Json): RuleCount {
  if (rule.CidrIpv6 !== undefined) return { ipv4: 0, ipv6: 1 };
  if (rule.CidrIp !== undefined) return { ipv4: 1, ipv6: 0 };
  return { ipv4: 1, ipv6: 1 };
}

function add(a: RuleCount, b: RuleCount): RuleCount {
  return { ipv4: a.ipv4 + b.ipv4, ipv6: a.ipv6 + b.ipv6 };
}

const NONE: RuleCount = { ipv4: 0, ipv6: 0 };

function rulesPerSecurityGroup(
  resources: [string, Resource][],
): Record<string, SecurityGroupRules> {
  const standalone: Record<string, { inbound: Json[]; outbound: Json[] }> = {};
  for (const [, r] of resources) {
    const direction =
      r.Type === 'AWS::EC2::SecurityGroupIngress'
        ? 'inbound'
        : r.Type === 'AWS::EC2::SecurityGroupEgress'
          ? 'outbound'
          : undefined;
    if (direction === undefined) continue;
    const group =
      referenced(r.Properties?.GroupId) ??
      String(r.Properties?.GroupId ?? r.Properties?.GroupName ?? 'unknown');
    standalone[group] ??= { inbound: [], outbound: [] };
    standalone[group][direction].push(r.Properties ?? {});
  }
  const count = (rules: Json[]) => rules.map(ruleCount).reduce(add, NONE);
  const counts: Record<string, SecurityGroupRules> = {};
  for (const [id, r] of resources) {
    if (r.Type !== 'AWS::EC2::SecurityGroup') continue;
    const extra = standalone[id] ?? { inbound: [], outbound: [] };
    delete standalone[id];
    const inbound = [
      ...((r.Properties?.SecurityGroupIngress ?? []) as Json[]),
      ...extra.inbound,
    ];
    const outbound = [
      ...((r.Properties?.SecurityGroupEgress ?? []) as Json[]),
      ...extra.outbound,
    ];
    counts[id] = {
      inbound: count(inbound),
      // EC2 gives a new VPC security group an allow-all IPv4 egress rule; CloudFormation removes it once the
      // group gets an egress rule, inline (CloudFormation reference, AWS::EC2::SecurityGroup, SecurityGroupEgress)
      // or as its own resource (observed in aws/aws-cdk#3355: the allow-all rule is replaced).
      outbound: outbound.length === 0 ? { ipv4: 1, ipv6: 0 } : count(outbound),
    };
  }
  // Rules on groups the template does not create (imported by ID).
  for (const [group, rules] of Object.entries(standalone))
    counts[group] = {
      inbound: count(rules.inbound),
      outbound: count(rules.outbound),
    };
  return counts;
}

/** The largest value of a count map (0 when empty). */
export function largest(counts: Readonly<Record<string, number>>): number {
  return Math.max(0, ...Object.values(counts));
}

/** The most rules any one group holds in one direction and one address family. */
export function mostRulesInOneGroup(footprint: QuotaFootprint): number {
  return Math.max(
    0,
    ...Object.values(footprint.rulesPerSecurityGroup).flatMap((g) => [
      g.inbound.ipv4,
      g.inbound.ipv6,
      g.outbound.ipv4,
      g.outbound.ipv6,
    ]),
  );
}

/**
 * What a region still holds for new stacks under the default quotas once the default VPC is counted.
 * The per-AZ and per-group quotas bind each stage alone (a stage's NAT gateways can share zones with
 * another's, so they add up per zone too).
 */
export interface RegionRoom {
  readonly elasticIps: number;
  readonly vpcs: number;
  readonly internetGateways: number;
  readonly egressOnlyInternetGateways: number;
  readonly natGatewaysPerAz: number;
  readonly securityGroups: number;
}

export const DEFAULT_REGION_ROOM: RegionRoom = {
  elasticIps: DEFAULT_QUOTAS.elasticIps,
  vpcs: DEFAULT_QUOTAS.vpcs - DEFAULT_VPC_USAGE.vpcs,
  internetGateways:
    DEFAULT_QUOTAS.internetGateways - DEFAULT_VPC_USAGE.internetGateways,
  egressOnlyInternetGateways:
    DEFAULT_QUOTAS.egressOnlyInternetGateways -
    DEFAULT_VPC_USAGE.egressOnlyInternetGateways,
  natGatewaysPerAz: DEFAULT_QUOTAS.natGatewaysPerAz,
  securityGroups:
    DEFAULT_QUOTAS.securityGroups - DEFAULT_VPC_USAGE.securityGroups,
};

/**
 * How many copies of a stack fit in the room (default: a region that holds only its default VPC), and which
 * quota binds first. Zones are assumed shared: every stage's `GetAZs[0]` is the same zone.
 * A stack whose single security group already exceeds the rule quota fits zero times.
 */
export function stagesThatFit(
  footprint: QuotaFootprint,
  room: RegionRoom = DEFAULT_REGION_ROOM,
): { readonly count: number; readonly limitedBy: string } {
  if (mostRulesInOneGroup(footprint) > DEFAULT_QUOTAS.rulesPerSecurityGroup)
    return { count: 0, limitedBy: 'rules per security group' };
  const securityGroups = Object.values(footprint.securityGroupsPerVpc).reduce(
    (a, b) => a + b,
    0,
  );
  const limits: [string, number, number][] = [
    ['Elastic IPs', room.elasticIps, footprint.elasticIps],
    ['VPCs', room.vpcs, footprint.vpcs],
    ['internet gateways', room.internetGateways, footprint.internetGateways],
    [
      'egress-only internet gateways',
      room.egressOnlyInternetGateways,
      footprint.egressOnlyInternetGateways,
    ],
    [
      'NAT gateways per AZ',
      room.natGatewaysPerAz,
      largest(footprint.natGatewaysPerAz),
    ],
    ['security groups', room.securityGroups, securityGroups],
  ];
  let best = { count: Number.POSITIVE_INFINITY, limitedBy: 'nothing' };
  for (const [name, left, used] of limits) {
    if (used === 0) continue;
    const count = Math.floor(Math.max(0, left) / used);
    if (count < best.count) best = { count, limitedBy: name };
  }
  return best;
}

/** Adds footprints, as stacks living side by side in one region (NAT gateways add up zone by zone). */
export function combined(...footprints: QuotaFootprint[]): QuotaFootprint {
  const sum = (pick: (f: QuotaFootprint) => Readonly<Record<string, number>>) =>
    footprints.reduce<Record<string, number>>((acc, f) => {
      for (const [k, v] of Object.entries(pick(f))) acc[k] = (acc[k] ?? 0) + v;
      return acc;
    }, {});
  return {
    elasticIps: footprints.reduce((a, f) => a + f.elasticIps, 0),
    vpcs: footprints.reduce((a, f) => a + f.vpcs, 0),
    internetGateways: footprints.reduce((a, f) => a + f.internetGateways, 0),
    egressOnlyInternetGateways: footprints.reduce(
      (a, f) => a + f.egressOnlyInternetGateways,
      0,
    ),
    natGatewaysPerAz: sum((f) => f.natGatewaysPerAz),
    // Stacks' VPCs and groups have distinct logical IDs per template only: keep them apart by position.
    securityGroupsPerVpc: Object.fromEntries(
      footprints.flatMap((f, i) =>
        Object.entries(f.securityGroupsPerVpc).map(([k, v]) => [
          `${i}:${k}`,
          v,
        ]),
      ),
    ),
    rulesPerSecurityGroup: Object.fromEntries(
      footprints.flatMap((f, i) =>
        Object.entries(f.rulesPerSecurityGroup).map(([k, v]) => [
          `${i}:${k}`,
          v,
        ]),
      ),
    ),
  };
}

/** The distinct zones of a template's subnets (as `zoneOf` names them), sorted. */
export function subnetZones(template: {
  Resources?: Record<string, unknown>;
}): string[] {
  const zones = Object.values(
    (template.Resources ?? {}) as Record<string, Resource>,
  )
    .filter((r) => r.Type === 'AWS::EC2::Subnet')
    .map((r) => zoneOf(r.Properties?.AvailabilityZone));
  return [...new Set(zones)].sort();
}
