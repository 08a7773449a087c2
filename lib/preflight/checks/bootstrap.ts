/** The CDK bootstrap stack exists, is stable, and is at least the version the synthesized app requires. */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { fail, ok, PreflightCheck } from '../check';

const CHECK = 'CDK bootstrap';

const READY = ['CREATE_COMPLETE', 'UPDATE_COMPLETE'];

export const bootstrap: PreflightCheck = {
  name: CHECK,
  permissions: ['cloudformation:DescribeStacks'],
  async run(input) {
    const name = input.toolkitStackName;
    const bootstrapCommand = `npx cdk bootstrap aws://${input.account}/${input.region}${name === 'CDKToolkit' ? '' : ` --toolkit-stack-name ${name}`}`;
    let stack;
    try {
      stack = (
        await input.clients.cloudFormation.send(
          new DescribeStacksCommand({ StackName: name }),
        )
      ).Stacks?.[0];
    } catch (err) {
      // CloudFormation answers a missing stack with a ValidationError "Stack with id … does not exist".
      if (!/does not exist/.test(String((err as Error)?.message))) throw err;
    }
    if (stack === undefined)
      return fail(
        CHECK,
        `no ${name} stack in ${input.region}`,
        bootstrapCommand,
      );
    const status = String(stack.StackStatus);
    if (!READY.includes(status))
      return fail(
        CHECK,
        `${name} is ${status}`,
        status.endsWith('_IN_PROGRESS')
          ? 'wait for it to finish, then run preflight again'
          : `look at its events in the CloudFormation console, then ${bootstrapCommand}`,
      );
    const version = Number(
      stack.Outputs?.find((o) => o.OutputKey === 'BootstrapVersion')
        ?.OutputValue,
    );
    const needed = input.need.bootstrapVersion;
    if (!Number.isInteger(version) || version < needed)
      return fail(
        CHECK,
        `${name} version ${Number.isInteger(version) ? version : 'unknown'}, the app needs ${needed} or later`,
        `${bootstrapCommand} (upgrades it in place)`,
      );
    return ok(
      CHECK,
      `${name} ${status}, version ${version} (the app needs ${needed} or later)`,
    );
  },
};
