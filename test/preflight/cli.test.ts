/**
 * `sticky-edge preflight`: the table and exit codes over stubbed SDK clients, the settings read as `cdk synth`
 * reads them, and every bad input or missing login as one line. One run goes through the real binary and the
 * real SDK credential chain, with every source of credentials emptied, to show what an operator sees.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeAddressesCommand } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { PreflightDeps, run } from '../../lib/cli/preflight';
import { awsClients } from '../../lib/preflight/clients';
import type { EdgeSettings } from '../../lib/settings';
import { awsError, NEED, stubHealthyAccount, stubs } from './aws-stubs';

const BIN = path.join(__dirname, '../../bin/sticky-edge.cjs');
// By its .ts name: a bare '../../bin/sticky-edge' would resolve to the .cjs shim.
const { main } =
  require('../../bin/sticky-edge.ts') as typeof import('../../bin/sticky-edge');
const CDK_JSON = path.join(__dirname, '../../cdk.json');

const ROWS = [
  'credentials',
  'Elastic IPs left',
  'VPCs left',
  'internet gateways left',
  'egress-only internet gateways left',
  'instance types in the zones',
  'pinned image (amiId)',
  'certificate',
  'CDK bootstrap',
];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** What the stage's synthesis was asked for (undefined: never reached). */
  synthesized?: { settings: EdgeSettings; context: Record<string, unknown> };
  regions: (string | undefined)[];
}

async function preflight(argv: string[], cdkJsonPath = CDK_JSON): Promise<Run> {
  const out: Run = { code: -1, stdout: '', stderr: '', regions: [] };
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.stdout += String(chunk);
    return true;
  });
  jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    out.stderr += String(chunk);
    return true;
  });
  const deps: PreflightDeps = {
    clients: (region) => {
      out.regions.push(region);
      return awsClients(region);
    },
    stageNeed: async (settings, context) => {
      out.synthesized = { settings, context };
      return NEED;
    },
    cdkJsonPath,
  };
  try {
    out.code = await run(argv, deps);
  } finally {
    jest.restoreAllMocks();
  }
  return out;
}

/** Through bin/sticky-edge.ts's main, as `npx sticky-edge preflight …` runs (its error reporting included). */
async function viaMain(argv: string[]): Promise<Run> {
  const out: Run = { code: -1, stdout: '', stderr: '', regions: [] };
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.stdout += String(chunk);
    return true;
  });
  jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    out.stderr += String(chunk);
    return true;
  });
  try {
    out.code = await main(['preflight', ...argv]);
  } finally {
    jest.restoreAllMocks();
  }
  return out;
}

beforeEach(stubHealthyAccount);

test('prints one row per check and exits 0 when a deploy would pass', async () => {
  const { code, stdout, stderr } = await preflight([]);
  expect(code).toBe(0);
  expect(stderr).toBe('');
  const lines = stdout.split('\n');
  expect(lines[0]).toBe(
    'preflight stage sandbox in us-east-1, account 123456789012',
  );
  expect(lines[2]).toMatch(/^check\s+status\s+detail\s+what to do$/);
  const rows = lines.slice(4, 4 + ROWS.length);
  expect(rows.map((row) => row.split(/\s{2,}/)[0])).toEqual(ROWS);
  expect(rows.map((row) => row.split(/\s{2,}/)[1])).toEqual([
    'ok',
    'ok',
    'ok',
    'ok',
    // egress-only internet gateways: an IPv4 stage takes none
    'skip',
    'ok',
    'skip',
    'skip',
    'ok',
  ]);
  expect(stdout).toMatch(/\nresult: PASS/);
});

test('exits 1 with the failing row and what to do about it', async () => {
  stubs.cloudFormation
    .on(DescribeStacksCommand, { StackName: 'CDKToolkit' })
    .rejects(
      awsError('ValidationError', 'Stack with id CDKToolkit does not exist'),
    );
  const { code, stdout } = await preflight([]);
  expect(code).toBe(1);
  expect(stdout).toMatch(
    /\nCDK bootstrap +FAIL +no CDKToolkit stack in us-east-1 +npx cdk bootstrap aws:\/\/123456789012\/us-east-1\n/,
  );
  expect(stdout).toMatch(/\nresult: FAIL \(1 check failed\)/);
});

test('a denied call becomes a FAIL row naming the missing permission, not a stack trace', async () => {
  stubs.ec2
    .on(DescribeAddressesCommand)
    .rejects(
      awsError(
        'UnauthorizedOperation',
        'You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/alice is not authorized to perform: ec2:DescribeAddresses because no identity-based policy allows the ec2:DescribeAddresses action',
      ),
    );
  const { code, stdout, stderr } = await preflight([]);
  expect(code).toBe(1);
  expect(stderr).toBe('');
  expect(stdout).toMatch(
    /\nElastic IPs left +FAIL +not allowed: ec2:DescribeAddresses \(UnauthorizedOperation\) +grant ec2:DescribeAddresses to these credentials/,
  );
  expect(stdout).not.toMatch(/\n\s+at /);
});

