/**
 * The app's typed settings and their validation. No CDK imports: `bin/app.ts` feeds it CDK context,
 * the CLI feeds it flags, and both get the same defaults and the same one-line errors.
 */
import { SESSION_COOKIE } from './backend/sessions';
import { isIPv4 } from 'node:net';
import { UserError } from './errors';

export const LB_KINDS = ['nlb', 'alb'] as const;
export type LbKind = (typeof LB_KINDS)[number];

export const STICKY_STRATEGIES = ['ip_hash', 'hash', 'cookie'] as const;
export type StickyStrategy = (typeof STICKY_STRATEGIES)[number];

/** What the `hash` strategy keys an IPv6 client on: its /64 or its whole address. */
export const HASH_IPV6_PREFIXES = [64, 128] as const;
export type HashIpv6Prefix = (typeof HASH_IPV6_PREFIXES)[number];
/** The `SameSite` values of the routing cookie (RFC 6265bis): `None` lets a cross-site embedding page send it. */
export const COOKIE_SAME_SITE = ['Lax', 'Strict', 'None'] as const;
export type CookieSameSite = (typeof COOKIE_SAME_SITE)[number];

/** The routing cookie's name unless `cookieName` says otherwise. */
export const DEFAULT_COOKIE_NAME = 'sticky_edge_route';

/**
 * A routing cookie name nginx reads whole. RFC 6265 allows any token (`-`, `.`, `!`, …), but nginx reads the
 * cookie through the variable `$cookie_NAME`, and a variable name ends at the first character that is not a
 * letter, digit or underscore (ngx_http_script.c): `$cookie_my-route` is `$cookie_my` followed by the text
 * `-route`, which `nginx -t` accepts and which never matches. So such names are refused rather than read
 * through a map over `$http_cookie`, which would add a regex to every request. 64 characters is ample.
 */
const COOKIE_NAME = /^[A-Za-z0-9_]{1,64}$/;

export interface EdgeSettings {
  /** Prefixes stack names and tags, so several isolated copies can live in one account. */
  readonly stage: string;
  readonly lb: LbKind;
  readonly sticky: StickyStrategy;
  readonly nginxInstanceType: string;
  readonly appInstanceType: string;
  readonly nginxMinCapacity: number;
  readonly nginxMaxCapacity: number;
  readonly appPort: number;
  /** Pins the Amazon Linux 2023 image of both tiers; undefined means the latest AL2023 at deploy time. */
  readonly amiId?: string;
  /** ACM certificate for a TLS listener on 443; undefined means plain HTTP on 80. */
  readonly certificateArn?: string;
  /** Lifetime of the routing cookie set by the `cookie` strategy. */
  readonly cookieTtlSeconds: number;
  /** Name of the `cookie` strategy's routing cookie. */
  readonly cookieName: string;
  /** `SameSite` of the routing cookie; `None` (an app embedded cross-site) needs a certificate. */
  readonly cookieSameSite: CookieSameSite;
  /**
   * How long nginx waits for a backend to read a request or send the next part of its answer before it gives up
   * on it (and sends an idempotent request to another backend). WebSocket connections keep 1 h.
   */
  readonly upstreamTimeoutSeconds: number;
  /**
   * The `hash` strategy's key for an IPv6 client: its /64 (64: its temporary addresses rotate inside it) or its
   * whole address (128). IPv4 clients are keyed on their whole address either way.
   */
  readonly hashIpv6Prefix: HashIpv6Prefix;
  /**
   * The two Availability Zones of the VPC, by name (`us-east-1a`), both in one region; undefined means the
   * region's first two (`Fn::GetAZs`), which may lack an instance type.
   */
  readonly availabilityZones?: readonly string[];
  /** NAT gateways of the VPC: 1 (one Elastic IP) or 2 (one per AZ, survives losing an AZ, one more Elastic IP). */
  readonly natGateways: 1 | 2;
  /** The nginx group's target-tracking target: average CPU utilisation, in percent. */
  readonly nginxScaleCpuPercent: number;
  /** How long a leaving nginx node finishes its requests before its lifecycle hook or termination: the deregistration delay. */
  readonly nginxDrainSeconds: number;
  /**
   * How long a terminating nginx node is held after the deregistration delay while it still carries WebSockets
   * (a termination lifecycle hook); 0 adds no hook.
   */
  readonly nginxWebSocketDrainSeconds: number;
  /** How long the nginx access log is kept in CloudWatch Logs, in days. */
  readonly logRetentionDays: number;
  /** The dashboard's alarms: no healthy nginx target, one backend taking more than `alarmBackendSharePercent`. */
  readonly alarms: boolean;
  /** The share of requests one backend may take before its alarm fires, in percent. */
  readonly alarmBackendSharePercent: number;
  /**
   * App servers to drain, by name (as the outputs and the post-deploy check name them: `app-b`): no new
   * session goes to them, and `cookie` sessions pinned to them stay until they end. The stack refuses a name
   * that is no server's and draining every server.
   */
  readonly drain: readonly string[];
  /** A dual-stack edge: IPv6 clients reach the load balancer too (nginx and the app servers stay IPv4). */
  readonly ipv6: boolean;
  /** How many demo app servers the stack creates (`app-a`, `app-b`, ...), spread over both AZs. Unused with `backends`. */
  readonly appCount: number;
  /**
   * The team's own app servers, which the stack does not create: the edge proxies to exactly these, in place
   * of the demo servers. Undefined means the demo servers (`appCount` of them).
   */
  readonly backends?: readonly OwnBackend[];
}

