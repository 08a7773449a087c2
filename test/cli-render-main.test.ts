import { run } from '../lib/cli/render';
import {
  ContextSettings,
  flatten,
  logicalIdOf,
  propertiesOf,
  synthesize,
  targetOf,
  writtenNginxConf as decodeNginxConf,
} from './cdk/synth';

/**
 * `sticky-edge render --main` prints exactly the nginx.conf the synthesized user data writes, for the same
 * inputs. (The local topology's nginx.conf differs from both in paths and workers' user only: see `nginxConf`
 * in lib/nginx/nginx-options.ts, the one place that difference is written.)
 *
 * The cookie strategy is left out: its route ids are the app servers' names, which the CLI does not take
 * (it derives ids from the addresses); test/cdk compares that strategy's user data with the renderer directly.
 */
jest.setTimeout(120_000);

const CERT =
  'arn:aws:acm:eu-west-1:123456789012:certificate/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b';
const MODES: Record<string, ContextSettings> = {
  'nlb ip_hash': { lb: 'nlb', sticky: 'ip_hash' },
  'alb hash tls': { lb: 'alb', sticky: 'hash', certificateArn: CERT },
};

/** The nginx.conf the user data writes (decoded as the node does), app addresses substituted. */
function writtenNginxConf(settings: ContextSettings) {
  const s = synthesize(settings);
  const group = propertiesOf(
    s.template,
    logicalIdOf(s.stack, s.stack.autoScalingGroup),
  );
  const launchTemplate = propertiesOf(
    s.template,
    targetOf(group.LaunchTemplate.LaunchTemplateId),
  ).LaunchTemplateData;
  const conf = decodeNginxConf(flatten(launchTemplate.UserData));
  // The app servers' addresses are CloudFormation expressions until deploy: stand documentation addresses in.
  const tokens = [...new Set(conf.match(/«[^»]*»/g) ?? [])];
  const addresses = tokens.map((_, i) => `198.51.100.${10 + i}`);
  const written = tokens.reduce(
    (text, token, i) => text.replaceAll(token, addresses[i]),
    conf,
  );
  const lbSubnets: unknown[] = propertiesOf(
    s.template,
    logicalIdOf(s.stack, s.stack.loadBalancer),
  ).Subnets;
  const trust = lbSubnets.map(
    (subnet) => propertiesOf(s.template, targetOf(subnet)).CidrBlock,
  );
  return {
    written,
    trust,
    backends: addresses.map((a) => `${a}:${s.settings.appPort}`),
    settings: s.settings,
  };
}

async function renderMain(args: string[]): Promise<string> {
  let out = '';
  const write = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
  try {
    expect(await run(args)).toBe(0);
  } finally {
    write.mockRestore();
  }
  return out;
}

test.each(Object.keys(MODES))(
  '%s: render --main prints the nginx.conf the user data writes',
  async (mode) => {
    const { written, trust, backends, settings } = writtenNginxConf(
      MODES[mode],
    );
    expect(backends).toHaveLength(2);
    const printed = await renderMain([
      '--main',
      '--lb',
      settings.lb,
      '--sticky',
      settings.sticky,
      '--listen',
      '80',
      '--status-listen',
      '127.0.0.1:8081',
      // --cookie-ttl belongs to the cookie strategy only (refused with the others).
      ...(settings.sticky === 'cookie'
        ? ['--cookie-ttl', String(settings.cookieTtlSeconds)]
        : []),
      ...(settings.certificateArn === undefined ? [] : ['--tls']),
      ...trust.flatMap((cidr) => ['--trust', cidr]),
      ...backends.flatMap((b) => ['--backend', b]),
    ]);
    expect(written).toContain('\nuser nginx;\n');
    expect(printed).toBe(written);
  },
);