test('broken credentials fail their row, skip the others, and synthesize nothing', async () => {
  stubs.sts
    .on(GetCallerIdentityCommand)
    .rejects(
      awsError(
        'ExpiredToken',
        'The security token included in the request is expired',
      ),
    );
  const { code, stdout, synthesized } = await preflight([]);
  expect(code).toBe(1);
  expect(synthesized).toBeUndefined();
  expect(stdout).toMatch(
    /\ncredentials +FAIL +ExpiredToken: The security token included in the request is expired +renew the credentials/,
  );
  expect(stdout.match(/ skip +needs working credentials/g)).toHaveLength(
    ROWS.length - 1,
  );
});

test('an existing stage passes the quota rows without room: an update keeps what its stack holds', async () => {
  stubs.ec2.on(DescribeAddressesCommand).resolves({
    Addresses: Array.from({ length: 5 }, () => ({})),
  });
  stubs.cloudFormation
    .on(DescribeStacksCommand, { StackName: 'sandbox-StickyEdge' })
    .resolves({
      Stacks: [
        {
          StackName: 'sandbox-StickyEdge',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(0),
        },
      ],
    });
  const { code, stdout } = await preflight([]);
  expect(code).toBe(0);
  expect(stdout).toMatch(
    /\nElastic IPs left +ok +5 of 5 in use \(vpc-max-elastic-ips\), 0 left; sandbox-StickyEdge exists, so an update takes no new Elastic IPs\n/,
  );
});

test('a stage rolled back on its first create holds nothing: the quota rows ask for the whole stage', async () => {
  stubs.ec2.on(DescribeAddressesCommand).resolves({
    Addresses: Array.from({ length: 5 }, () => ({})),
  });
  stubs.cloudFormation
    .on(DescribeStacksCommand, { StackName: 'sandbox-StickyEdge' })
    .resolves({
      Stacks: [
        {
          StackName: 'sandbox-StickyEdge',
          StackStatus: 'ROLLBACK_COMPLETE',
          CreationTime: new Date(0),
        },
      ],
    });
  const { code, stdout } = await preflight([]);
  expect(code).toBe(1);
  expect(stdout).toMatch(/\nElastic IPs left +FAIL +5 of 5 in use/);
});

test('an unreachable STS fails the credentials row without blaming the credentials', async () => {
  stubs.sts
    .on(GetCallerIdentityCommand)
    .rejects(awsError('TimeoutError', 'connect ETIMEDOUT'));
  const { code, stdout } = await preflight([]);
  expect(code).toBe(1);
  expect(stdout).toMatch(
    /\ncredentials +FAIL +TimeoutError: connect ETIMEDOUT +run preflight again/,
  );
});

test('--json prints the report as JSON', async () => {
  const { code, stdout } = await preflight(['--json']);
  expect(code).toBe(0);
  const report = JSON.parse(stdout);
  expect(report).toMatchObject({
    region: 'us-east-1',
    account: '123456789012',
    stage: 'sandbox',
    ok: true,
  });
  expect(report.results.map((r: { check: string }) => r.check)).toEqual(ROWS);
});