/** One app server the stack does not create (`-c backends=…`). */
export interface OwnBackend {
  /** Its route id and the name the outputs, the access log and the post-deploy check give it: `backend-1` … or the given name. */
  readonly name: string;
  /** A literal IPv4 address (see `SETTING_KEYS.backends` for why no host names). */
  readonly host: string;
  readonly port: number;
}

/**
 * The most demo app servers (`appCount`) and own backends (`backends`), with every strategy. The cookie
 * strategy's nginx.conf grows with the square of the count (each route upstream lists every server) and is
 * shipped compressed in the nginx nodes' user data, which EC2 caps at 16 KB before base64: with 8 servers it
 * fits with room to spare (test/cdk/aws-constraints.test.ts checks the worst case).
 */
export const MAX_APP_SERVERS = 8;

/** The retention periods CloudWatch Logs accepts (PutRetentionPolicy's retentionInDays enum). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
  2192, 2557, 2922, 3288, 3653,
] as const;

export const DEFAULT_SETTINGS: EdgeSettings = {
  stage: 'sandbox',
  lb: 'nlb',
  sticky: 'ip_hash',
  nginxInstanceType: 't3.micro',
  appInstanceType: 't3.micro',
  nginxMinCapacity: 2,
  nginxMaxCapacity: 4,
  appPort: 3000,
  cookieTtlSeconds: 3600,
  cookieName: DEFAULT_COOKIE_NAME,
  cookieSameSite: 'Lax',
  upstreamTimeoutSeconds: 10,
  hashIpv6Prefix: 64,
  natGateways: 1,
  nginxScaleCpuPercent: 50,
  nginxDrainSeconds: 120,
  nginxWebSocketDrainSeconds: 3600,
  logRetentionDays: 7,
  alarms: false,
  alarmBackendSharePercent: 80,
  drain: [],
  ipv6: false,
  appCount: 2,
};

/** The context keys `parseSettings` reads, each with what it accepts (for errors and the README). */
export const SETTING_KEYS = {
  stage:
    'a lowercase name of 1-20 letters, digits or dashes, starting with a letter',
  lb: LB_KINDS.join(' or '),
  sticky: 'ip_hash, hash or cookie',
  nginxInstanceType: 'an EC2 instance type such as t3.micro',
  appInstanceType: 'an EC2 instance type such as t3.micro',
  nginxMinCapacity:
    'a whole number from 2 to 20 (one nginx node per AZ at least)',
  nginxMaxCapacity: 'a whole number from nginxMinCapacity to 20',
  appPort: 'a port from 1024 to 65535',
  amiId: 'an AMI ID such as ami-0123456789abcdef0',
  certificateArn: 'an ACM certificate ARN',
  cookieTtl: 'a whole number of seconds from 60 to 31536000',
  cookieName: `1-64 letters, digits or underscores (nginx reads the cookie as $cookie_NAME), not "${SESSION_COOKIE}" (the demo app's session cookie)`,
  cookieSameSite: 'Lax, Strict or None',
  upstreamTimeout: 'a whole number of seconds from 1 to 3600',
  hashIpv6Prefix:
    '64 (an IPv6 client keyed on its /64) or 128 (its whole address)',
  availabilityZones:
    'two distinct Availability Zones of one region, comma-separated, such as us-east-1a,us-east-1b',
  natGateways:
    '1 or 2 (2 puts one NAT gateway in each AZ at the cost of one more Elastic IP)',
  nginxScaleCpuPercent: 'a whole number of percent from 10 to 90',
  nginxDrainSeconds: 'a whole number of seconds from 0 to 3600',
  nginxWebSocketDrainSeconds:
    'a whole number of seconds from 0 (no lifecycle hook) to 28800 (the hook allows 30000)',
  logRetentionDays: `one of ${LOG_RETENTION_DAYS.join(', ')} (days)`,
  alarms: 'true or false',
  alarmBackendSharePercent: 'a whole number of percent from 51 to 100',
  drain:
    'app server names (or HOST:PORT), comma-separated, each once, such as app-b or app-b,app-c',
  ipv6: 'true or false',
  appCount: `a whole number of demo app servers from 1 to ${MAX_APP_SERVERS}`,
  backends: `1 to ${MAX_APP_SERVERS} comma-separated IPV4:PORT or NAME=IPV4:PORT (NAME: 1-32 lowercase letters, digits or dashes), distinct, no loopback, link-local, multicast or reserved address`,
} as const;

