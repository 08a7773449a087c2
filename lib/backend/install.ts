/**
 * Shell lines that install the demo backend on Amazon Linux 2023 as a systemd service. Plain strings (no CDK
 * imports): the app-tier construct appends them to the instance's user data.
 */
import { bundleBackend } from './bundle';
import { BACKEND_ENV, checkBackendName, parseTrustedProxies } from './config';
import { HEALTH_PATH } from './server';
import { UserError } from '../errors';
import { dnfInstallWithRetry } from '../os/dnf-install';

export interface BackendInstallOptions {
  readonly name: string;
  /** The backend listens on all interfaces on this port; 1024 or above, as it runs unprivileged. */
  readonly port: number;
  /** IPs or CIDRs; may hold CDK token strings (the NAT Elastic IPs), which CloudFormation fills in. */
  readonly trustedProxies: readonly string[];
}

export const BACKEND_DIR = '/opt/sticky-edge';
export const BACKEND_SCRIPT = `${BACKEND_DIR}/backend.js`;
export const BACKEND_USER = 'sticky-backend';
export const BACKEND_SERVICE = 'sticky-edge-backend.service';

/**
 * AL2023 ships Node.js as namespaced packages (`nodejs20`, `nodejs22`, `nodejs24`) whose binary is
 * `/usr/bin/node-<major>`; the unit names that binary so `alternatives` switching `node` cannot change it.
 * Source: https://docs.aws.amazon.com/linux/al2023/ug/nodejs.html
 */
export const NODE_PACKAGE = 'nodejs22';
export const NODE_BINARY = '/usr/bin/node-22';

/** Quoted heredoc delimiters: the shell expands nothing between them. */
const SCRIPT_END = 'STICKY_EDGE_BACKEND_JS';
const UNIT_END = 'STICKY_EDGE_BACKEND_UNIT';

/**
 * CDK encodes an unresolved string as `${Token[…]}`; its deployed value is only known to CloudFormation. Only a
 * whole token (an address), optionally with a literal prefix length, passes unchecked: any other text around
 * it (a newline would add a directive to the unit file) is validated, and refused, like a literal.
 */
const WHOLE_TOKEN_ENTRY = /^\$\{Token\[[a-zA-Z0-9:._-]+\]\}(?:\/\d{1,3})?$/;

export function backendInstallCommands(
  options: BackendInstallOptions,
): string[] {
  const name = checkBackendName(options.name);
  checkPort(options.port);
  parseTrustedProxies(
    options.trustedProxies.filter((entry) => !WHOLE_TOKEN_ENTRY.test(entry)),
  );
  const script = bundleBackend();
  if (script.split('\n').includes(SCRIPT_END))
    throw new Error(
      `the backend bundle contains the heredoc delimiter ${SCRIPT_END}`,
    );
  return [
    ...installNode(),
    `id -u ${BACKEND_USER} >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin ${BACKEND_USER}`,
    `install -d -m 0755 -o root -g root ${BACKEND_DIR}`,
    `cat > ${BACKEND_SCRIPT} <<'${SCRIPT_END}'`,
    script.replace(/\n$/, ''),
    SCRIPT_END,
    `chmod 0644 ${BACKEND_SCRIPT}`,
    `cat > /etc/systemd/system/${BACKEND_SERVICE} <<'${UNIT_END}'`,
    ...unitFile(name, options.port, options.trustedProxies),
    UNIT_END,
    'systemctl daemon-reload',
    `systemctl enable --now ${BACKEND_SERVICE}`,
    ...awaitHealthy(options.port),
  ];
}

/**
 * `systemctl enable --now` returns once the process is forked; waiting for the health path makes whatever
 * runs next (the CloudFormation signal) mean "the backend answers", and fails user data if it never does.
 */
function awaitHealthy(port: number): string[] {
  return [
    `for attempt in $(seq 1 30); do curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:${port}${HEALTH_PATH} && break; ` +
      `if [ "$attempt" -eq 30 ]; then echo "sticky-edge: the backend is not answering on port ${port}" >&2; ` +
      `journalctl -u ${BACKEND_SERVICE} --no-pager -n 20 >&2; exit 1; fi; sleep 1; done`,
  ];
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1024 || port > 65535) {
    throw new UserError(
      `backend port must be a whole number from 1024 to 65535 (it runs unprivileged), got ${port}`,
    );
  }
}

function installNode(): string[] {
  return [dnfInstallWithRetry([NODE_PACKAGE])];
}

function unitFile(
  name: string,
  port: number,
  trustedProxies: readonly string[],
): string[] {
  return [
    '[Unit]',
    `Description=sticky-edge demo backend ${name}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    `User=${BACKEND_USER}`,
    `Group=${BACKEND_USER}`,
    `Environment=${BACKEND_ENV.name}=${name}`,
    `Environment=${BACKEND_ENV.listen}=0.0.0.0:${port}`,
    `Environment=${BACKEND_ENV.trustedProxies}=${trustedProxies.join(',')}`,
    `ExecStart=${NODE_BINARY} ${BACKEND_SCRIPT}`,
    'Restart=on-failure',
    'RestartSec=2',
    // Bad configuration exits 2: retrying cannot fix it, so do not loop on it.
    'RestartPreventExitStatus=2',
    // The service only needs to read its script and open TCP sockets. No MemoryDenyWriteExecute: V8's JIT needs it.
    'NoNewPrivileges=yes',
    'CapabilityBoundingSet=',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectControlGroups=yes',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
    'RestrictNamespaces=yes',
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
}
