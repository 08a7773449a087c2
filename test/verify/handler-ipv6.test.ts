/**
 * With a dualstack load balancer the handler runs its visitors a second time over IPv6 and requires the
 * backends to report the IPv6 addresses of its own network interfaces. The AWS SDK is stubbed at `send`; the
 * edge is a stand-in on 127.0.0.1 that answers as nginx and the demo backend do for an honest edge (the
 * caller's address as the client, in X-Real-IP and X-Forwarded-For), so the IPv4 check passes; the verifier's
 * own behaviour against real nginx is tested in local-edge.test.ts. `localhost` has no AAAA record that
 * reaches it, so the IPv6 run shows that the handler resolves the name to IPv6 only (no IPv6 packet leaves
 * the machine either way).
 */
import {
  DescribeNatGatewaysCommand,
  DescribeNetworkInterfacesCommand,
} from '@aws-sdk/client-ec2';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { CheckClients, createHandler } from '../../lambda/verify';
import * as verify from '../../lib/verify';

// The real verifier, recorded: which IP family each wait and each run asked for.
jest.mock('../../lib/verify', () => {
  const actual = jest.requireActual('../../lib/verify');
  return {
    ...actual,
    waitUntilAnswering: jest.fn(actual.waitUntilAnswering),
    verifyEndpoint: jest.fn(actual.verifyEndpoint),
  };
});
import { VERIFY_ENV } from '../../lib/verify/lambda-environment';

const STACK_ID =
  'arn:aws:cloudformation:eu-west-1:123456789012:stack/dev-StickyEdge/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b';

/** One backend behind an edge that believes only the TCP peer: what the demo backend reports through nginx. */
let edge: Server;
let port: number;
beforeAll(async () => {
  edge = createServer((req, res) => {
    const client = req.socket.remoteAddress ?? '';
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        backend: 'app-a',
        peer: '127.0.0.1',
        clientIp: client,
        headers: { 'x-real-ip': client, 'x-forwarded-for': client },
        session: { id: 's1', hits: 1 },
      }),
    );
  });
  await new Promise<void>((resolve) => edge.listen(0, '127.0.0.1', resolve));
  port = (edge.address() as AddressInfo).port;
});
afterAll(() => edge.close());

// Each handler run waits up to readyWithinSeconds (6 s) for the IPv4 answers, and the IPv6 one as long again.
jest.setTimeout(30_000);

let logged: string[];
beforeEach(() => {
  logged = [];
  jest
    .spyOn(console, 'log')
    .mockImplementation((line: string) => void logged.push(line));
});
afterEach(() => jest.restoreAllMocks());

const env = (host: string) => ({
  [VERIFY_ENV.url]: `http://${host}:${port}/`,
  [VERIFY_ENV.sticky]: 'ip_hash',
  [VERIFY_ENV.vpcId]: 'vpc-edge',
  [VERIFY_ENV.stackId]: STACK_ID,
  [VERIFY_ENV.sessions]: '2',
  [VERIFY_ENV.requestsPerSession]: '2',
  // Enough for the IPv4 wait's five answers a second apart; the IPv6 wait then ends within it.
  [VERIFY_ENV.readyWithinSeconds]: '6',
  [VERIFY_ENV.ipv6SecurityGroup]: 'sg-check',
});

/** EC2 names 127.0.0.1 as the NAT address (what the local backend reports) and `ipv6` on the function's interfaces. */
function aws(ipv6: string[], asked: unknown[] = []): CheckClients {
  return {
    cloudFormation: {
      send: async () => ({
        $metadata: {},
        Stacks: [
          {
            StackName: 'dev-StickyEdge',
            StackStatus: 'UPDATE_IN_PROGRESS',
            CreationTime: new Date(),
          },
        ],
      }),
    },
    ec2: {
      send: (async (
        command: DescribeNatGatewaysCommand | DescribeNetworkInterfacesCommand,
      ) => {
        asked.push(command.input);
        if (command instanceof DescribeNatGatewaysCommand)
          return {
            $metadata: {},
            NatGateways: [{ NatGatewayAddresses: [{ PublicIp: '127.0.0.1' }] }],
          };
        return {
          $metadata: {},
          NetworkInterfaces: [
            {
              InterfaceType: 'lambda',
              Ipv6Addresses: ipv6.map((Ipv6Address) => ({ Ipv6Address })),
            },
          ],
        };
      }) as CheckClients['ec2']['send'],
    },
  };
}

test('fails when the function has no IPv6 address, before any request, naming the cause', async () => {
  await expect(createHandler(aws([]), env('127.0.0.1'))()).rejects.toThrow(
    "no IPv6 address on this function's network interfaces (security group sg-check in vpc-edge): its subnets need IPv6 blocks and the function ipv6AllowedForDualStack, or it cannot be an IPv6 visitor",
  );
  expect(logged.join('\n')).not.toMatch(/result:/);
});

test("after the IPv4 visitors pass, the IPv6 visitors expect the function's own interface addresses, resolve the name to AAAA only, and fail the check when it has none", async () => {
  const asked: unknown[] = [];
  const waits = jest.mocked(verify.waitUntilAnswering);
  const runs = jest.mocked(verify.verifyEndpoint);
  waits.mockClear();
  runs.mockClear();
  await expect(
    createHandler(
      aws(['2001:DB8:0:0:0:0:0:5', '2001:db8::6'], asked),
      env('localhost'),
    )(),
  ).rejects.toThrow(
    `post-deploy verification of http://localhost:${port}/ over IPv6 failed: its AAAA records lead to no answer`,
  );
  // The IPv4 run was verified and passed first.
  expect(logged.join('\n')).toMatch(/result: PASS/);
  // The IPv6 run expected the interfaces' addresses as nginx prints them (RFC 5952), however EC2 spelled them.
  expect(logged.join('\n')).toMatch(
    /IPv6 visitors: the backends must report 2001:db8::5 or 2001:db8::6 \(this function's own network interfaces\)/,
  );
  // A dualstack name answers A and AAAA: the IPv4 visitors ask for A only (the NAT addresses are an IPv4
  // proof), the IPv6 ones for AAAA only.
  expect(waits.mock.calls.map(([, options]) => options.family)).toEqual([4, 6]);
  expect(runs.mock.calls.map(([options]) => options.family)).toEqual([4]);
  // What the backends must report: the addresses of the function's own Lambda interfaces, found by its group.
  expect(asked).toContainEqual({
    Filters: [
      { Name: 'vpc-id', Values: ['vpc-edge'] },
      { Name: 'group-id', Values: ['sg-check'] },
      { Name: 'interface-type', Values: ['lambda'] },
    ],
    NextToken: undefined,
  });
});

test('without the IPv6 setting the same edge passes on IPv4 alone, asking EC2 for NAT gateways only', async () => {
  const asked: unknown[] = [];
  const { [VERIFY_ENV.ipv6SecurityGroup]: _, ...ipv4Only } = env('localhost');
  const outcome = await createHandler(aws([], asked), ipv4Only)();
  expect(outcome).toMatchObject({ ok: true, natAddresses: ['127.0.0.1'] });
  expect(outcome).not.toHaveProperty('ipv6');
  expect(asked).toHaveLength(1);
});