export type SettingKey = keyof typeof SETTING_KEYS;

/** A bad setting: the project's `UserError`, its message one line naming the key, the value and what is allowed. */
export class SettingsError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

function fail(key: SettingKey, value: unknown): never {
  throw new SettingsError(
    `${key} must be ${SETTING_KEYS[key]}, got ${JSON.stringify(value)}`,
  );
}

function text(key: SettingKey, value: unknown, pattern: RegExp): string {
  if (typeof value !== 'string' || !pattern.test(value)) fail(key, value);
  return value;
}

function oneOf<T extends string>(
  key: SettingKey,
  value: unknown,
  allowed: readonly T[],
): T {
  if (
    typeof value !== 'string' ||
    !(allowed as readonly string[]).includes(value)
  )
    fail(key, value);
  return value as T;
}

/** Context values arrive as strings from `-c key=value` and as numbers from cdk.json. */
function wholeNumber(
  key: SettingKey,
  value: unknown,
  min: number,
  max: number,
): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isInteger(n) || n < min || n > max) fail(key, value);
  return n;
}

/**
 * An ACM certificate ARN: a real partition and a UUID certificate id (8-4-4-4-12 hex). Partitions: aws,
 * aws-cn, aws-us-gov (AWS General Reference, "Amazon Resource Names": arn:partition) and the ISO partitions
 * aws-iso, aws-iso-b, aws-iso-e, aws-iso-f (the partitions aws-cdk-lib's region-info fact tables name).
 */
const CERTIFICATE_ARN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f):acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

/** An Availability Zone name: its region's name and one letter (us-east-1a, ap-southeast-2c, us-gov-west-1b). */
const ZONE_NAME = /^([a-z]{2,}(?:-[a-z]+)+-\d+)[a-z]$/;

/** The region an Availability Zone name belongs to (`us-east-1a` → `us-east-1`). */
export function regionOfZone(zone: string): string | undefined {
  return ZONE_NAME.exec(zone)?.[1];
}

/** Two distinct zones of one region, from `a,b` (context, CLI) or a list (cdk.json). */
function zonePair(value: unknown): readonly string[] {
  const zones =
    typeof value === 'string'
      ? value.split(',').map((zone) => zone.trim())
      : Array.isArray(value)
        ? value
        : [];
  if (
    zones.length !== 2 ||
    !zones.every((zone) => typeof zone === 'string' && ZONE_NAME.test(zone)) ||
    zones[0] === zones[1] ||
    regionOfZone(zones[0]) !== regionOfZone(zones[1])
  )
    fail('availabilityZones', value);
  return zones;
}

/**
 * Validates raw settings (CDK context or CLI flags) and fills in defaults.
 * `read(key)` returns the raw value or undefined when the key is not set.
 */
