import { RemovalPolicy } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';

/**
 * The Amazon Linux 2023 image a tier runs: the pinned `amiId` when set (so an environment can be rebuilt
 * exactly), otherwise the latest image for the architecture, read from AWS's public SSM parameter at deploy
 * time (no synth-time lookup, so the stack stays environment-agnostic).
 */
export function amazonLinux2023(
  architecture: ec2.InstanceArchitecture,
  amiId?: string,
): ec2.IMachineImage {
  if (amiId !== undefined) return new PinnedImage(amiId);
  const cpuType =
    architecture === ec2.InstanceArchitecture.ARM_64
      ? ec2.AmazonLinuxCpuType.ARM_64
      : ec2.AmazonLinuxCpuType.X86_64;
  return ec2.MachineImage.latestAmazonLinux2023({ cpuType });
}

/**
 * One AMI ID whatever the region. `MachineImage.genericLinux` maps regions to IDs and needs the region at
 * synth time, which an environment-agnostic stack does not know.
 */
class PinnedImage implements ec2.IMachineImage {
  constructor(private readonly imageId: string) {}

  getImage(): ec2.MachineImageConfig {
    return {
      imageId: this.imageId,
      osType: ec2.OperatingSystemType.LINUX,
      userData: ec2.UserData.forLinux(),
    };
  }
}

/** AL2023's root device, encrypted gp3. 10 GiB leaves room above the 8 GiB image snapshot. */
const ROOT_DEVICE = '/dev/xvda';
const ROOT_GIB = 10;

/** The root volume of a standalone instance. */
export const INSTANCE_ROOT_VOLUME: ec2.BlockDevice = {
  deviceName: ROOT_DEVICE,
  volume: ec2.BlockDeviceVolume.ebs(ROOT_GIB, {
    encrypted: true,
    volumeType: ec2.EbsDeviceVolumeType.GP3,
  }),
};

/** The same root volume for an Auto Scaling group's launch template (autoscaling has its own volume types). */
export const GROUP_ROOT_VOLUME: autoscaling.BlockDevice = {
  deviceName: ROOT_DEVICE,
  volume: autoscaling.BlockDeviceVolume.ebs(ROOT_GIB, {
    encrypted: true,
    volumeType: autoscaling.EbsDeviceVolumeType.GP3,
  }),
};

/** Why the instance roles carry an AWS managed policy (cdk-nag AwsSolutions-IAM4). */
export const SSM_MANAGED_POLICY_REASON =
  'AmazonSSMManagedInstanceCore is the policy AWS maintains for the SSM agent as Session Manager changes; it replaces SSH and key pairs';

/**
 * Flow logs to CloudWatch Logs, kept a week: enough to see which NAT address reached the app tier while the
 * sandbox runs, and deleted with the stack so teardown leaves nothing behind.
 */
export function logVpcTraffic(vpc: ec2.Vpc): void {
  const logGroup = new logs.LogGroup(vpc, 'FlowLogGroup', {
    retention: logs.RetentionDays.ONE_WEEK,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  vpc.addFlowLog('FlowLog', {
    destination: ec2.FlowLogDestination.toCloudWatchLogs(logGroup),
  });
}
