import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { bundleAgent } from '../../lib/agent/bundle';
import {
  AGENT_SCRIPT,
  agentInstallCommands,
  LIFECYCLE_HOOK_NAME,
} from '../../lib/agent/install';
import { compressedLines } from '../../lib/os/compress';

test('the compressed heredoc turns back into the bundle with bash, base64 and gunzip', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sticky-edge-agent-'));
  try {
    const target = path.join(dir, 'health-agent.js');
    const lines = agentInstallCommands();
    const start = lines.findIndex((l) => l.endsWith(`> ${AGENT_SCRIPT}`));
    const end = lines.indexOf('STICKY_EDGE_HEALTH_JS', start + 1);
    const script = lines
      .slice(start, end + 1)
      .join('\n')
      .replace(AGENT_SCRIPT, target);
    execFileSync('bash', ['-euo', 'pipefail', '-c', script]);
    expect(readFileSync(target, 'utf8')).toBe(bundleAgent());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the compressed lines are the same on every synth, so the user data does not change by itself', () => {
  expect(compressedLines('x'.repeat(5000))).toEqual(
    compressedLines('x'.repeat(5000)),
  );
  expect(compressedLines('x'.repeat(5000)).every((l) => l.length <= 76)).toBe(
    true,
  );
});

describe('with the lifecycle hook', () => {
  const lines = agentInstallCommands('/etc/nginx/nginx.conf', {
    region: 'eu-west-1',
    webSocketDrainSeconds: 900,
  });
  const unit = lines.slice(
    lines.findIndex((l) => l.startsWith('cat > /etc/systemd/system/')) + 1,
    lines.indexOf(
      'STICKY_EDGE_HEALTH_UNIT',
      lines.findIndex((l) => l.startsWith('cat > /etc/systemd/system/')),
    ),
  );

  test('the service starts the agent with the hook, the region and the maximum, and outlives nginx', () => {
    const execStart = unit.find((l) => l.startsWith('ExecStart='));
    expect(execStart).toBe(
      `ExecStart=/usr/bin/node-22 ${AGENT_SCRIPT} --conf /etc/nginx/nginx.conf --nginx /usr/sbin/nginx --lifecycle-hook ${LIFECYCLE_HOOK_NAME} --region eu-west-1 --websocket-drain 900`,
    );
    // The agent quits nginx and waits for its WebSockets: Requires= would stop the agent with nginx.
    expect(unit).toContain('Wants=nginx.service');
    expect(unit.some((l) => l.startsWith('Requires='))).toBe(false);
  });

  const systemdAnalyze =
    spawnSync('systemd-analyze', ['--version']).status === 0;
  const testWithSystemd = systemdAnalyze ? test : test.skip;
  testWithSystemd(
    'writes a unit systemd-analyze accepts without a warning',
    () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'sticky-edge-agent-unit-'));
      try {
        const file = path.join(dir, 'sticky-edge-health.service');
        writeFileSync(
          file,
          unit.join('\n').replace('/usr/bin/node-22', process.execPath) + '\n',
        );
        const result = spawnSync('systemd-analyze', ['verify', file], {
          encoding: 'utf8',
        });
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
