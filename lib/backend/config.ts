/**
 * Reading and checking the demo backend's configuration: flags first, then environment variables (how the
 * systemd unit configures it). Every bad value becomes one `UserError` line naming the value.
 */
import { BlockList, isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { UserError } from '../errors';

/** What the process entry needs to start a backend. */
export interface BackendConfig {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly trustedProxies: readonly string[];
}

/** The environment variables the systemd unit sets (flags win over them). */
export const BACKEND_ENV = {
  name: 'BACKEND_NAME',
  listen: 'BACKEND_LISTEN',
  trustedProxies: 'BACKEND_TRUSTED_PROXIES',
} as const;

export const USAGE =
  'usage: backend --name NAME --listen HOST:PORT [--trust-proxy IP|CIDR ...]' +
  ` (or ${BACKEND_ENV.name}, ${BACKEND_ENV.listen}, ${BACKEND_ENV.trustedProxies}=a,b)`;

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The name shows up in JSON, HTML, unit files and logs, so it is kept to a safe alphabet. */
export function checkBackendName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new UserError(
      `name must be 1-63 letters, digits, dots, dashes or underscores, got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/** `::ffff:10.0.0.1` (how a dual-stack socket reports an IPv4 peer) is the same host as `10.0.0.1`. */
export function normaliseAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1] : address;
}

/**
 * The widest trusted range: the widest an AWS VPC can be, as the proxies in front of a backend (nginx nodes,
 * NAT) live in one. VPC User Guide, "VPC CIDR blocks": IPv4 /16 to /28; IPv6 /44 to /60 (BYOIP or IPAM;
 * Amazon-provided blocks are /56; https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html).
 * Wider ranges, or several that together cover everything (0.0.0.0/1 and 128.0.0.0/1), would let clients
 * outside choose the address the backend reports.
 */
export const WIDEST_TRUSTED_PREFIX = { 4: 16, 6: 44 } as const;

/** Answers "is this address one of the proxies whose forwarding headers we believe?". */
export type TrustCheck = (address: string) => boolean;

/**
 * Builds the trust check from IPs and CIDRs. A prefix of length 0 is refused: trusting every address would
 * let any client choose the address the backend reports (the seed's `set_real_ip_from 0.0.0.0/0` mistake).
 */
export function parseTrustedProxies(entries: readonly string[]): TrustCheck {
  const list = new BlockList();
  for (const entry of entries) addTrusted(list, entry);
  return (address) => {
    const plain = normaliseAddress(address);
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  };
}

function addTrusted(list: BlockList, entry: string): void {
  const bad = (why: string) =>
    new UserError(
      `trusted proxy must be an IP or CIDR${why}, got ${JSON.stringify(entry)}`,
    );
  const [rawAddress, prefixText, ...rest] = entry.split('/');
  const address = normaliseAddress(rawAddress);
  const family = isIP(address);
  if (family === 0 || rest.length > 0) throw bad('');
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (prefixText === undefined) {
    list.addAddress(address, type);
    return;
  }
  const maxPrefix = family === 4 ? 32 : 128;
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > maxPrefix)
    throw bad(` (prefix 1-${maxPrefix})`);
  if (prefix === 0)
    throw bad(' narrower than /0 (that would trust every client)');
  const widest = WIDEST_TRUSTED_PREFIX[family === 4 ? 4 : 6];
  if (prefix < widest)
    throw bad(
      ` no wider than an AWS VPC (/${widest} for IPv${family}: the proxies are inside one)`,
    );
  list.addSubnet(address, prefix, type);
}

/** `127.0.0.1:3000`, `[::1]:3000` or `0.0.0.0:0` (port 0 picks a free port). */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  const hostFamily = host === undefined ? 0 : isIP(host);
  if (
    !match ||
    hostFamily === 0 ||
    (match[1] !== undefined && hostFamily !== 6) ||
    port > 65535
  ) {
    throw new UserError(
      `listen must be IPv4:PORT or [IPv6]:PORT with a port from 0 to 65535, got ${JSON.stringify(text)}`,
    );
  }
  return { host: host as string, port };
}

/** Reads flags, falling back to the environment; throws `UserError` (or parseArgs' error) on bad input. */
export function parseBackendArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): BackendConfig {
  const { values, tokens } = parseArgs({
    args: [...argv],
    options: {
      name: { type: 'string' },
      listen: { type: 'string' },
      'trust-proxy': { type: 'string', multiple: true },
    },
    strict: true,
    allowPositionals: false,
    tokens: true,
  });
  refuseRepeats(tokens);
  const name = values.name ?? env[BACKEND_ENV.name];
  const listen = values.listen ?? env[BACKEND_ENV.listen];
  if (name === undefined)
    throw new UserError(
      `--name (or ${BACKEND_ENV.name}) is required; ${USAGE}`,
    );
  if (listen === undefined)
    throw new UserError(
      `--listen (or ${BACKEND_ENV.listen}) is required; ${USAGE}`,
    );
  const trustedProxies =
    values['trust-proxy'] ?? splitList(env[BACKEND_ENV.trustedProxies]);
  parseTrustedProxies(trustedProxies);
  return {
    name: checkBackendName(name),
    ...parseListen(listen),
    trustedProxies,
  };
}

/** parseArgs keeps the last of `--name a --name b`; a flag given twice, or a repeated proxy, is a mistake. */
function refuseRepeats(
  tokens: readonly { kind: string; name?: string; value?: string }[],
): void {
  const seen = new Map<string, string[]>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name === undefined) continue;
    const value = token.value ?? '';
    const earlier = seen.get(token.name) ?? [];
    if (token.name !== 'trust-proxy' && earlier.length > 0)
      throw new UserError(
        `--${token.name} may be given once, got ${JSON.stringify(earlier[0])} and ${JSON.stringify(value)}`,
      );
    if (earlier.includes(value))
      throw new UserError(
        `--${token.name} ${JSON.stringify(value)} is given twice`,
      );
    seen.set(token.name, [...earlier, value]);
  }
}

function splitList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}
