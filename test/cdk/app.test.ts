import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Template } from 'aws-cdk-lib/assertions';
import { App } from 'aws-cdk-lib';
import { parseSettings, SettingsError } from '../../lib/settings';
import { addStickyEdge } from '../../lib/stacks/sticky-edge-app';
import { cdkJsonContext, REPO_ROOT } from './synth';

jest.setTimeout(120_000);

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly outdir: string;
}

/** Runs bin/app.ts as the CDK CLI does: context in CDK_CONTEXT_JSON, the assembly into CDK_OUTDIR. */
async function runApp(context: Record<string, unknown>): Promise<Run> {
  const outdir = await mkdtemp(path.join(tmpdir(), 'sticky-edge-app-'));
  const env = {
    ...process.env,
    CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJsonContext(), ...context }),
    CDK_OUTDIR: outdir,
  };
  return new Promise((resolve) => {
    execFile(
      path.join(REPO_ROOT, 'node_modules/.bin/tsx'),
      ['bin/app.ts'],
      { cwd: REPO_ROOT, env },
      (error, stdout, stderr) => {
        resolve({
          code: error ? Number(error.code) : 0,
          stdout,
          stderr,
          outdir,
        });
      },
    );
  });
}

const outdirs: string[] = [];
afterAll(() =>
  Promise.all(outdirs.map((dir) => rm(dir, { recursive: true, force: true }))),
);

describe('bin/app.ts', () => {
  test.concurrent.each([
    [
      { sticky: 'bogus' },
      'sticky-edge: sticky must be ip_hash, hash or cookie, got "bogus"',
    ],
    [
      {
        amiId: 'ami-0123456789abcdef0',
        nginxInstanceType: 't4g.micro',
        appInstanceType: 't3.micro',
      },
      'sticky-edge: appInstanceType must have the architecture of nginxInstanceType (arm64) when amiId pins one image for both, got "t3.micro" (x86_64)',
    ],
    [
      { nginxInstanceType: 'zz9.huge' },
      'sticky-edge: nginxInstanceType must be an EC2 instance type such as t3.micro, got "zz9.huge"',
    ],
    [
      { appInstanceType: 'zz9.huge' },
      'sticky-edge: appInstanceType must be an EC2 instance type such as t3.micro, got "zz9.huge"',
    ],
    [
      { nginxInstanceType: 't3.huge' },
      'sticky-edge: nginxInstanceType must be an EC2 instance type such as t3.micro, got "t3.huge"',
    ],
    [
      { stage: '' },
      'sticky-edge: stage must be a lowercase name of 1-20 letters, digits or dashes, starting with a letter, got ""',
    ],
    [
      { cookieTtl: '' },
      'sticky-edge: cookieTtl must be a whole number of seconds from 60 to 31536000, got ""',
    ],
    [{ ipv6: 'yes' }, 'sticky-edge: ipv6 must be true or false, got "yes"'],
    [
      { sticky: 'cookie', cookieSameSite: 'None' },
      'sticky-edge: cookieSameSite None needs certificateArn: browsers drop a SameSite=None cookie that is not Secure, and the routing cookie is Secure only behind TLS',
    ],
  ])(
    'fails when %j: one line naming the setting, no stack trace, exit status 1',
    async (context, line) => {
      const run = await runApp(context);
      outdirs.push(run.outdir);
      expect(run).toMatchObject({ code: 1, stdout: '', stderr: `${line}\n` });
    },
  );

  test.concurrent(
    'synthesizes the stage named in context into its own stack',
    async () => {
      const run = await runApp({ stage: 'pr-check', lb: 'alb' });
      outdirs.push(run.outdir);
      expect(run.code).toBe(0);
      expect(await readdir(run.outdir)).toContain(
        'pr-check-StickyEdge.template.json',
      );
    },
  );
});

describe('settings only the stack can check (the pinned-AMI architecture check runs through bin/app.ts above)', () => {
  const build = (context: Record<string, string>) => () =>
    addStickyEdge(
      new App({ context }),
      parseSettings((key) => context[key]),
    );

  test('fails when an instance type has no architecture CDK knows', () => {
    expect(build({ nginxInstanceType: 'foo.bar' })).toThrow(
      new SettingsError(
        'nginxInstanceType must be an EC2 instance type such as t3.micro, got "foo.bar"',
      ),
    );
  });
});

describe('cdk-nag', () => {
  test('an unacknowledged AwsSolutions finding fails synthesis', () => {
    const app = new App({ context: cdkJsonContext() });
    const stack = addStickyEdge(
      app,
      parseSettings(() => undefined),
    );
    new ec2.SecurityGroup(stack, 'OpenToTheWorld', {
      vpc: stack.network.vpc,
    }).addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(8080));
    expect(() => Template.fromStack(stack)).toThrow(
      /0\.0\.0\.0\/0[\s\S]*sandbox-StickyEdge\/OpenToTheWorld[\s\S]*AwsSolutions-EC23/,
    );
  });
});
