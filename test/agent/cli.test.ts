import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { agentOptions, AGENT_DEFAULTS } from '../../lib/agent/agent';
import { LIFECYCLE_DEFAULTS } from '../../lib/agent/lifecycle';
import { bundleAgent } from '../../lib/agent/bundle';

test('the defaults detect a hang in at most 3 × 0.5 s + 0.4 s = 1.9 s, a second under the 3 s target', () => {
  const o = agentOptions({ conf: '/etc/nginx/nginx.conf' });
  expect(o).toMatchObject(AGENT_DEFAULTS);
  expect(o.fall * o.intervalMs + o.timeoutMs).toBe(1_900);
});

test.each([
  ['--conf is missing', {}, /^--conf FILE is required$/],
  [
    'the interval is not a number',
    { conf: 'x', interval: '1s' },
    /^--interval must be a whole number from 100 to 60000, got "1s"$/,
  ],
  [
    'the timeout is not shorter than the interval',
    { conf: 'x', interval: '500', timeout: '500' },
    /^--timeout must be shorter than --interval \(500 ms\), got 500$/,
  ],
  ['fall is zero', { conf: 'x', fall: '0' }, /^--fall must be .*got "0"$/],
  [
    'a lifecycle flag comes without --lifecycle-hook',
    { conf: 'x', region: 'us-east-1' },
    /^--region needs --lifecycle-hook NAME, got "us-east-1" without it$/,
  ],
  [
    'the hook name has a space',
    { conf: 'x', 'lifecycle-hook': 'my hook', region: 'us-east-1' },
    /^--lifecycle-hook must be 1-255 letters, digits, -, _ or \/, got "my hook"$/,
  ],
  [
    'the hook comes without a region',
    { conf: 'x', 'lifecycle-hook': 'h' },
    /^--region must be an AWS region such as us-east-1, got undefined$/,
  ],
  [
    'the region is not one',
    { conf: 'x', 'lifecycle-hook': 'h', region: 'US East' },
    /^--region must be .*got "US East"$/,
  ],
  [
    'the WebSocket drain is longer than the hook allows',
    {
      conf: 'x',
      'lifecycle-hook': 'h',
      region: 'us-east-1',
      'websocket-drain': '28801',
    },
    /^--websocket-drain must be a whole number from 1 to 28800, got "28801"$/,
  ],
  [
    'the heartbeat is zero',
    { conf: 'x', 'lifecycle-hook': 'h', region: 'us-east-1', heartbeat: '0' },
    /^--heartbeat must be a whole number from 1 to 3600, got "0"$/,
  ],
  [
    'the metadata service is not the instance metadata service or loopback',
    {
      conf: 'x',
      'lifecycle-hook': 'h',
      region: 'us-east-1',
      imds: 'http://10.0.0.1',
    },
    /^--imds must be http:\/\/169\.254\.169\.254 or a loopback .*got "http:\/\/10\.0\.0\.1"$/,
  ],
  [
    'the health path is not a path',
    { conf: 'x', 'health-path': 'healthz' },
    /^--health-path must be a path starting with \/, got "healthz"$/,
  ],
])('fails when %s', (_name, values, message) => {
  expect(() => agentOptions(values)).toThrow(
    expect.objectContaining({
      name: 'UserError',
      message: expect.stringMatching(message),
    }),
  );
});

test('the lifecycle watch is off without --lifecycle-hook, and with it takes the defaults', () => {
  expect(agentOptions({ conf: 'x' }).lifecycle).toBeUndefined();
  expect(
    agentOptions({ conf: 'x', 'lifecycle-hook': 'h', region: 'eu-west-3' })
      .lifecycle,
  ).toEqual({
    hookName: 'h',
    region: 'eu-west-3',
    maxDrainMs: 3_600_000,
    heartbeatMs: LIFECYCLE_DEFAULTS.heartbeatMs,
    pollMs: LIFECYCLE_DEFAULTS.pollMs,
    imds: 'http://169.254.169.254',
    aws: 'aws',
  });
});

describe('the bundled agent', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sticky-edge-agent-cli-'));
  const script = path.join(dir, 'agent.js');
  writeFileSync(script, bundleAgent());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const runAgent = (args: string[]) =>
    spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });

  test.each([
    [['--conf', 'x', '--fall', 'many'], /--fall must be .*got "many"/],
    [['--bogus'], /Unknown option '--bogus'/],
    [
      ['--conf', 'x', '--lifecycle-hook', 'h', '--region', 'mars-1'],
      /--region must be an AWS region such as us-east-1, got "mars-1"/,
    ],
  ])('fails when given %j: one line, exit 2', (args, message) => {
    const r = runAgent(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });
});
