/**
 * Shell lines that install the health agent on an Amazon Linux 2023 nginx node as a systemd service. Plain
 * strings (no CDK imports): the nginx tier appends them to its user data, after nginx runs.
 *
 * Why a Node.js script and not a shell loop with curl: the decision logic (fall/rise counts, never all down,
 * rewriting only the renderer's server lines) is tested here as TypeScript against real nginx, and the same
 * bundle runs in the local topology; Node.js 22 is one dnf package on AL2023 (the app servers use it too).
 */
import { gzipSync } from 'node:zlib';
import { bundleAgent } from './bundle';
import { NODE_BINARY, NODE_PACKAGE } from '../backend/install';

export const AGENT_DIR = '/opt/sticky-edge';
export const AGENT_SCRIPT = `${AGENT_DIR}/health-agent.js`;
export const AGENT_SERVICE = 'sticky-edge-health.service';
/** The package Node.js the agent runs on comes from (nginx's own user data installs it with nginx). */
export const AGENT_PACKAGE = NODE_PACKAGE;

const SCRIPT_END = 'STICKY_EDGE_HEALTH_JS';
const UNIT_END = 'STICKY_EDGE_HEALTH_UNIT';

/** Writes the agent and its unit, and starts it; nginx must already be installed and running. */
export function agentInstallCommands(
  nginxConf = '/etc/nginx/nginx.conf',
): string[] {
  return [
    `install -d -m 0755 -o root -g root ${AGENT_DIR}`,
    // Compressed: EC2 takes at most 16 KB of user data, and the nginx tier's also carries nginx.conf and the
    // CloudWatch agent's config. base64's alphabet cannot spell the heredoc's delimiter.
    `base64 -d <<'${SCRIPT_END}' | gunzip > ${AGENT_SCRIPT}`,
    ...compressedLines(bundleAgent()),
    SCRIPT_END,
    `chmod 0644 ${AGENT_SCRIPT}`,
    `cat > /etc/systemd/system/${AGENT_SERVICE} <<'${UNIT_END}'`,
    '[Unit]',
    'Description=sticky-edge health agent: marks hung or unreachable backends down in nginx.conf',
    'After=nginx.service',
    'Requires=nginx.service',
    '',
    '[Service]',
    // Root: it rewrites /etc/nginx/nginx.conf and signals nginx's master (root), as `nginx -s reload` does.
    `ExecStart=${NODE_BINARY} ${AGENT_SCRIPT} --conf ${nginxConf} --nginx /usr/sbin/nginx`,
    'Restart=always',
    'RestartSec=1',
    'RestartPreventExitStatus=2',
    'NoNewPrivileges=yes',
    'ProtectSystem=true',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    UNIT_END,
    'systemctl daemon-reload',
    `systemctl enable --now ${AGENT_SERVICE}`,
    `systemctl is-active --quiet ${AGENT_SERVICE}`,
  ];
}

/** gzip, then base64 in 76-character lines (as `base64` writes them); deterministic: gzip's header holds no time. */
export function compressedLines(text: string): string[] {
  return (
    gzipSync(text, { level: 9 })
      .toString('base64')
      .match(/.{1,76}/g) ?? []
  );
}
