import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleBackend } from '../../lib/backend/bundle';
import { parseBackendArgs } from '../../lib/backend/config';
import {
  BACKEND_SCRIPT,
  backendInstallCommands,
} from '../../lib/backend/install';
import { startBackend } from '../../lib/backend/server';

/** What a CDK token looks like before synthesis (an Elastic IP resolved by CloudFormation). */
const TOKEN = '${Token[TOKEN.123]}';
const lines = backendInstallCommands({
  name: 'app-a',
  port: 3000,
  trustedProxies: [`${TOKEN}/32`, '10.0.0.0/16'],
});
const script = lines.join('\n') + '\n';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backend-install-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function heredoc(startsWith: string): string[] {
  const start = lines.findIndex((line) => line.startsWith(startsWith));
  const delimiter = /<<'(\w+)'$/.exec(lines[start])?.[1];
  const end = lines.indexOf(delimiter ?? '', start + 1);
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return lines.slice(start, end + 1);
}

describe('backendInstallCommands', () => {
  test('is valid bash', () => {
    const file = path.join(dir, 'user-data.sh');
    fs.writeFileSync(file, script);
    expect(() =>
      execFileSync('bash', ['-n', file], { stdio: 'pipe' }),
    ).not.toThrow();
  });

  test('writes the bundle byte for byte: the quoted heredoc expands nothing', () => {
    const target = path.join(dir, 'backend.js');
    const writer = heredoc(`cat > ${BACKEND_SCRIPT} `)
      .join('\n')
      .replace(BACKEND_SCRIPT, target);
    execFileSync('bash', ['-c', writer]);
    expect(fs.readFileSync(target, 'utf8')).toBe(
      bundleBackend().replace(/\n$/, '') + '\n',
    );
    expect(bundleBackend()).toMatch(/\$\{|`/);
  });

  test('installs Node.js 22 from the AL2023 repositories and runs the bundle with its namespaced binary', () => {
    expect(script).toMatch(/dnf install -y nodejs22 /);
    expect(script).toContain(
      'ExecStart=/usr/bin/node-22 /opt/sticky-edge/backend.js\n',
    );
  });

  test('runs a hardened, restarting service as an unprivileged system user', () => {
    const unit = heredoc(
      'cat > /etc/systemd/system/sticky-edge-backend.service ',
    ).slice(1, -1);
    expect(script).toMatch(/useradd --system .*sticky-backend\n/);
    expect(unit).toEqual(
      expect.arrayContaining([
        'User=sticky-backend',
        'Restart=on-failure',
        'RestartSec=2',
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        'CapabilityBoundingSet=',
        'Environment=BACKEND_NAME=app-a',
        'Environment=BACKEND_LISTEN=0.0.0.0:3000',
        `Environment=BACKEND_TRUSTED_PROXIES=${TOKEN}/32,10.0.0.0/16`,
        'WantedBy=multi-user.target',
      ]),
    );
    expect(lines).toContain(
      'systemctl enable --now sticky-edge-backend.service',
    );
  });

  test('configures the backend through environment variables it accepts', () => {
    const unit = heredoc('cat > /etc/systemd/system/').join('\n');
    const env = Object.fromEntries(
      [...unit.matchAll(/^Environment=(\w+)=(.*)$/gm)].map((m) => [
        m[1],
        m[2].replace(`${TOKEN}/32,`, ''),
      ]),
    );
    expect(parseBackendArgs([], env)).toEqual({
      name: 'app-a',
      host: '0.0.0.0',
      port: 3000,
      trustedProxies: ['10.0.0.0/16'],
    });
  });

  test('ends by waiting until the backend answers its health path', async () => {
    const backend = await startBackend({
      name: 'a',
      host: '127.0.0.1',
      port: 0,
      trustedProxies: [],
    });
    try {
      const wait = backendInstallCommands({
        name: 'a',
        port: backend.port,
        trustedProxies: [],
      }).slice(-1)[0];
      expect(wait).toContain(`http://127.0.0.1:${backend.port}/healthz`);
      // Asynchronously: the backend answering curl lives in this process.
      const bash = spawn('bash', ['-euo', 'pipefail', '-c', wait], {
        stdio: 'ignore',
      });
      expect((await once(bash, 'exit'))[0]).toBe(0);
    } finally {
      await backend.close();
    }
  });

  const systemdAnalyze =
    spawnSync('systemd-analyze', ['--version']).status === 0;
  const testWithSystemd = systemdAnalyze ? test : test.skip;
  testWithSystemd(
    'writes a unit systemd-analyze accepts without a warning',
    () => {
      const unit = heredoc('cat > /etc/systemd/system/')
        .slice(1, -1)
        .join('\n')
        .replace('/usr/bin/node-22', process.execPath);
      const file = path.join(dir, 'sticky-edge-backend.service');
      fs.writeFileSync(file, unit + '\n');
      const result = spawnSync('systemd-analyze', ['verify', file], {
        encoding: 'utf8',
      });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    },
  );

  test('fits in user data (16 KB) with room for the construct’s own lines', () => {
    expect(Buffer.byteLength(script)).toBeLessThan(14 * 1024);
  });

  test.each([
    ['the name has a space', { name: 'app a' }, /^name must be .*got "app a"$/],
    ['the port is privileged', { port: 80 }, /^backend port must be .*got 80$/],
    ['the port is not whole', { port: 3000.5 }, /got 3000.5$/],
    [
      'a trusted proxy is bad',
      { trustedProxies: ['10.0.0.0/40'] },
      /got "10.0.0.0\/40"$/,
    ],
    [
      'a token entry carries a unit-file line',
      { trustedProxies: [`${TOKEN}/32\nExecStartPre=/bin/sh -c id`] },
      /^trusted proxy must be an IP or CIDR, got "\$\{Token\[TOKEN\.123\]\}\/32\\nExecStartPre=/,
    ],
    [
      'a token entry has text after it',
      { trustedProxies: [`${TOKEN},0.0.0.0/0`] },
      /got "\$\{Token\[TOKEN\.123\]\},0\.0\.0\.0\/0"$/,
    ],
  ])('fails when %s', (_why, override, message) => {
    expect(() =>
      backendInstallCommands({
        name: 'a',
        port: 3000,
        trustedProxies: [],
        ...override,
      }),
    ).toThrow(message);
  });
});
