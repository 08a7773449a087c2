import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { UserError } from '../errors';
import {
  HASH_IPV6_PREFIXES,
  type HashIpv6Prefix,
  CookieSameSite,
  DEFAULT_COOKIE_NAME,
  isCookieName,
  isSameSite,
  LB_KINDS,
  SAME_SITE_NONE_NEEDS_TLS,
  SETTING_KEYS,
  STICKY_STRATEGIES,
} from '../settings';
import type { BackendSpec, EdgeRenderOptions } from './render-options';

/**
 * Validation and normalisation of the renderer's options. Every failure is a `UserError` whose one-line
 * message names the option and the bad value.
 *
 * Unresolved CDK tokens: their text is not their deployed value, so there is nothing to check before
 * CloudFormation resolves them. Only the CDK path may carry them (`{ allowTokens: true }`); everywhere else
 * (the CLI, the local topology) a string is a literal and is validated as one, so `${Token[` cannot smuggle
 * text past the checks. Even on the CDK path a token must stand where a whole value stands (a whole CIDR, a
 * whole id, a whole host before `:PORT`): `${Token[X]}\nset_real_ip_from 0.0.0.0/0` is refused everywhere.
 */

/** How strings are read: as literals (the default, and always on the CLI) or with whole CDK tokens allowed. */
export interface TokenPolicy {
  /**
   * Accept an unresolved CDK token where a whole value stands (the CDK app only).
   * @default false - every string is a literal and is validated as one
   */
  readonly allowTokens?: boolean;
}

/**
 * The text of one whole unresolved CDK token, nothing around it: `${Token[…]}` strings and `#{Token[…]}`
 * list elements, keys drawn from CDK's own alphabet (aws-cdk-lib core/lib/private/encoding: VALID_KEY_CHARS).
 */
