/**
 * Network namespaces of our own, for a black hole: a demo backend inside a namespace, reached over a veth pair,
 * whose packets an nftables rule inside that namespace drops. Every address used is inside the namespace or on
 * the veth pair it owns, and deleting the namespace removes the pair and the rule with it. Needs root
 * (CAP_SYS_ADMIN for `ip netns`) and the `ip` and `nft` tools (iproute2, nftables).
 */
import { execFileSync } from 'node:child_process';

const sh = (cmd: string, args: readonly string[]) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** Why namespaces cannot be used on this machine, in one line, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: ip netns needs CAP_SYS_ADMIN';
  for (const tool of ['ip', 'nft'])
    try {
      sh('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed (nftables, iproute2)`;
    }
  return undefined;
}

/** A namespace with one veth pair: the host side `hostAddress`, the namespace side `address`, a /30 of its own. */
export interface Namespace {
  readonly name: string;
  /** The host side of the veth pair: the source address of connections from the host into the namespace. */
  readonly hostAddress: string;
  /** The namespace side, where a server inside listens. */
  readonly address: string;
}

const TABLE = 'sticky_edge_blackhole';

/**
 * Creates namespace `name` (deleting a leftover of the same name first) with a veth pair on the /30
 * `subnet.0/30` (`subnet` is three octets, e.g. `10.213.7`); `ifPrefix` names the pair's two ends
 * (`<ifPrefix>h`, `<ifPrefix>n`; at most 14 characters, as Linux allows 15 per interface name).
 */
export function makeNamespace(
  name: string,
  subnet: string,
  ifPrefix: string,
): Namespace {
  if (ifPrefix.length > 14)
    throw new Error(
      `interface prefix ${ifPrefix} is longer than 14 characters`,
    );
  const [hostIf, nsIf] = [`${ifPrefix}h`, `${ifPrefix}n`];
  deleteNamespace(name);
  sh('ip', ['netns', 'add', name]);
  try {
    sh('ip', [
      'link',
      'add',
      hostIf,
      'type',
      'veth',
      'peer',
      'name',
      nsIf,
      'netns',
      name,
    ]);
    sh('ip', ['addr', 'add', `${subnet}.1/30`, 'dev', hostIf]);
    sh('ip', ['link', 'set', hostIf, 'up']);
    sh('ip', ['-n', name, 'addr', 'add', `${subnet}.2/30`, 'dev', nsIf]);
    sh('ip', ['-n', name, 'link', 'set', nsIf, 'up']);
    sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    deleteNamespace(name);
    throw err;
  }
  return { name, hostAddress: `${subnet}.1`, address: `${subnet}.2` };
}

/** Deletes the namespace (and with it its veth pair and firewall rules); nothing happens when it is not there. */
export function deleteNamespace(name: string): void {
  try {
    sh('ip', ['netns', 'del', name]);
  } catch {
    // Not there.
  }
}

/** The command line that runs `command` inside the namespace. */
export function inNamespace(
  ns: Namespace,
  command: string,
  args: readonly string[],
): [string, string[]] {
  return ['ip', ['netns', 'exec', ns.name, command, ...args]];
}

/** Drops every TCP packet to `port` arriving in the namespace: new connections time out, open ones hear nothing. */
export function dropTcp(ns: Namespace, port: number): void {
  sh('ip', [
    'netns',
    'exec',
    ns.name,
    'sh',
    '-c',
    `nft add table inet ${TABLE} && nft add chain inet ${TABLE} input '{ type filter hook input priority 0; }' && nft add rule inet ${TABLE} input tcp dport ${port} drop`,
  ]);
}

/** Takes the rule `dropTcp` added away again. */
export function undropTcp(ns: Namespace): void {
  sh('ip', ['netns', 'exec', ns.name, 'nft', 'delete', 'table', 'inet', TABLE]);
}
