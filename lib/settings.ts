/**
 * The app's typed settings and their validation. No CDK imports: `bin/app.ts` feeds it CDK context,
 * the CLI feeds it flags, and both get the same defaults and the same one-line errors.
 */
import { UserError } from './errors';

export const LB_KINDS = ['nlb', 'alb'] as const;
export type LbKind = (typeof LB_KINDS)[number];

export const STICKY_STRATEGIES = ['ip_hash', 'hash', 'cookie'] as const;
export type StickyStrategy = (typeof STICKY_STRATEGIES)[number];

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
  /**
   * How long nginx waits for a backend to read a request or send the next part of its answer before it gives up
   * on it (and sends an idempotent request to another backend). WebSocket connections keep 1 h.
   */
  readonly upstreamTimeoutSeconds: number;
  /**
   * The two Availability Zones of the VPC, by name (`us-east-1a`), both in one region; undefined means the
   * region's first two (`Fn::GetAZs`), which may lack an instance type.
   */
  readonly availabilityZones?: readonly string[];
  /** NAT gateways of the VPC: 1 (one Elastic IP) or 2 (one per AZ, survives losing an AZ, one more Elastic IP). */
  readonly natGateways: 1 | 2;
}

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
  upstreamTimeoutSeconds: 10,
  natGateways: 1,
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
  upstreamTimeout: 'a whole number of seconds from 1 to 3600',
  availabilityZones:
    'two distinct Availability Zones of one region, comma-separated, such as us-east-1a,us-east-1b',
  natGateways:
    '1 or 2 (2 puts one NAT gateway in each AZ at the cost of one more Elastic IP)',
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
  const get = (key: SettingKey) => {
    const v = read(key);
    return v === undefined || v === null || v === '' ? undefined : v;
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
    upstreamTimeout: get('upstreamTimeout'),
    availabilityZones: get('availabilityZones'),
    natGateways: get('natGateways'),
  };
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
  return {
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
    certificateArn:
      raw.certificateArn === undefined
        ? undefined
        : text(
            'certificateArn',
            raw.certificateArn,
            /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/,
          ),
    cookieTtlSeconds:
      raw.cookieTtl === undefined
        ? d.cookieTtlSeconds
        : wholeNumber('cookieTtl', raw.cookieTtl, 60, 31536000),
    upstreamTimeoutSeconds:
      raw.upstreamTimeout === undefined
        ? d.upstreamTimeoutSeconds
        : wholeNumber('upstreamTimeout', raw.upstreamTimeout, 1, 3600),
    availabilityZones:
      raw.availabilityZones === undefined
        ? undefined
        : zonePair(raw.availabilityZones),
    natGateways:
      raw.natGateways === undefined
        ? d.natGateways
        : (wholeNumber('natGateways', raw.natGateways, 1, 2) as 1 | 2),
  };
}
