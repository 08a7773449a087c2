/**
 * The verification core, the Lambda handler and the CLI against real local edges (HAProxy → two nginx nodes
 * → two demo backends): the project's configuration passes, and the seed's configuration, a configuration
 * that trusts every address, and nodes that disagree on the mapping each fail with their own diagnosis.
 * The topologies start side by side and every scenario's verification runs concurrently.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import {
  DescribeNatGatewaysCommand,
  DescribeNatGatewaysCommandOutput,
} from '@aws-sdk/client-ec2';
import { CheckClients, createHandler } from '../../lambda/verify';
import { VERIFY_ENV } from '../../lib/verify/lambda-environment';
import { startTopology } from '../../lib/local/topology';
import { renderEdgeConfig } from '../../lib/nginx/render';
import type { EdgeRenderOptions } from '../../lib/nginx/render-options';
import type {
  Topology,
  TopologyOptions,
} from '../../lib/local/topology-contract';
import {
  CheckId,
  CheckResult,
  VerifyReport,
  verifyEndpoint,
} from '../../lib/verify';

jest.setTimeout(120_000);

const BIN = path.join(__dirname, '../../bin/sticky-edge.cjs');

/** Node 1 lists the upstream servers in the opposite order, so `ip_hash` maps every client elsewhere. */
const reverseServersOnNode1 = (index: number, rendered: string) =>
  index === 0
    ? rendered
    : rendered.replace(
        /(?:^ *server [^\n]*\n)+/m,
        (servers) => servers.trimEnd().split('\n').reverse().join('\n') + '\n',
      );

/** Node 1 gives each backend the other's route id, so one routing cookie names different backends per node. */
const swapRouteIdsOnNode1 = (
  index: number,
  _rendered: string,
  options: EdgeRenderOptions,
) =>
  renderEdgeConfig({
    ...options,
    backends: options.backends.map((b, i, all) => ({
      ...b,
      id: `route-${index === 0 ? i : all.length - 1 - i}`,
    })),
  });

/** The seed's advice applied to the project's config: every peer may say who the client is. */
const trustEveryAddress = (_index: number, rendered: string) =>
  rendered.replace(/set_real_ip_from [^;]+;/g, 'set_real_ip_from 0.0.0.0/0;');

const SCENARIOS = {
  project: { lb: 'nlb', sticky: 'ip_hash' },
  // Renamed: the verifier reads the name it is given (as the post-deploy check gets the stack's cookieName).
  projectCookie: { lb: 'alb', sticky: 'cookie', cookieName: 'app_route' },
  naive: { lb: 'nlb', sticky: 'ip_hash', naive: true },
  trustsEveryone: {
    lb: 'alb',
    sticky: 'ip_hash',
    nodeConfig: trustEveryAddress,
  },
  nodesDisagree: {
    lb: 'nlb',
    sticky: 'ip_hash',
    nodeConfig: reverseServersOnNode1,
  },
  cookieNodesDisagree: {
    lb: 'nlb',
    sticky: 'cookie',
    nodeConfig: swapRouteIdsOnNode1,
  },
} satisfies Record<string, TopologyOptions>;

type Scenario = keyof typeof SCENARIOS;

const topologies = {} as Record<Scenario, Topology>;
const reports = {} as Record<Scenario, VerifyReport>;
/** The renamed-cookie edge verified without its name: the default name finds no routing cookie. */
let unnamedCookieReport: VerifyReport;

/** Twenty clients, each in its own /24, so `ip_hash` has twenty keys to spread. */
const clients = (t: Topology) =>
  Array.from({ length: 20 }, (_, i) => t.clientAddress(i + 1, 9));

beforeAll(async () => {
  const names = Object.keys(SCENARIOS) as Scenario[];
  const started = await Promise.allSettled(
    names.map((name) => startTopology(SCENARIOS[name])),
  );
  started.forEach(
    (s, i) => s.status === 'fulfilled' && (topologies[names[i]] = s.value),
  );
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  await Promise.all(
    names.map(async (name) => {
      const t = topologies[name];
      reports[name] = await verifyEndpoint({
        url: t.url,
        sourceAddresses: clients(t),
        backendUrls: t.backendUrls,
        routeCookieName: t.renderOptions.cookieName,
        sessions: 20,
        requestsPerSession: 4,
      });
    }),
  );
  unnamedCookieReport = await verifyEndpoint({
    url: topologies.projectCookie.url,
    sourceAddresses: clients(topologies.projectCookie),
    sessions: 5,
    requestsPerSession: 2,
  });
});

afterAll(() => Promise.all(Object.values(topologies).map((t) => t.stop())));