const WHOLE_TOKEN = /^(?:\$|#)\{Token\[[a-zA-Z0-9:._-]+\]\}$/;

/** True for a whole unresolved CDK token: one token string, or a token number (CDK encodes those below -1e289). */
export function isToken(value: unknown): boolean {
  if (typeof value === 'number') return value <= -1e289;
  return typeof value === 'string' && WHOLE_TOKEN.test(value);
}

function fail(name: string, expected: string, value: unknown): never {
  throw new UserError(
    `${name} must be ${expected}, got ${JSON.stringify(value)}`,
  );
}

const LISTEN_FORMS = 'PORT, IPV4:PORT or [IPV6]:PORT';
const BACKEND_FORMS = 'IPV4:PORT or [IPV6]:PORT';
const TRUST_FORMS =
  "an IPv4 or IPv6 CIDR such as 10.0.0.0/24 (the load balancer's addresses)";
const ROUTE_ID_FORMS = '1-32 lowercase letters, digits, dashes or underscores';

/**
 * The widest trust range: the widest an AWS VPC (and so a load balancer's subnets) can be. VPC User Guide,
 * "VPC CIDR blocks": an IPv4 block is /16 to /28; an IPv6 block is /44 to /60 in steps of 4 (BYOIP or IPAM),
 * and Amazon-provided ones are /56 (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html).
 * Anything wider trusts addresses that cannot be the load balancer, and ranges like 0.0.0.0/1 + 128.0.0.0/1
 * together trust everyone.
 */
export const WIDEST_TRUST = { 4: 16, 6: 44 } as const;

/**
 * The most backends the renderer accepts. Each upstream has a 64 KB shared-memory zone (`zone NAME 64k`), and
 * what a server takes in it grows with its address's length and with `backup` (the cookie strategy's route
 * upstreams): measured with nginx 1.22, the worst case (cookie, 32-character ids) loads 62 backends and fails
 * at 63 with "ngx_slab_alloc() failed: no memory in upstream zone"; 60 leaves room.
 * test/nginx/nginx-t.test.ts loads 60 of the longest addresses for every strategy.
 */
export const MAX_BACKENDS = 60;

function port(text: string): number | undefined {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  return n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * IPv4-mapped (::ffff:0:0/96) or IPv4-compatible (::/96 but :: and ::1) IPv6, in any spelling
 * (`::ffff:7f00:1` is `::ffff:127.0.0.1`): nginx prints such an address dotted in `$upstream_addr`, URL
 * normalises it to hex, and the cookie strategy's map would never match the backend that answered.
 */
function isIPv4InIPv6(address: string): boolean {
  const value = addressValue(address);
  const high = value >> 32n;
  return high === 0xffffn || (high === 0n && value > 1n);
}

/** `IPV4:PORT` or `[IPV6]:PORT` in the form nginx prints in `$upstream_addr`, or undefined. */
function hostPort(text: string): string | undefined {
  const v4 = /^([0-9.]+):(\d+)$/.exec(text);
  if (v4 && isIPv4(v4[1]) && port(v4[2])) return `${v4[1]}:${port(v4[2])}`;
  // No dotted IPv4 inside IPv6 (::ffff:10.0.0.1), nor its hex spellings: see isIPv4InIPv6.
  const v6 = /^\[([0-9a-fA-F:]+)\]:(\d+)$/.exec(text);
  if (v6 && isIPv6(v6[1]) && port(v6[2]) && !isIPv4InIPv6(v6[1]))
    return `${new URL(`http://[${v6[1]}]`).hostname}:${port(v6[2])}`;
  return undefined;
}

/** A whole token host with a literal port (`${Token[…]}:3000`), as the CDK app writes an app server's endpoint. */
function tokenHostPort(text: string): boolean {
  const colon = text.lastIndexOf(':');
  return (
    colon > 0 &&
    isToken(text.slice(0, colon)) &&
    port(text.slice(colon + 1)) !== undefined
  );
}

/** A value the CDK path passes on unchecked: a whole token (or a whole token host and a literal port). */
function passToken(
  value: unknown,
  policy: TokenPolicy,
  withPort = false,
): boolean {
  if (policy.allowTokens !== true) return false;
  return (
    isToken(value) ||
    (withPort && typeof value === 'string' && tokenHostPort(value))
  );
}

/** A listen address (`PORT`, `IPV4:PORT`, `[IPV6]:PORT`) normalised, or the token unchanged. */
export function listenAddress(
  name: string,
  value: unknown,
  policy: TokenPolicy = {},
): string {
  if (passToken(value, policy, true)) return value as string;
  if (typeof value !== 'string') fail(name, LISTEN_FORMS, value);
  const normalised =
    port(value) !== undefined ? String(port(value)) : hostPort(value);
  return normalised ?? fail(name, LISTEN_FORMS, value);
}

/** A backend's `IPV4:PORT` or `[IPV6]:PORT`, normalised to the text nginx writes into `$upstream_addr`. */
export function backendAddress(
  value: unknown,
  policy: TokenPolicy = {},
): string {
  if (passToken(value, policy, true)) return value as string;
  if (typeof value !== 'string') fail('backend', BACKEND_FORMS, value);
  return hostPort(value) ?? fail('backend', BACKEND_FORMS, value);
}

function prefixBits(address: string): number {
  return isIPv4(address) ? 32 : 128;
}

/** The address as a big integer, for checking that a CIDR has no host bits. */
function addressValue(address: string): bigint {
  if (isIPv4(address))
    return address
      .split('.')
      .reduce((acc, octet) => (acc << 8n) | BigInt(octet), 0n);
  const groups = new URL(`http://[${address}]`).hostname.slice(1, -1);
  const [head, tail = ''] = groups.split('::');
  const split = (s: string) => (s === '' ? [] : s.split(':'));
  const parts = groups.includes('::')
    ? [
        ...split(head),
        ...Array(8 - split(head).length - split(tail).length).fill('0'),
        ...split(tail),
      ]
    : split(groups);
  return parts.reduce((acc, group) => (acc << 16n) | BigInt(`0x${group}`), 0n);
}

/**
 * A CIDR (or a single address) whose PROXY header or X-Forwarded-For nginx may believe. A prefix of 0 is
 * refused: trusting every address lets any client choose the address nginx hashes and logs. So is any
 * range wider than a VPC can be (`WIDEST_TRUST`).
 */
export function trustCidr(value: unknown, policy: TokenPolicy = {}): string {
  if (passToken(value, policy)) return value as string;
  if (typeof value !== 'string') fail('trust', TRUST_FORMS, value);
  const [address, bits, extra] = value.split('/');
  // A zone id (fe80::1%eth0) names an interface, not an address nginx can match a peer against.
  if (
    extra !== undefined ||
    address.includes('%') ||
    !(isIPv4(address) || isIPv6(address))
  )
    fail('trust', TRUST_FORMS, value);
  const max = prefixBits(address);
  const prefix =
    bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) fail('trust', TRUST_FORMS, value);
  if (prefix === 0) {
    throw new UserError(
      `trust must not be ${JSON.stringify(value)}: it lets any client choose its own address; name the load balancer's CIDRs`,
    );
  }
  const widest = WIDEST_TRUST[max === 32 ? 4 : 6];
  if (prefix < widest) {
    throw new UserError(
      `trust ${JSON.stringify(value)} is wider than an AWS VPC can be (at most /${widest} for IPv${max === 32 ? 4 : 6}): name the load balancer's subnets`,
    );
  }
  const hostBits = BigInt(max - prefix);
  if (addressValue(address) & ((1n << hostBits) - 1n)) {
    throw new UserError(
      `trust ${JSON.stringify(value)} has host bits set: write the network address of the CIDR`,
    );
  }
  return value;
}

/**
 * The route id carried in the `cookie` strategy's cookie: the spec's own id, or a hash of the address,
 * so a backend's id does not depend on which other backends exist.
 */
export function routeId(
  backend: BackendSpec,
  address: string,
  policy: TokenPolicy = {},
): string {
  if (backend.id === undefined)
    return createHash('sha256').update(address).digest('hex').slice(0, 12);
  if (passToken(backend.id, policy)) return backend.id;
  return /^[a-z0-9][a-z0-9_-]{0,31}$/.test(backend.id)
    ? backend.id
    : fail('backend id', ROUTE_ID_FORMS, backend.id);
}

/** One backend after validation. */
export interface Backend {
  readonly address: string;
  readonly id: string;
}

function validBackends(
  specs: unknown,
  needsIds: boolean,
  policy: TokenPolicy,
): Backend[] {
  if (!Array.isArray(specs) || specs.length === 0) {
    throw new UserError('backends must name at least one backend, got none');
  }
  if (specs.length > MAX_BACKENDS) {
    throw new UserError(
      `backends must name at most ${MAX_BACKENDS} backends (the upstream's 64 KB zone holds no more), got ${specs.length}`,
    );
  }
  const backends = (specs as BackendSpec[]).map((spec) => {
    const address = backendAddress(spec?.address, policy);
    if (needsIds && spec.id === undefined && address.includes('Token[')) {
      throw new UserError(
        `backend ${JSON.stringify(address)} is an unresolved token and needs an id for the cookie strategy`,
      );
    }
    return { address, id: routeId(spec, address, policy) };
  });
  for (const key of ['address', 'id'] as const) {
    const seen = new Set<string>();
    for (const backend of backends) {
      if (seen.has(backend[key])) {
        throw new UserError(
          `backend ${key === 'id' ? 'id ' : ''}${JSON.stringify(backend[key])} is listed twice`,
        );
      }
      seen.add(backend[key]);
    }
  }
  return backends;
}

function oneOf<T extends string>(
  name: 'lb' | 'sticky',
  value: unknown,
  allowed: readonly T[],
): T {
  return (allowed as readonly unknown[]).includes(value)
    ? (value as T)
    : fail(name, SETTING_KEYS[name], value);
}

function cookieTtl(value: unknown, policy: TokenPolicy): number {
  if (value === undefined) return 3600;
  if (passToken(value, policy)) return value as number;
  return Number.isInteger(value) &&
    (value as number) >= 60 &&
    (value as number) <= 31536000
    ? (value as number)
    : fail('cookieTtl', SETTING_KEYS.cookieTtl, value);
}

function upstreamTimeout(value: unknown, policy: TokenPolicy): number {
  if (value === undefined) return 10;
  if (passToken(value, policy)) return value as number;
  return Number.isInteger(value) &&
    (value as number) >= 1 &&
    (value as number) <= 3600
    ? (value as number)
    : fail('upstreamTimeout', SETTING_KEYS.upstreamTimeout, value);
}

/** A normalised listen address as host (`0.0.0.0` for a bare port, as nginx reads it) and port. */
function hostAndPort(listen: string): { host: string; port: string } {
  const colon = listen.lastIndexOf(':');
  return colon < 0
    ? { host: '0.0.0.0', port: listen }
    : { host: listen.slice(0, colon), port: listen.slice(colon + 1) };
}

/**
 * True when the status listener would answer on the traffic port. nginx reads `listen 80` as `0.0.0.0:80`
 * (IPv4 only) and opens `[::]:P` with `ipv6only=on` (its default since 1.3.4), so an address of the other
 * family on the same port is a socket of its own (`listen 80` beside `[::1]:80` loads and serves both).
 * Refused: the same address; a wildcard and an address of the same family (nginx binds the wildcard and
 * hands connections to either server by local address); and a wildcard status listener of either family,
 * which answers on every address of the host on the traffic port.
 */
function clash(listen: string, status: string): boolean {
  if (listen.includes('Token[') || status.includes('Token[')) return false;
  const a = hostAndPort(listen);
  const b = hostAndPort(status);
  if (a.port !== b.port) return false;
  const wildcard = (host: string) => host === '0.0.0.0' || host === '[::]';
  const family = (host: string) => (host.startsWith('[') ? 6 : 4);
  return (
    a.host === b.host ||
    wildcard(b.host) ||
    (family(a.host) === family(b.host) && wildcard(a.host))
  );
}

/** `EdgeRenderOptions` after validation, with every default filled in. */
export interface ValidEdgeOptions {
  readonly lb: EdgeRenderOptions['lb'];
  readonly sticky: EdgeRenderOptions['sticky'];
  readonly listen: string;
  readonly trust: readonly string[];
  readonly backends: readonly Backend[];
  readonly statusListen?: string;
  readonly tls: boolean;
  readonly cookieTtlSeconds: number;
  readonly cookieName: string;
  readonly cookieSameSite: CookieSameSite;
  readonly upstreamTimeoutSeconds: number;
  /** The addresses of the drained backends (each as in `backends`), in the order of `backends`. */
  readonly drained: readonly string[];
  readonly hashIpv6Prefix: HashIpv6Prefix;
  readonly revealBackendTo: readonly string[];
}

/** `hashIpv6Prefix`: 64 or 128, and only for the `hash` strategy (elsewhere it would read as if it did something). */
function hashIpv6Prefix(value: unknown, sticky: string): HashIpv6Prefix {
  if (value === undefined) return 64;
  if (!(HASH_IPV6_PREFIXES as readonly unknown[]).includes(value))
    fail('hashIpv6Prefix', SETTING_KEYS.hashIpv6Prefix, value);
  if (sticky !== 'hash')
    throw new UserError(
      `hashIpv6Prefix applies only to sticky hash, got hashIpv6Prefix ${JSON.stringify(value)} with sticky ${sticky}`,
    );
  return value as HashIpv6Prefix;
}

const REVEAL_FORMS =
  "a list of IPv4 or IPv6 addresses or CIDRs no wider than a VPC (the post-deploy check's addresses)";

/** Who may learn which backend answered: addresses or narrow CIDRs, as for `trust` (no /0, nothing wider than a VPC). */
function revealBackendTo(value: unknown, policy: TokenPolicy): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail('revealBackendTo', REVEAL_FORMS, value);
  const cidrs = value.map((cidr: unknown) => {
    try {
      return trustCidr(cidr, policy);
    } catch {
      return fail('revealBackendTo', REVEAL_FORMS, cidr);
    }
  });
  const twice = cidrs.find((cidr, i) => cidrs.indexOf(cidr) !== i);
  if (twice !== undefined)
    throw new UserError(
      `revealBackendTo ${JSON.stringify(twice)} is listed twice`,
    );
  return cidrs;
}

