/**
 * An update's rollback re-runs the old check (the trigger provider runs the handler on every Update, and a
 * rollback is one). The handler asks CloudFormation about its own stack first: during a deploy a failed check
 * fails the trigger; during a rollback it only reports, so the stack does not end UPDATE_ROLLBACK_FAILED.
 * The AWS SDK is stubbed at `send`; the edge is a real local port that refuses connections.
 */
import { AddressInfo, createServer, Server } from 'node:net';
import {
  DescribeStacksCommand,
  DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { DescribeNatGatewaysCommandOutput } from '@aws-sdk/client-ec2';
import { CheckClients, createHandler } from '../../lambda/verify';
import { VERIFY_ENV } from '../../lib/verify/lambda-environment';

const STACK_ID =
  'arn:aws:cloudformation:eu-west-1:123456789012:stack/dev-StickyEdge/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b';

/** A local port that accepts and at once closes every connection: an edge that never answers. */
let closed: Server;
let url: string;

beforeAll(async () => {
  closed = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
});
afterAll(() => closed.close());

beforeEach(() =>
  jest.spyOn(console, 'log').mockImplementation(() => undefined),
);
afterEach(() => jest.restoreAllMocks());

const env = () => ({
  [VERIFY_ENV.url]: url,
  [VERIFY_ENV.sticky]: 'ip_hash',
  [VERIFY_ENV.vpcId]: 'vpc-edge',
  [VERIFY_ENV.stackId]: STACK_ID,
  [VERIFY_ENV.sessions]: '2',
  [VERIFY_ENV.requestsPerSession]: '2',
  [VERIFY_ENV.readyWithinSeconds]: '1',
});

/** CloudFormation reports `status` for the stack; EC2 names one NAT gateway address. */
function aws(
  status: string | undefined,
  asked: DescribeStacksCommand[] = [],
): CheckClients {
  return {
    cloudFormation: {
      async send(command): Promise<DescribeStacksCommandOutput> {
        asked.push(command);
        return {
          $metadata: {},
          Stacks:
            status === undefined
              ? []
              : [
                  {
                    StackName: 'dev-StickyEdge',
                    StackStatus: status as any,
                    CreationTime: new Date(),
                  },
                ],
        };
      },
    },
    ec2: {
      async send(): Promise<DescribeNatGatewaysCommandOutput> {
        return {
          $metadata: {},
          NatGateways: [
            { NatGatewayAddresses: [{ PublicIp: '198.51.100.10' }] },
          ],
        };
      },
    },
  };
}

test('during a deploy, an edge that does not answer fails the check, after asking about its own stack only', async () => {
  const asked: DescribeStacksCommand[] = [];
  await expect(
    createHandler(aws('UPDATE_IN_PROGRESS', asked), env())(),
  ).rejects.toThrow(/did not answer with the demo backend within 1 s/);
  expect(asked.map((command) => command.input)).toEqual([
    { StackName: STACK_ID },
  ]);
});

test('during an update rollback, the same failure is reported and returned, not thrown', async () => {
  const outcome = await createHandler(
    aws('UPDATE_ROLLBACK_IN_PROGRESS'),
    env(),
  )();
  expect(outcome).toEqual({
    ok: false,
    rollingBack: 'UPDATE_ROLLBACK_IN_PROGRESS',
    diagnosis: expect.stringMatching(
      /did not answer with the demo backend within 1 s/,
    ),
  });
  expect(console.log).toHaveBeenCalledWith(
    expect.stringContaining(
      'is in UPDATE_ROLLBACK_IN_PROGRESS: this run only reports',
    ),
  );
});

test('fails when CloudFormation names no status for the stack', async () => {
  await expect(createHandler(aws(undefined), env())()).rejects.toThrow(
    `CloudFormation returned no status for ${STACK_ID}`,
  );
});

test('fails when CloudFormation cannot be asked (a missing permission fails a deploy, not a rollback)', async () => {
  const clients = aws('UPDATE_IN_PROGRESS');
  const denied = {
    ...clients,
    cloudFormation: {
      send: async () => {
        throw new Error(
          'AccessDenied: not authorized to cloudformation:DescribeStacks',
        );
      },
    },
  };
  await expect(createHandler(denied, env())()).rejects.toThrow(
    /not authorized to cloudformation:DescribeStacks/,
  );
});