const check = (report: VerifyReport, id: CheckId): CheckResult => {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id}`);
  return found;
};

const statuses = (report: VerifyReport) =>
  Object.fromEntries(report.checks.map((c) => [c.id, c.status]));

describe('verification core', () => {
  test("passes the project's configuration (nlb, ip_hash) on every check", () => {
    const report = reports.project;
    expect(statuses(report)).toEqual({
      reachable: 'pass',
      sticky: 'pass',
      spread: 'pass',
      backends: 'pass',
      'client-address': 'pass',
      'forged-headers': 'pass',
    });
    expect(report.ok).toBe(true);
    expect(Object.keys(report.sessionsPerBackend).sort()).toEqual(
      [...topologies.project.backendNames].sort(),
    );
  });

  test("passes the project's cookie configuration (alb, cookie, cookieName app_route) and detects cookie routing by that name", () => {
    expect(reports.projectCookie.routing).toBe('cookie');
    expect(unnamedCookieReport.routing).toBe('address');
    expect(
      reports.projectCookie.checks.filter((c) => c.status !== 'pass'),
    ).toEqual([]);
  });

  test("fails the seed's configuration: backends see the load balancer, all on one backend, forged headers believed", () => {
    const report = reports.naive;
    const lb = topologies.naive.lbAddress;
    expect(report.ok).toBe(false);
    expect(check(report, 'client-address').diagnosis).toBe(
      `backends see ${lb} (the same for every client): nginx is not reading the PROXY header (NLB) or the load balancer's X-Forwarded-For (ALB), so it reports and hashes the load balancer's address`,
    );
    expect(check(report, 'spread').diagnosis).toMatch(
      new RegExp(
        `^all sessions on one backend \\(app-.\\): nginx hashes one address \\(${lb.replace(/\./g, '\\.')}\\) for every client`,
      ),
    );
    expect(check(report, 'forged-headers').diagnosis).toMatch(
      /^client chose its own address with X-Forwarded-For: nginx trusts every address/,
    );
  });

  test('fails a configuration that trusts every address: the client chooses its address, nothing else is wrong', () => {
    const report = reports.trustsEveryone;
    expect(statuses(report)).toMatchObject({
      sticky: 'pass',
      spread: 'pass',
      'client-address': 'pass',
      'forged-headers': 'fail',
    });
    expect(check(report, 'forged-headers').diagnosis).toMatch(
      /^client chose its own address with X-Forwarded-For: nginx trusts every address/,
    );
  });

  test('fails nginx nodes that disagree on the mapping: sessions flap although the address is right', () => {
    const report = reports.nodesDisagree;
    expect(statuses(report)).toMatchObject({
      sticky: 'fail',
      'client-address': 'pass',
      backends: 'pass',
    });
    expect(check(report, 'sticky').diagnosis).toMatch(
      /^sessions flap: nginx nodes disagree on the mapping \(the same client address reached different backends/,
    );
  });

  test('fails nginx nodes that give the routing cookie different meanings: sessions flap under one cookie', () => {
    const report = reports.cookieNodesDisagree;
    expect(report.routing).toBe('cookie');
    expect(statuses(report)).toMatchObject({
      sticky: 'fail',
      'client-address': 'pass',
      backends: 'pass',
    });
    expect(check(report, 'sticky').diagnosis).toMatch(
      /^sessions flap: nginx nodes disagree on the mapping \(the same routing cookie reached different backends/,
    );
  });

  test('from one source address, ip_hash cannot spread: the spread is not applicable rather than passed, and direct URLs show both backends', async () => {
    const t = topologies.project;
    const report = await verifyEndpoint({
      url: t.url,
      sticky: 'ip_hash',
      backendUrls: t.backendUrls,
      sessions: 8,
      requestsPerSession: 2,
    });
    expect(check(report, 'spread').status).toBe('not-applicable');
    expect(check(report, 'backends')).toMatchObject({ status: 'pass' });
    expect(check(report, 'backends').evidence.join('\n')).toContain(
      `answers as ${t.backendNames[1]}`,
    );
    expect(report.ok).toBe(true);
  });

  test('reports a backend that does not answer directly', async () => {
    const t = topologies.project;
    const report = await verifyEndpoint({
      url: t.url,
      backendUrls: [...t.backendUrls, t.nginxUrls[0].replace(/:\d+$/, ':1')],
      sessions: 2,
      requestsPerSession: 2,
    });
    expect(check(report, 'backends').status).toBe('fail');
    expect(check(report, 'backends').diagnosis).toMatch(
      /does not answer directly/,
    );
  });
});

/**
 * The AWS clients stubbed at the SDK boundary: EC2 answers DescribeNatGateways with the given public
 * addresses, CloudFormation reports a deploy in progress (rollbacks: handler-rollback.test.ts).
 */
function awsReporting(
  publicIps: string[],
  seen: DescribeNatGatewaysCommand[] = [],
): CheckClients {
  const cloudFormation = {
    send: async () => ({
      $metadata: {},
      Stacks: [
        {
          StackName: 'dev-StickyEdge',
          StackStatus: 'UPDATE_IN_PROGRESS' as const,
          CreationTime: new Date(),
        },
      ],
    }),
  };
  const ec2 = {
    async send(
      command: DescribeNatGatewaysCommand,
    ): Promise<DescribeNatGatewaysCommandOutput> {
      seen.push(command);
      return {
        $metadata: {},
        NatGateways: [
          {
            NatGatewayId: 'nat-0123',
            VpcId: 'vpc-edge',
            NatGatewayAddresses: publicIps.map((PublicIp) => ({ PublicIp })),
          },
        ],
      };
    },
  };
  return { ec2, cloudFormation };
}

const STACK_ID =
  'arn:aws:cloudformation:eu-west-1:123456789012:stack/dev-StickyEdge/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b';

const lambdaEnv = (t: Topology) => ({
  [VERIFY_ENV.url]: t.url,
  [VERIFY_ENV.sticky]: 'ip_hash',
  [VERIFY_ENV.vpcId]: 'vpc-edge',
  [VERIFY_ENV.stackId]: STACK_ID,
  [VERIFY_ENV.backendUrls]: t.backendUrls.join(','),
  [VERIFY_ENV.sessions]: '6',
  [VERIFY_ENV.requestsPerSession]: '2',
  [VERIFY_ENV.readyWithinSeconds]: '10',
});

describe('post-deploy Lambda handler', () => {
  beforeEach(() =>
    jest.spyOn(console, 'log').mockImplementation(() => undefined),
  );
  afterEach(() => jest.restoreAllMocks());

  // Locally the handler's requests leave from 127.0.0.1, which plays the NAT gateway's public address.
  test('passes when the backends report the NAT gateway address EC2 names, asking EC2 only about the edge VPC', async () => {
    const seen: DescribeNatGatewaysCommand[] = [];
    const outcome = await createHandler(
      awsReporting(['127.0.0.1'], seen),
      lambdaEnv(topologies.project),
    )();
    expect(outcome).toMatchObject({ ok: true, natAddresses: ['127.0.0.1'] });
    expect(seen[0].input.Filter).toEqual([
      { Name: 'vpc-id', Values: ['vpc-edge'] },
      { Name: 'state', Values: ['available'] },
    ]);
  });

  test('throws with the diagnosis when the backends see another address than the NAT gateway', async () => {
    await expect(
      createHandler(
        awsReporting(['198.51.100.10']),
        lambdaEnv(topologies.project),
      )(),
    ).rejects.toThrow(
      /post-deploy verification of .* failed: client-address: backends see 127\.0\.0\.1, not the caller's address \(198\.51\.100\.10\)/,
    );
  });

  test("throws with the seed's diagnosis against the seed's configuration", async () => {
    const lb = topologies.naive.lbAddress;
    await expect(
      createHandler(awsReporting(['127.0.0.1']), lambdaEnv(topologies.naive))(),
    ).rejects.toThrow(
      `client-address: backends see ${lb} (the same for every client): nginx is not reading the PROXY header`,
    );
  });

  test('throws when EC2 names no NAT gateway address', async () => {
    await expect(
      createHandler(awsReporting([]), lambdaEnv(topologies.project))(),
    ).rejects.toThrow(
      'no available NAT gateway with a public address in vpc-edge',
    );
  });
});

/** Runs the real `sticky-edge` binary, as an operator would. */
function cli(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      },
    );
  });
}

describe('sticky-edge verify against a local edge', () => {
  test("exits 0 with a readable report for the project's configuration", async () => {
    const { code, stdout, stderr } = await cli([
      'verify',
      topologies.project.url,
      '--sessions',
      '6',
      '--requests',
      '2',
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain('PASS  each session stays on one backend');
    expect(stdout).toMatch(/result: PASS\n$/);
    expect(stderr).toMatch(/verify: 24\/24 requests/);
  });

  test("exits 1 with the diagnosis for the seed's configuration", async () => {
    const { code, stdout } = await cli([
      'verify',
      topologies.naive.url,
      '--sessions',
      '6',
      '--requests',
      '2',
    ]);
    expect(code).toBe(1);
    expect(stdout).toContain(
      `diagnosis: backends see ${topologies.naive.lbAddress} (the same for every client)`,
    );
    expect(stdout).toMatch(/result: FAIL \(2 checks failed\)/);
  });

  test('--json prints a report that parses, with every check', async () => {
    const t = topologies.projectCookie;
    const { code, stdout } = await cli([
      'verify',
      t.url,
      '--json',
      '--sticky',
      'cookie',
      '--sessions',
      '6',
      '--requests',
      '2',
      '--backend',
      t.backendUrls[0],
      '--backend',
      t.backendUrls[1],
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as VerifyReport;
    expect(report.routing).toBe('cookie');
    expect(report.checks.map((c) => c.id)).toEqual([
      'reachable',
      'sticky',
      'spread',
      'backends',
      'client-address',
      'forged-headers',
    ]);
    expect(report.checks.find((c) => c.id === 'spread')?.status).toBe('pass');
  });
});
