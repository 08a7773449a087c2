import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { agentOptions, AGENT_DEFAULTS } from '../../lib/agent/agent';
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
  ])('fails when given %j: one line, exit 2', (args, message) => {
    const r = runAgent(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });
});
