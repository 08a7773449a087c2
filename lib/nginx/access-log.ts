/**
 * The access log every node writes: one JSON object per request (`escape=json`), the same on an instance (the
 * CloudWatch agent ships it, and the dashboard's metric filters read its fields) and on a local node (the
 * tests parse it). The fields a metric filter reads are numbers or short strings nginx itself computes.
 */

import { DEFAULT_COOKIE_NAME } from '../settings';

/**
 * The `cookie` strategy's routing cookie (an opaque route id naming the backend that last answered), by its
 * default name; `cookieName` renames it.
 */
export const ROUTE_COOKIE = DEFAULT_COOKIE_NAME;

/**
 * A map regex over `"$upstream_addr|$upstream_status"` capturing the last server tried, unless nginx itself
 * gave up on it (502/504: no backend answered). `$upstream_addr` lists every server tried ("a:1, b:2"; " : "
 * between groups) and `$upstream_status` their statuses.
 */
export const LAST_ANSWERED_PATTERN =
  '"~(?:^| )(?<sticky_edge_last>[^ ,|]+)\\|(?:[^|]* )?(?!50[24]$)[0-9]{3}$" $sticky_edge_last;';

/**
 * The JSON fields, in order, and the nginx variable each holds. Numbers are written bare so metric filters
 * compare and sum them as numbers (`$status`, `$request_time` and the 0/1 map are always one number);
 * `$upstream_response_time` is quoted because it lists one time per server tried, or `-`.
 */
export const ACCESS_LOG_FIELDS = [
  ['time', '"$time_iso8601"'],
  ['node', '"$server_addr"'],
  ['client', '"$remote_addr"'],
  ['peer', '"$realip_remote_addr"'],
  ['method', '"$request_method"'],
  ['uri', '"$request_uri"'],
  ['status', '$status'],
  ['bytes', '$body_bytes_sent'],
  ['request_time', '$request_time'],
  ['upstream_time', '"$upstream_response_time"'],
  ['upstream', '"$upstream_addr"'],
  ['backend', '"$sticky_edge_backend"'],
  ['route', '"$sticky_edge_route_carried"'],
  ['route_set', '"$sticky_edge_route_set"'],
  ['repinned', '$sticky_edge_repinned'],
  ['xff', '"$http_x_forwarded_for"'],
] as const;

/** Where an Amazon Linux 2023 node writes it (the package's log directory; the CloudWatch agent ships it). */
export const INSTANCE_ACCESS_LOG = '/var/log/nginx/access.log';

export type AccessLogField = (typeof ACCESS_LOG_FIELDS)[number][0];

/** One parsed line. */
export interface AccessLogEntry {
  readonly time: string;
  /** The node's own address (the load balancer's target). */
  readonly node: string;
  /** The client address after realip. */
  readonly client: string;
  /** The peer the request came through (the load balancer). */
  readonly peer: string;
  readonly method: string;
  readonly uri: string;
  readonly status: number;
  readonly bytes: number;
  /** Seconds, millisecond resolution. */
  readonly request_time: number;
  readonly upstream_time: string;
  readonly upstream: string;
  /** `host:port` of the backend that answered; `-` when none did (nginx answered itself, or gave up). */
  readonly backend: string;
  /** The route the request's cookie carried (any strategy; only `cookie` sets one). */
  readonly route: string;
  /** The route id of the backend that answered (what the `cookie` strategy sets); empty when none did or another strategy runs. */
  readonly route_set: string;
  /** 1 when the request's cookie named a known backend and another one answered (a session moved), else 0. */
  readonly repinned: 0 | 1;
  readonly xff: string;
}

/** The `log_format` directive (http context). */
export function logFormat(name: string): string[] {
  const body = ACCESS_LOG_FIELDS.map(
    ([field, value]) => `"${field}":${value}`,
  ).join(',');
  return [`log_format ${name} escape=json '{${body}}';`];
}

/** A route as the log maps need it: where the backend listens and the id the cookie carries. */
export interface LogRoute {
  readonly address: string;
  readonly id: string;
}

const quote = (value: string) => `"${value}"`;

/**
 * The maps behind the log's computed fields, for the http config to include (every config the main
 * nginx.conf wraps must define them, since `log_format` names them). `routed` is the `cookie` strategy:
 * only there does a carried route name a backend, so only there can a request be re-pinned. `cookieName` is
 * the routing cookie's: the main config's `log_format` does not know it, so the route carried is read here.
 */
export function accessLogMaps(
  routes: readonly LogRoute[],
  routed: boolean,
  cookieName: string = ROUTE_COOKIE,
): string[] {
  // Route ids mean something only where a cookie carries them; elsewhere the maps stay empty, so the
  // config does not depend on ids the strategy never uses.
  const named = routed ? routes : [];
  const repinned = named.length
    ? [
        ...named.map((r) => `${quote(`${r.id}|${r.id}`)} 0;`),
        `"~^(?:${named.map((r) => r.id).join('|')})\\|[^|]+$" 1;`,
      ]
    : [];
  return [
    '# The access log: the backend that answered, its route id, and whether the carried route named another.',
    'map "$upstream_addr|$upstream_status" $sticky_edge_backend {',
    '    default "-";',
    `    ${LAST_ANSWERED_PATTERN}`,
    '}',
    'map $sticky_edge_backend $sticky_edge_route_set {',
    '    default "";',
    ...named.map((r) => `    ${quote(r.address)} ${quote(r.id)};`),
    '}',
    `map $cookie_${cookieName} $sticky_edge_route_carried {`,
    `    default $cookie_${cookieName};`,
    '}',
    `map "$cookie_${cookieName}|$sticky_edge_route_set" $sticky_edge_repinned {`,
    '    default 0;',
    ...repinned.map((l) => `    ${l}`),
    '}',
  ];
}

/** Every JSON line of an access log; a line cut short by a write in progress is skipped. */
export function parseAccessLog(text: string): AccessLogEntry[] {
  const entries: AccessLogEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      entries.push(JSON.parse(line) as AccessLogEntry);
    } catch {
      continue;
    }
  }
  return entries;
}