/** Validates the renderer's options; `policy` says whether CDK tokens may stand for whole values (CDK path only). */
export function validateEdgeOptions(
  options: EdgeRenderOptions,
  policy: TokenPolicy = {},
): ValidEdgeOptions {
  const lb = oneOf('lb', options.lb, LB_KINDS);
  const sticky = oneOf('sticky', options.sticky, STICKY_STRATEGIES);
  const listen = listenAddress('listen', options.listen, policy);
  if (!Array.isArray(options.trust) || options.trust.length === 0) {
    throw new UserError(
      "trust must name at least one CIDR (the load balancer's addresses), got none",
    );
  }
  const trust = options.trust.map((cidr) => trustCidr(cidr, policy));
  const twice = trust.find((cidr, i) => trust.indexOf(cidr) !== i);
  if (twice !== undefined)
    throw new UserError(`trust ${JSON.stringify(twice)} is listed twice`);
  const backends = validBackends(options.backends, sticky === 'cookie', policy);
  const statusListen =
    options.statusListen === undefined
      ? undefined
      : listenAddress('statusListen', options.statusListen, policy);
  if (statusListen !== undefined && clash(listen, statusListen)) {
    throw new UserError(
      `statusListen must not share a port with listen ${JSON.stringify(listen)}, got ${JSON.stringify(statusListen)}`,
    );
  }
  const tls = options.tls === true;
  const cookieSameSite =
    options.cookieSameSite === undefined
      ? 'Lax'
      : isSameSite(options.cookieSameSite)
        ? options.cookieSameSite
        : fail(
            'cookieSameSite',
            SETTING_KEYS.cookieSameSite,
            options.cookieSameSite,
          );
  if (cookieSameSite === 'None' && !tls)
    throw new UserError(SAME_SITE_NONE_NEEDS_TLS('cookieSameSite', 'tls'));
  return {
    lb,
    sticky,
    listen,
    trust,
    backends,
    statusListen,
    tls,
    cookieTtlSeconds: cookieTtl(options.cookieTtlSeconds, policy),
    cookieName:
      options.cookieName === undefined
        ? DEFAULT_COOKIE_NAME
        : isCookieName(options.cookieName)
          ? options.cookieName
          : fail('cookieName', SETTING_KEYS.cookieName, options.cookieName),
    cookieSameSite,
    upstreamTimeoutSeconds: upstreamTimeout(
      options.upstreamTimeoutSeconds,
      policy,
    ),
    drained: drainedBackends(options.drain, backends),
    hashIpv6Prefix: hashIpv6Prefix(options.hashIpv6Prefix, sticky),
    revealBackendTo: revealBackendTo(options.revealBackendTo, policy),
  };
}

