/** A pinned `amiId` exists in the deploy region and runs on both instance types' architecture. */
import {
  _InstanceType,
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
} from '@aws-sdk/client-ec2';
import { fail, ok, PreflightCheck, skip } from '../check';

const CHECK = 'pinned image (amiId)';

const errorName = (err: unknown) => String((err as { name?: unknown })?.name);

export const image: PreflightCheck = {
  name: CHECK,
  permissions: ['ec2:DescribeImages', 'ec2:DescribeInstanceTypes'],
  async run(input) {
    const { amiId } = input.settings;
    if (amiId === undefined)
      return skip(
        CHECK,
        'no amiId: each tier runs the latest Amazon Linux 2023 for its architecture',
      );
    const { ec2 } = input.clients;
    const latest = `find ${input.region}'s Amazon Linux 2023 image with aws ssm get-parameter --region ${input.region} --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 (or -arm64), or drop -c amiId`;
    let found;
    try {
      found = (await ec2.send(new DescribeImagesCommand({ ImageIds: [amiId] })))
        .Images?.[0];
    } catch (err) {
      if (!errorName(err).startsWith('InvalidAMIID')) throw err;
    }
    if (found === undefined)
      return fail(CHECK, `${amiId} not found in ${input.region}`, latest);
    if (found.State !== 'available')
      return fail(CHECK, `${amiId} is ${found.State}, not available`, latest);
    const types = [
      ...new Set([
        input.settings.nginxInstanceType,
        input.settings.appInstanceType,
      ]),
    ];
    let described;
    try {
      described = await ec2.send(
        new DescribeInstanceTypesCommand({
          InstanceTypes: types as _InstanceType[],
        }),
      );
    } catch (err) {
      if (errorName(err) !== 'InvalidInstanceType') throw err;
      return fail(
        CHECK,
        `${types.join(' or ')}: not an instance type of ${input.region}`,
        'choose instance types EC2 offers in the region (aws ec2 describe-instance-type-offerings)',
      );
    }
    const architectures = new Map(
      (described.InstanceTypes ?? []).map((t) => [
        t.InstanceType as string,
        t.ProcessorInfo?.SupportedArchitectures ?? [],
      ]),
    );
    const arch = found.Architecture as string;
    const mismatched = types.filter(
      (type) => !(architectures.get(type) ?? []).includes(arch as never),
    );
    if (mismatched.length > 0)
      return fail(
        CHECK,
        `${amiId} is ${arch}; ${mismatched.map((t) => `${t} runs ${(architectures.get(t) ?? []).join('/') || 'unknown'}`).join(', ')}`,
        `pin an image of the instance types' architecture, or choose ${arch} instance types`,
      );
    return ok(
      CHECK,
      `${amiId} (${found.Name ?? 'unnamed'}, ${arch}) runs on ${types.join(' and ')}`,
    );
  },
};
