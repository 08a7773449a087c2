/**
 * Both instance types offered in every zone the stack uses. Not every type is offered in every zone (t3.micro
 * is not in us-east-1's use1-az3), and an Auto Scaling group or instance in such a zone fails the deploy.
 */
import {
  DescribeAvailabilityZonesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  paginateDescribeInstanceTypeOfferings,
} from '@aws-sdk/client-ec2';
import { fail, ok, PreflightCheck, PreflightInput } from '../check';

const CHECK = 'instance types in the zones';

/**
 * The region's available zones (not Local or Wavelength Zones) in alphabetical order, and among them the
 * ones `Fn::GetAZs` returns: only those with a default subnet, unless none has one (CloudFormation Template
 * Reference, "Fn::GetAZs"). A zone named in `availabilityZones` needs no default subnet.
 */
export async function regionZones(
  ec2: EC2Client,
): Promise<{ available: string[]; getAzs: string[] }> {
  const [zones, defaults] = await Promise.all([
    ec2.send(
      new DescribeAvailabilityZonesCommand({
        Filters: [
          { Name: 'zone-type', Values: ['availability-zone'] },
          { Name: 'state', Values: ['available'] },
        ],
      }),
    ),
    ec2.send(
      new DescribeSubnetsCommand({
        Filters: [{ Name: 'default-for-az', Values: ['true'] }],
      }),
    ),
  ]);
  const available = (zones.AvailabilityZones ?? [])
    .map((z) => z.ZoneName)
    .filter((name): name is string => name !== undefined)
    .sort();
  const withDefaultSubnet = new Set(
    (defaults.Subnets ?? []).map((s) => s.AvailabilityZone),
  );
  return {
    available,
    getAzs:
      withDefaultSubnet.size === 0
        ? available
        : available.filter((zone) => withDefaultSubnet.has(zone)),
  };
}

/** The zones the stage will use: the `availabilityZones` setting, else the template's (`GetAZs[i]` resolved). */
function stageZones(input: PreflightInput, getAzs: string[]): string[] {
  if (input.settings.availabilityZones !== undefined)
    return [...input.settings.availabilityZones];
  return input.need.zones.map((zone) => {
    const index = /^GetAZs\[(\d+)\]$/.exec(zone)?.[1];
    return index === undefined
      ? zone
      : (getAzs[Number(index)] ?? `(none: ${zone})`);
  });
}

async function offerings(
  ec2: EC2Client,
  types: string[],
): Promise<Map<string, Set<string>>> {
  const byZone = new Map<string, Set<string>>();
  const pages = paginateDescribeInstanceTypeOfferings(
    { client: ec2 },
    {
      LocationType: 'availability-zone',
      Filters: [{ Name: 'instance-type', Values: types }],
    },
  );
  for await (const page of pages) {
    for (const offering of page.InstanceTypeOfferings ?? []) {
      if (
        offering.Location === undefined ||
        offering.InstanceType === undefined
      )
        continue;
      const offered = byZone.get(offering.Location) ?? new Set<string>();
      offered.add(offering.InstanceType);
      byZone.set(offering.Location, offered);
    }
  }
  return byZone;
}

export const instanceTypes: PreflightCheck = {
  name: CHECK,
  permissions: [
    'ec2:DescribeAvailabilityZones',
    'ec2:DescribeSubnets',
    'ec2:DescribeInstanceTypeOfferings',
  ],
  async run(input) {
    const { ec2 } = input.clients;
    const types = [
      ...new Set([
        input.settings.nginxInstanceType,
        input.settings.appInstanceType,
      ]),
    ];
    const [region, offered] = await Promise.all([
      regionZones(ec2),
      offerings(ec2, types),
    ]);
    const zones = stageZones(input, region.getAzs);
    const offersAll = (zone: string) =>
      types.every((type) => offered.get(zone)?.has(type) === true);
    const candidates = region.available.filter(offersAll);
    const lacking = zones
      .filter((zone) => !offersAll(zone))
      .map((zone) =>
        region.available.includes(zone)
          ? `${types.filter((t) => offered.get(zone)?.has(t) !== true).join(' and ')} not offered in ${zone}`
          : `${zone} is not an available zone of ${input.region}`,
      );
    const typeList = types.join(' and ');
    if (lacking.length === 0)
      return ok(CHECK, `${typeList} offered in ${zones.join(', ')}`);
    const action =
      candidates.length >= zones.length
        ? `deploy with -c availabilityZones=${candidates.slice(0, zones.length).join(',')} (zones that offer ${typeList})`
        : `choose instance types offered in ${zones.length} zones of ${input.region} (-c nginxInstanceType=… -c appInstanceType=…); ${candidates.length === 0 ? 'no zone' : `only ${candidates.join(', ')}`} offers ${typeList}`;
    return fail(CHECK, lacking.join('; '), action);
  },
};
