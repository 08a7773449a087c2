import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { UserError } from '../errors';
import { LB_KINDS, SETTING_KEYS, STICKY_STRATEGIES } from '../settings';
import type { BackendSpec, EdgeRenderOptions } from './render-options';

/**
 * Validation and normalisation of the renderer's options. Every failure is a `UserError` whose one-line
 * message names the option and the bad value. Unresolved CDK tokens pass through untouched: their text is
 * not their deployed value, so there is nothing to check before CloudFormation resolves them.
 */

/** True for the text of an unresolved CDK token (`${Token[…]}` strings, `#{Token[…]}` list elements). */
export function isToken(value: unknown): boolean {
  if (typeof value === 'number') return value <= -1e289;
  return (
    typeof value === 'string' &&
    (value.includes('${Token[') || value.includes('#{Token['))
  );
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

function port(text: string): number | undefined {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** `IPV4:PORT` or `[IPV6]:PORT` in the form nginx prints in `$upstream_addr`, or undefined. */
function hostPort(text: string): string | undefined {
  const v4 = /^([0-9.]+):(\d+)$/.exec(text);
  if (v4 && isIPv4(v4[1]) && port(v4[2])) return `${v4[1]}:${port(v4[2])}`;
  // No dotted IPv4 inside IPv6 (::ffff:10.0.0.1): nginx prints it dotted, URL normalises it to hex, and
  // the cookie strategy's map would never match the backend that answered.
  const v6 = /^\[([0-9a-fA-F:]+)\]:(\d+)$/.exec(text);
  if (v6 && isIPv6(v6[1]) && port(v6[2]))
    return `${new URL(`http://[${v6[1]}]`).hostname}:${port(v6[2])}`;
  return undefined;
}

/** A listen address (`PORT`, `IPV4:PORT`, `[IPV6]:PORT`) normalised, or the token unchanged. */
export function listenAddress(name: string, value: unknown): string {
  if (isToken(value)) return value as string;
  if (typeof value !== 'string') fail(name, LISTEN_FORMS, value);
  const normalised =
    port(value) !== undefined ? String(port(value)) : hostPort(value);
  return normalised ?? fail(name, LISTEN_FORMS, value);
}

/** A backend's `IPV4:PORT` or `[IPV6]:PORT`, normalised to the text nginx writes into `$upstream_addr`. */
export function backendAddress(value: unknown): string {
  if (isToken(value)) return value as string;
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
 * refused: trusting every address lets any client choose the address nginx hashes and logs.
 */
export function trustCidr(value: unknown): string {
  if (isToken(value)) return value as string;
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
export function routeId(backend: BackendSpec, address: string): string {
  if (backend.id === undefined)
    return createHash('sha256').update(address).digest('hex').slice(0, 12);
  if (isToken(backend.id)) return backend.id;
  return /^[a-z0-9][a-z0-9_-]{0,31}$/.test(backend.id)
    ? backend.id
    : fail('backend id', ROUTE_ID_FORMS, backend.id);
}

/** One backend after validation. */
export interface Backend {
  readonly address: string;
  readonly id: string;
}

function validBackends(specs: unknown, needsIds: boolean): Backend[] {
  if (!Array.isArray(specs) || specs.length === 0) {
    throw new UserError('backends must name at least one backend, got none');
  }
  const backends = (specs as BackendSpec[]).map((spec) => {
    const address = backendAddress(spec?.address);
    if (needsIds && spec.id === undefined && isToken(address)) {
      throw new UserError(
        `backend ${JSON.stringify(address)} is an unresolved token and needs an id for the cookie strategy`,
      );
    }
    return { address, id: routeId(spec, address) };
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

function cookieTtl(value: unknown): number {
  if (value === undefined) return 3600;
  if (isToken(value)) return value as number;
  return Number.isInteger(value) &&
    (value as number) >= 60 &&
    (value as number) <= 31536000
    ? (value as number)
    : fail('cookieTtl', SETTING_KEYS.cookieTtl, value);
}

function upstreamTimeout(value: unknown): number {
  if (value === undefined) return 10;
  if (isToken(value)) return value as number;
  return Number.isInteger(value) &&
    (value as number) >= 1 &&
    (value as number) <= 3600
    ? (value as number)
    : fail('upstreamTimeout', SETTING_KEYS.upstreamTimeout, value);
}

/** The same TCP port on two listeners that may share an address. */
function clash(a: string, b: string): boolean {
  if (isToken(a) || isToken(b)) return false;
  const portOf = (l: string) => l.slice(l.lastIndexOf(':') + 1);
  const wildcard = !a.includes(':') || !b.includes(':');
  return a === b || (wildcard && portOf(a) === portOf(b));
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
  readonly upstreamTimeoutSeconds: number;
}

export function validateEdgeOptions(
  options: EdgeRenderOptions,
): ValidEdgeOptions {
  const lb = oneOf('lb', options.lb, LB_KINDS);
  const sticky = oneOf('sticky', options.sticky, STICKY_STRATEGIES);
  const listen = listenAddress('listen', options.listen);
  if (!Array.isArray(options.trust) || options.trust.length === 0) {
    throw new UserError(
      "trust must name at least one CIDR (the load balancer's addresses), got none",
    );
  }
  const trust = options.trust.map(trustCidr);
  const backends = validBackends(options.backends, sticky === 'cookie');
  const statusListen =
    options.statusListen === undefined
      ? undefined
      : listenAddress('statusListen', options.statusListen);
  if (statusListen !== undefined && clash(listen, statusListen)) {
    throw new UserError(
      `statusListen must not share a port with listen ${JSON.stringify(listen)}, got ${JSON.stringify(statusListen)}`,
    );
  }
  return {
    lb,
    sticky,
    listen,
    trust,
    backends,
    statusListen,
    tls: options.tls === true,
    cookieTtlSeconds: cookieTtl(options.cookieTtlSeconds),
    upstreamTimeoutSeconds: upstreamTimeout(options.upstreamTimeoutSeconds),
  };
}

/** The naive config's inputs, validated the same way. */
export function validateNaiveOptions(options: {
  listen: string;
  backends: readonly BackendSpec[];
}): { listen: string; backends: readonly Backend[] } {
  return {
    listen: listenAddress('listen', options.listen),
    backends: validBackends(options.backends, false),
  };
}
