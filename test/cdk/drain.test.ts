/**
 * `-c drain=NAME` in the template: the nginx nodes' config drains the named app server, applying or lifting it
 * changes only the nginx launch template's user data (a new version, which the group's rolling update rolls
 * over the nodes one at a time, each waiting for its signal), the post-deploy check stops calling the drained
 * server and runs again, and a name that is no server's, or draining every server, ends synth with one line.
 */
import { UserError } from '../../lib/errors';
import { VERIFY_ENV } from '../../lib/verify/lambda-environment';
import {
  flatten,
  logicalIdOf,
  propertiesOf,
  synthesize,
  writtenNginxConf,
} from './synth';
import type { Synthesized } from './synth';

jest.setTimeout(120_000);

let plain: Synthesized;
let drained: Synthesized;
beforeAll(() => {
  plain = synthesize({ lb: 'nlb', sticky: 'cookie' });
  drained = synthesize({ lb: 'nlb', sticky: 'cookie', drain: 'app-b' });
});

const resources = (s: Synthesized): Record<string, any> =>
  s.template.toJSON().Resources;
const groupId = (s: Synthesized) =>
  logicalIdOf(s.stack, s.stack.autoScalingGroup);
const launchTemplateId = (s: Synthesized) =>
  propertiesOf(s.template, groupId(s)).LaunchTemplate.LaunchTemplateId.Ref;
const userData = (s: Synthesized) =>
  flatten(
    propertiesOf(s.template, launchTemplateId(s)).LaunchTemplateData.UserData,
  );
const nginxConf = (s: Synthesized) => writtenNginxConf(userData(s));
/** How the user data writes a server's public address (a token CloudFormation resolves). */
const addressOf = (s: Synthesized, name: string) =>
  flatten(
    s.stack.resolve(s.stack.appServers.find((a) => a.name === name)!.address),
  );

test('the nginx config marks app-b drained, and only app-b', () => {
  const lines = nginxConf(drained)
    .split('\n')
    .filter((l) => l.includes('# drained'))
    .map((l) => l.trim());
  expect(lines).toEqual([
    `server ${addressOf(drained, 'app-b')}:3000 max_fails=2 fail_timeout=5s down; # drained: no new sessions`,
  ]);
  expect(nginxConf(plain)).not.toContain('drained');
});

test('applying a drain changes nothing in the template but the nginx user data and the check that follows it', () => {
  const before = resources(plain);
  const after = resources(drained);
  // The check's function version is named by its hash, so its id changes with the check; nothing else may.
  const outsideCheck = (all: Record<string, any>) =>
    Object.keys(all)
      .filter((id) => !id.startsWith('DeployCheck'))
      .sort();
  expect(outsideCheck(after)).toEqual(outsideCheck(before));
  const changed = outsideCheck(after).filter(
    (id) => JSON.stringify(after[id]) !== JSON.stringify(before[id]),
  );
  expect(changed).toEqual([launchTemplateId(drained)]);
  const { UserData: _u1, ...restBefore } =
    before[launchTemplateId(plain)].Properties.LaunchTemplateData;
  const { UserData: _u2, ...restAfter } =
    after[launchTemplateId(drained)].Properties.LaunchTemplateData;
  expect(restAfter).toEqual(restBefore);
});

test('the new launch template version rolls over the nginx nodes one at a time, each waiting for its signal', () => {
  const group = resources(drained)[groupId(drained)];
  // The group follows the template's latest version, so new user data is a change to the group itself, which
  // CloudFormation applies under the AutoScalingRollingUpdate policy (UpdatePolicy attribute reference).
  expect(group.Properties.LaunchTemplate.Version).toEqual({
    'Fn::GetAtt': [launchTemplateId(drained), 'LatestVersionNumber'],
  });
  expect(group.UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({
    MaxBatchSize: 1,
    MinInstancesInService: 2,
    WaitOnResourceSignals: true,
  });
});

describe('the post-deploy check', () => {
  const check = (s: Synthesized) => {
    const [id, fn] = Object.entries(
      s.template.findResources('AWS::Lambda::Function'),
    ).find(([logicalId]) => logicalId.startsWith('DeployCheck'))!;
    return { id, env: fn.Properties.Environment.Variables };
  };

  test('calls only the undrained server directly: the drained one takes no fresh visitor', () => {
    const urls = flatten(check(drained).env[VERIFY_ENV.backendUrls]);
    expect(urls).toContain(addressOf(drained, 'app-a'));
    expect(urls).not.toContain(addressOf(drained, 'app-b'));
    expect(flatten(check(plain).env[VERIFY_ENV.backendUrls])).toContain(
      addressOf(plain, 'app-b'),
    );
  });

  test('runs again after the drain is applied (a new fingerprint)', () => {
    expect(check(drained).env[VERIFY_ENV.fingerprint]).not.toBe(
      check(plain).env[VERIFY_ENV.fingerprint],
    );
  });
});

describe('fails at synth', () => {
  test.each<[string, string, RegExp]>([
    [
      'drain names no app server',
      'app-z',
      /^drain must name a configured backend by its id or HOST:PORT \(app-a, app-b\), got "app-z"$/,
    ],
    [
      'drain names every app server',
      'app-b,app-a',
      /^drain must leave at least one backend to take new sessions, got every backend: "app-b,app-a"$/,
    ],
  ])('fails when %s', (_name, drain, message) => {
    const attempt = () => synthesize({ sticky: 'ip_hash', drain });
    expect(attempt).toThrow(UserError);
    expect(attempt).toThrow(message);
  });
});