test("reads cdk.json's context under the -c settings, -c winning, as cdk synth does", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sticky-edge-preflight-'));
  try {
    const cdkJson = path.join(dir, 'cdk.json');
    writeFileSync(
      cdkJson,
      JSON.stringify({
        context: {
          '@aws-cdk/aws-ec2:restrictDefaultSecurityGroup': true,
          stage: 'fromjson',
          lb: 'alb',
        },
      }),
    );
    const { synthesized } = await preflight(
      ['-c', 'stage=alice', '--context', 'nginxInstanceType=t3.small'],
      cdkJson,
    );
    expect(synthesized?.settings).toMatchObject({
      stage: 'alice',
      lb: 'alb',
      nginxInstanceType: 't3.small',
    });
    expect(synthesized?.context).toMatchObject({
      '@aws-cdk/aws-ec2:restrictDefaultSecurityGroup': true,
      stage: 'alice',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--region and --toolkit-stack-name reach the clients and the bootstrap check', async () => {
  stubs.cloudFormation
    .on(DescribeStacksCommand, { StackName: 'TeamToolkit' })
    .resolves({
      Stacks: [
        {
          StackName: 'TeamToolkit',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(0),
          Outputs: [{ OutputKey: 'BootstrapVersion', OutputValue: '30' }],
        },
      ],
    });
  const { stdout, regions } = await preflight([
    '--region',
    'eu-west-1',
    '--toolkit-stack-name',
    'TeamToolkit',
  ]);
  expect(regions).toEqual(['eu-west-1']);
  expect(stdout).toMatch(/^preflight stage sandbox in eu-west-1,/);
  expect(stdout).toMatch(/\nCDK bootstrap +ok +TeamToolkit CREATE_COMPLETE/);
});

test('no credentials: one line, exit 2, no table', async () => {
  stubs.sts
    .on(GetCallerIdentityCommand)
    .rejects(
      awsError(
        'CredentialsProviderError',
        'Could not load credentials from any providers',
      ),
    );
  const { code, stdout, stderr } = await viaMain([]);
  expect(code).toBe(2);
  expect(stdout).toBe('');
  expect(stderr).toBe(
    'sticky-edge: no AWS credentials (Could not load credentials from any providers): set AWS_PROFILE, run aws sso login or aws configure, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n',
  );
});

test('no region: one line, exit 2', async () => {
  const saved = { ...process.env };
  delete process.env.AWS_REGION;
  delete process.env.AWS_DEFAULT_REGION;
  process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
  try {
    const { code, stderr } = await viaMain([]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      'sticky-edge: no AWS region: set AWS_REGION, give the profile a region, or pass --region\n',
    );
  } finally {
    process.env = saved;
  }
});

test.each([
  [
    ['-c', 'sticky=bogus'],
    'sticky must be ip_hash, hash or cookie, got "bogus"',
  ],
  [
    ['-c', 'availabilityZones=us-east-1a'],
    'availabilityZones must be two distinct Availability Zones of one region, comma-separated, such as us-east-1a,us-east-1b, got "us-east-1a"',
  ],
  [['-c', 'sticky'], '-c must be key=value, got "sticky"'],
  [['-c', '=cookie'], '-c must be key=value, got "=cookie"'],
  [
    ['--region', 'Mars'],
    '--region must be a region name such as eu-west-1, got "Mars"',
  ],
  [
    ['--toolkit-stack-name', 'no_underscores'],
    '--toolkit-stack-name must be a CloudFormation stack name, got "no_underscores"',
  ],
  [
    ['-c', 'stage='],
    'stage must be a lowercase name of 1-20 letters, digits or dashes, starting with a letter, got ""',
  ],
  [
    ['-c', 'cookieTtl='],
    'cookieTtl must be a whole number of seconds from 60 to 31536000, got ""',
  ],
  [
    ['-c', 'stage=alice', '-c', 'stage=bob'],
    '-c stage may be given once, got "alice" and "bob"',
  ],
  [
    ['--region', 'eu-west-1', '--region', 'us-east-1'],
    '--region may be given once, got "eu-west-1" and "us-east-1"',
  ],
  [['--region', ''], '--region must not be empty, got ""'],
  [['--json', '--json'], '--json may be given once, got it twice'],
  [
    [
      '-c',
      'certificateArn=arn:awsevil-:acm:us-east-1:123456789012:certificate/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b',
    ],
    'certificateArn must be an ACM certificate ARN, got "arn:awsevil-:acm:us-east-1:123456789012:certificate/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b"',
  ],
])('fails when given %j: one line, exit 2', async (argv, message) => {
  const { code, stdout, stderr } = await viaMain(argv);
  expect(code).toBe(2);
  expect(stdout).toBe('');
  expect(stderr).toBe(`sticky-edge: ${message}\n`);
  expect(stubs.sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(0);
});

test('fails on an unknown flag: one line naming it, exit 2', async () => {
  const { code, stderr } = await viaMain(['--stage', 'alice']);
  expect(code).toBe(2);
  expect(stderr).toMatch(/^sticky-edge: .*'--stage'.*\n$/);
  expect(stderr.split('\n')).toHaveLength(2);
});

test('--help lists every check', async () => {
  const { code, stdout } = await preflight(['--help']);
  expect(code).toBe(0);
  for (const row of ['Elastic IPs left', 'VPCs left', 'CDK bootstrap'])
    expect(stdout).toContain(row);
});

test('the real binary with no credentials anywhere prints one line and exits 2', async () => {
  const home = mkdtempSync(path.join(tmpdir(), 'sticky-edge-nohome-'));
  try {
    // Every source of the default chain emptied: no keys, no config or credentials file, no container
    // endpoint, and the instance metadata service disabled, so the SDK never opens a connection.
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      AWS_REGION: 'us-east-1',
      AWS_CONFIG_FILE: path.join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const result = await new Promise<{
      code: number;
      stdout: string;
      stderr: string;
    }>((resolve) =>
      execFile(
        process.execPath,
        [BIN, 'preflight'],
        { env },
        (err, stdout, stderr) =>
          resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      ),
    );
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'sticky-edge: no AWS credentials (Could not load credentials from any providers): set AWS_PROFILE, run aws sso login or aws configure, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n',
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}, 60_000);

test("sticky-edge's command list names preflight", async () => {
  let out = '';
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  try {
    expect(await main(['--help'])).toBe(0);
  } finally {
    jest.restoreAllMocks();
  }
  expect(out).toMatch(
    /\n  preflight +check an AWS account and region before cdk deploy\n/,
  );
});