export function parseSettings(
  read: (key: SettingKey) => unknown,
): EdgeSettings {
  // An empty value (`-c stage=`, `--lb ''`) is refused, not read as "unset": it would silently become the default.
  const get = (key: SettingKey) => {
    const v = read(key);
    if (v === '') fail(key, v);
    return v === undefined || v === null ? undefined : v;
  };
  const d = DEFAULT_SETTINGS;
  const raw = {
    stage: get('stage'),
    lb: get('lb'),
    sticky: get('sticky'),
    nginxInstanceType: get('nginxInstanceType'),
    appInstanceType: get('appInstanceType'),
    nginxMinCapacity: get('nginxMinCapacity'),
    nginxMaxCapacity: get('nginxMaxCapacity'),
    appPort: get('appPort'),
    amiId: get('amiId'),
    certificateArn: get('certificateArn'),
    cookieTtl: get('cookieTtl'),
    cookieName: get('cookieName'),
    cookieSameSite: get('cookieSameSite'),
    upstreamTimeout: get('upstreamTimeout'),
    hashIpv6Prefix: get('hashIpv6Prefix'),
    availabilityZones: get('availabilityZones'),
    natGateways: get('natGateways'),
    nginxScaleCpuPercent: get('nginxScaleCpuPercent'),
    nginxDrainSeconds: get('nginxDrainSeconds'),
    nginxWebSocketDrainSeconds: get('nginxWebSocketDrainSeconds'),
    logRetentionDays: get('logRetentionDays'),
    alarms: get('alarms'),
    alarmBackendSharePercent: get('alarmBackendSharePercent'),
    drain: get('drain'),
    ipv6: get('ipv6'),
    appCount: get('appCount'),
    backends: get('backends'),
  };
  if (raw.appCount !== undefined && raw.backends !== undefined) {
    throw new SettingsError(
      `appCount ${JSON.stringify(raw.appCount)} and backends ${JSON.stringify(raw.backends)} exclude each other: appCount sizes the demo app servers, backends replaces them`,
    );
  }
  const nginxMinCapacity =
    raw.nginxMinCapacity === undefined
      ? d.nginxMinCapacity
      : wholeNumber('nginxMinCapacity', raw.nginxMinCapacity, 2, 20);
  const nginxMaxCapacity =
    raw.nginxMaxCapacity === undefined
      ? Math.max(d.nginxMaxCapacity, nginxMinCapacity)
      : wholeNumber('nginxMaxCapacity', raw.nginxMaxCapacity, 2, 20);
  if (nginxMaxCapacity < nginxMinCapacity) {
    throw new SettingsError(
      `nginxMaxCapacity must be ${SETTING_KEYS.nginxMaxCapacity}, got ${JSON.stringify(raw.nginxMaxCapacity)} (nginxMinCapacity is ${nginxMinCapacity})`,
    );
  }
  const certificateArn =
    raw.certificateArn === undefined
      ? undefined
      : text('certificateArn', raw.certificateArn, CERTIFICATE_ARN);
  const cookieSameSite =
    raw.cookieSameSite === undefined
      ? d.cookieSameSite
      : isSameSite(raw.cookieSameSite)
        ? raw.cookieSameSite
        : fail('cookieSameSite', raw.cookieSameSite);
  if (cookieSameSite === 'None' && certificateArn === undefined)
    throw new SettingsError(
      SAME_SITE_NONE_NEEDS_TLS('cookieSameSite', 'certificateArn'),
    );
  const settings = {
    stage:
      raw.stage === undefined
        ? d.stage
        : text('stage', raw.stage, /^[a-z][a-z0-9-]{0,19}$/),
    lb: raw.lb === undefined ? d.lb : oneOf('lb', raw.lb, LB_KINDS),
    sticky:
      raw.sticky === undefined
        ? d.sticky
        : oneOf('sticky', raw.sticky, STICKY_STRATEGIES),
    nginxInstanceType:
      raw.nginxInstanceType === undefined
        ? d.nginxInstanceType
        : text('nginxInstanceType', raw.nginxInstanceType, INSTANCE_TYPE),
    appInstanceType:
      raw.appInstanceType === undefined
        ? d.appInstanceType
        : text('appInstanceType', raw.appInstanceType, INSTANCE_TYPE),
    nginxMinCapacity,
    nginxMaxCapacity,
    appPort:
      raw.appPort === undefined
        ? d.appPort
        : wholeNumber('appPort', raw.appPort, 1024, 65535),
    amiId:
      raw.amiId === undefined
        ? undefined
        : text('amiId', raw.amiId, /^ami-[0-9a-f]{8}([0-9a-f]{9})?$/),
    certificateArn,
    cookieTtlSeconds:
      raw.cookieTtl === undefined
        ? d.cookieTtlSeconds
        : wholeNumber('cookieTtl', raw.cookieTtl, 60, 31536000),
    cookieName:
      raw.cookieName === undefined
        ? d.cookieName
        : isCookieName(raw.cookieName)
          ? raw.cookieName
          : fail('cookieName', raw.cookieName),
    cookieSameSite,
    upstreamTimeoutSeconds:
      raw.upstreamTimeout === undefined
        ? d.upstreamTimeoutSeconds
        : wholeNumber('upstreamTimeout', raw.upstreamTimeout, 1, 3600),
    hashIpv6Prefix:
      raw.hashIpv6Prefix === undefined
        ? d.hashIpv6Prefix
        : ipv6Prefix(raw.hashIpv6Prefix),
    availabilityZones:
      raw.availabilityZones === undefined
        ? undefined
        : zonePair(raw.availabilityZones),
    natGateways:
      raw.natGateways === undefined
        ? d.natGateways
        : (wholeNumber('natGateways', raw.natGateways, 1, 2) as 1 | 2),
    nginxScaleCpuPercent:
      raw.nginxScaleCpuPercent === undefined
        ? d.nginxScaleCpuPercent
        : wholeNumber('nginxScaleCpuPercent', raw.nginxScaleCpuPercent, 10, 90),
    nginxDrainSeconds:
      raw.nginxDrainSeconds === undefined
        ? d.nginxDrainSeconds
        : wholeNumber('nginxDrainSeconds', raw.nginxDrainSeconds, 0, 3600),
    nginxWebSocketDrainSeconds:
      raw.nginxWebSocketDrainSeconds === undefined
        ? d.nginxWebSocketDrainSeconds
        : wholeNumber(
            'nginxWebSocketDrainSeconds',
            raw.nginxWebSocketDrainSeconds,
            0,
            28800,
          ),
    logRetentionDays:
      raw.logRetentionDays === undefined
        ? d.logRetentionDays
        : retention(raw.logRetentionDays),
    alarms: raw.alarms === undefined ? d.alarms : flag('alarms', raw.alarms),
    alarmBackendSharePercent:
      raw.alarmBackendSharePercent === undefined
        ? d.alarmBackendSharePercent
        : wholeNumber(
            'alarmBackendSharePercent',
            raw.alarmBackendSharePercent,
            51,
            100,
          ),
    drain: raw.drain === undefined ? d.drain : serverNames(raw.drain),
    ipv6: raw.ipv6 === undefined ? d.ipv6 : flag('ipv6', raw.ipv6),
    appCount:
      raw.appCount === undefined
        ? d.appCount
        : wholeNumber('appCount', raw.appCount, 1, MAX_APP_SERVERS),
    backends:
      raw.backends === undefined ? undefined : ownBackends(raw.backends),
  };
  return settings;
}

