/**
 * Shell lines that install the health agent on an Amazon Linux 2023 nginx node as a systemd service. Plain
 * strings (no CDK imports): the nginx tier appends them to its user data, after nginx runs.
 *
 * Why a Node.js script and not a shell loop with curl: the decision logic (fall/rise counts, never all down,
 * rewriting only the renderer's server lines) is tested here as TypeScript against real nginx, and the same
 * bundle runs in the local topology; Node.js 22 is one dnf package on AL2023 (the app servers use it too).
 */
import { bundleAgent } from './bundle';
import { NODE_BINARY, NODE_PACKAGE } from '../backend/install';
import { compressedLines } from '../os/compress';

export const AGENT_DIR = '/opt/sticky-edge';
export const AGENT_SCRIPT = `${AGENT_DIR}/health-agent.js`;
export const AGENT_SERVICE = 'sticky-edge-health.service';
/** The package Node.js the agent runs on comes from (nginx's own user data installs it with nginx). */
export const AGENT_PACKAGE = NODE_PACKAGE;

/** The nginx group's termination lifecycle hook; a name per group, so a fixed one clashes with nothing. */
export const LIFECYCLE_HOOK_NAME = 'sticky-edge-websocket-drain';

/** What the agent needs to hold a terminating node while its WebSockets remain (lib/agent/lifecycle.ts). */
export interface AgentLifecycle {
  /** The group's region (a CDK token on the CDK path: it is only text here). */
  readonly region: string;
  /** The longest a terminating node waits for its WebSockets. */
  readonly webSocketDrainSeconds: number;
}

const SCRIPT_END = 'STICKY_EDGE_HEALTH_JS';
const UNIT_END = 'STICKY_EDGE_HEALTH_UNIT';

/** Writes the agent and its unit, and starts it; nginx must already be installed and running. */
export function agentInstallCommands(
  nginxConf = '/etc/nginx/nginx.conf',
  lifecycle?: AgentLifecycle,
): string[] {
  const lifecycleFlags =
    lifecycle === undefined
      ? ''
      : ` --lifecycle-hook ${LIFECYCLE_HOOK_NAME} --region ${lifecycle.region} --websocket-drain ${lifecycle.webSocketDrainSeconds}`;
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
    // Wants, not Requires: on scale-in the agent quits nginx and outlives it while its WebSockets drain.
    'Wants=nginx.service',
    '',
    '[Service]',
    // Root: it rewrites /etc/nginx/nginx.conf and signals nginx's master (root), as `nginx -s reload` does.
    `ExecStart=${NODE_BINARY} ${AGENT_SCRIPT} --conf ${nginxConf} --nginx /usr/sbin/nginx${lifecycleFlags}`,
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