/** How an error names a backend: `id HOST:PORT`, or only the id while the address is a CDK token. */
const backendLabel = (b: Backend) =>
  b.address.includes('Token[') ? b.id : `${b.id} ${b.address}`;

/**
 * The backends `drain` names, by route id or `HOST:PORT` (normalised as `backend` is). Refused: a name that
 * matches no backend, a backend named twice, and draining every backend (nothing would take a new session).
 */
export function drainedBackends(
  drain: unknown,
  backends: readonly Backend[],
): string[] {
  if (drain === undefined) return [];
  if (!Array.isArray(drain)) fail('drain', 'a list of backends', drain);
  const named = drain.map((name: unknown) => {
    const address = typeof name === 'string' ? hostPort(name) : undefined;
    const backend = backends.find(
      (b) => b.id === name || (address !== undefined && b.address === address),
    );
    if (backend === undefined)
      throw new UserError(
        `drain must name a configured backend by its id or HOST:PORT (${backends.map(backendLabel).join(', ')}), got ${JSON.stringify(name)}`,
      );
    return backend;
  });
  const twice = named.find((b, i) => named.indexOf(b) !== i);
  if (twice !== undefined)
    throw new UserError(
      `drain names backend ${JSON.stringify(twice.address)} twice`,
    );
  if (named.length > 0 && named.length === backends.length)
    throw new UserError(
      `drain must leave at least one backend to take new sessions, got every backend: ${JSON.stringify(drain.join(','))}`,
    );
  return backends.filter((b) => named.includes(b)).map((b) => b.address);
}

/** The naive config's inputs, validated the same way. */
export function validateNaiveOptions(options: {
  listen: string;
  backends: readonly BackendSpec[];
}): { listen: string; backends: readonly Backend[] } {
  return {
    listen: listenAddress('listen', options.listen),
    backends: validBackends(options.backends, false, {}),
  };
}