/**
 * Addresses nginx must never be sent to: this network (0/8), loopback (127/8: the node itself), link-local
 * (169.254/16: the instance metadata service and the VPC's DNS), multicast (224/4) and reserved (240/4, with
 * the broadcast address). RFC 6890's special-purpose registry; private and shared ranges stay allowed, as a
 * team's servers may sit in a peered network.
 */
function unreachable(host: string): boolean {
  const [a, b] = host.split('.').map(Number);
  return a === 0 || a === 127 || (a === 169 && b === 254) || a >= 224;
}

/**
 * `-c backends=10.1.2.3:8080,web-2=198.51.100.7:80` (or a list in cdk.json). Literal IPv4 addresses only: the
 * nginx nodes' security group admits exactly these addresses and ports, and a security group rule takes a CIDR,
 * not a name; nginx itself resolves a name in `server` only when it starts, so a name whose address changes
 * would leave both the rules and nginx behind. Unnamed backends are named by position (`backend-1` …):
 * append new ones, or name them, so a route id never moves to another server.
 */
function ownBackends(value: unknown): readonly OwnBackend[] {
  const entries =
    typeof value === 'string'
      ? value.split(',').map((entry) => entry.trim())
      : Array.isArray(value)
        ? value
        : fail('backends', value);
  if (entries.length === 0 || entries.length > MAX_APP_SERVERS)
    fail('backends', value);
  const backends = entries.map((entry, index) => ownBackend(entry, index));
  for (const key of ['name', 'endpoint'] as const) {
    const seen = new Set<string>();
    for (const b of backends) {
      const text = key === 'name' ? b.name : `${b.host}:${b.port}`;
      if (seen.has(text))
        throw new SettingsError(
          `backends must name each server once, got ${JSON.stringify(text)} twice in ${JSON.stringify(value)}`,
        );
      seen.add(text);
    }
  }
  return backends;
}

