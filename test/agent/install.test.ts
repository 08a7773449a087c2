import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { bundleAgent } from '../../lib/agent/bundle';
import {
  AGENT_SCRIPT,
  agentInstallCommands,
  compressedLines,
} from '../../lib/agent/install';

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