function ownBackend(entry: unknown, index: number): OwnBackend {
  const match =
    typeof entry === 'string'
      ? /^(?:([a-z0-9][a-z0-9-]{0,31})=)?([0-9.]+):(\d{1,5})$/.exec(entry)
      : null;
  const port = Number(match?.[3]);
  if (
    match === null ||
    !isIPv4(match[2]) ||
    unreachable(match[2]) ||
    port < 1 ||
    port > 65535
  )
    throw new SettingsError(
      `backends must be ${SETTING_KEYS.backends}, got ${JSON.stringify(entry)}`,
    );
  return { name: match[1] ?? `backend-${index + 1}`, host: match[2], port };
}

/**
 * Server names from `a,b` (context) or a list (cdk.json): each a name as the stack gives its servers (a
 * route id: lowercase letters, digits, dashes, underscores) or a `HOST:PORT`, each once. Whether a name is
 * one of the stack's servers is the stack's to say (the renderer refuses it there, naming the servers).
 */
function serverNames(value: unknown): readonly string[] {
  const names =
    typeof value === 'string'
      ? value.split(',').map((name) => name.trim())
      : Array.isArray(value)
        ? value
        : [value];
  if (
    !names.every(
      (name) =>
        typeof name === 'string' &&
        /^(?:[a-z0-9][a-z0-9_-]{0,31}|[0-9a-fA-F.:[\]]+:\d{1,5})$/.test(name),
    ) ||
    new Set(names).size !== names.length
  )
    fail('drain', value);
  return names;
}

function ipv6Prefix(value: unknown): HashIpv6Prefix {
  const prefix = wholeNumber('hashIpv6Prefix', value, 64, 128);
  if (!(HASH_IPV6_PREFIXES as readonly number[]).includes(prefix))
    fail('hashIpv6Prefix', value);
  return prefix as HashIpv6Prefix;
}

/**
 * Why `SameSite=None` is refused without TLS: browsers drop a `SameSite=None` cookie that is not `Secure`
 * (RFC 6265bis, "The SameSite attribute"; Chrome since 80), and the routing cookie is `Secure` only behind TLS.
 */
export const SAME_SITE_NONE_NEEDS_TLS = (key: string, what: string) =>
  `${key} None needs ${what}: browsers drop a SameSite=None cookie that is not Secure, and the routing cookie is Secure only behind TLS`;

/**
 * True for a routing cookie name nginx reads whole (see COOKIE_NAME). nginx compares cookie names without
 * regard to case (ngx_http_parse_multi_header_lines: ngx_strncasecmp), so the demo app's session cookie is
 * refused in any case: nginx would read, and overwrite, the app's cookie as its route.
 */
export function isCookieName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    COOKIE_NAME.test(value) &&
    value.toLowerCase() !== SESSION_COOKIE
  );
}

/** True for a `SameSite` value, exactly as RFC 6265bis spells it. */
export function isSameSite(value: unknown): value is CookieSameSite {
  return (
    typeof value === 'string' &&
    (COOKIE_SAME_SITE as readonly string[]).includes(value)
  );
}

function retention(value: unknown): number {
  const days = wholeNumber('logRetentionDays', value, 1, 3653);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(days))
    fail('logRetentionDays', value);
  return days;
}

/** `true`/`false` from cdk.json, `"true"`/`"false"` from `-c alarms=true` or `-c ipv6=true`. */
function flag(key: SettingKey, value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  fail(key, value);
}
