import type {
  CookieSameSite,
  HashIpv6Prefix,
  LbKind,
  StickyStrategy,
} from '../settings';

/** One upstream app server. */
export interface BackendSpec {
  /** `host:port`. In the CDK app the host is an app server's public address, a token resolved by CloudFormation. */
  readonly address: string;
  /**
   * Opaque, stable route id carried in the `cookie` strategy's cookie. Must not change when other
   * backends are added or removed.
   * @default - derived from a hash of `address` (the CDK app passes one derived from the construct path,
   *   because a token's text is not its deployed value)
   */
  readonly id?: string;
}

/** Everything the edge renderer needs; the CDK app and `sticky-edge render` build this the same way. */
export interface EdgeRenderOptions {
  readonly lb: LbKind;
  readonly sticky: StickyStrategy;
  /** `ADDR:PORT` or `PORT` the load balancer sends to (PROXY v2 for nlb, X-Forwarded-For for alb). */
  readonly listen: string;
  /** CIDRs whose PROXY header / X-Forwarded-For nginx believes: the load balancer's addresses only. */
  readonly trust: readonly string[];
  readonly backends: readonly BackendSpec[];
  /**
   * `ADDR:PORT` of a plain-HTTP status listener for on-instance checks.
   * @default - none: the config opens no listener its options did not name
   */
  readonly statusListen?: string;
  /**
   * The load balancer terminates TLS in front of this listener.
   * @default false - cookies are not `Secure` and `X-Forwarded-Proto` is `http`
   */
  readonly tls?: boolean;
  /**
   * Lifetime of the `cookie` strategy's routing cookie, in seconds.
   * @default 3600
   */
  readonly cookieTtlSeconds?: number;
  /**
   * Name of the `cookie` strategy's routing cookie: 1-64 letters, digits or underscores.
   * @default 'sticky_edge_route'
   */
  readonly cookieName?: string;
  /**
   * `SameSite` of the routing cookie. `None` (an app embedded in another site's page) needs `tls`, and adds
   * `Partitioned`.
   * @default 'Lax'
   */
  readonly cookieSameSite?: CookieSameSite;
  /**
   * `proxy_read_timeout` and `proxy_send_timeout` of plain requests, in seconds: how long a request in flight to
   * a hung or black-holed backend waits before nginx gives up on it (an idempotent one then goes to another backend).
   * @default 10
   */
  readonly upstreamTimeoutSeconds?: number;
  /**
   * Backends to drain, each named by its route id or its `HOST:PORT`: no new session goes to a drained backend
   * (it is `down` in the balanced upstream and no other backend's backup), while a `cookie` session pinned to
   * it keeps reaching it (its own route upstream still holds it first). At least one backend stays undrained.
   * @default - none drained
   */
  readonly drain?: readonly string[];
  /**
   * What the `hash` strategy keys an IPv6 client on: its /64 (64) or its whole address (128). IPv4 clients are
   * keyed on their whole address either way. Only with `sticky: 'hash'`.
   * @default 64 - a client's temporary addresses rotate inside its /64 (RFC 8981), so a whole-address key would
   *   move its session at every rotation
   */
  readonly hashIpv6Prefix?: HashIpv6Prefix;
  /**
   * Client addresses or CIDRs (the address after realip: the caller's own) whose answers carry
   * `X-Sticky-Edge-Backend`, the route id of the backend that answered: a name, never an address. The CDK app
   * names the NAT gateways' addresses, the post-deploy check's source, so the check can tell the team's own
   * backends apart (it cannot read their answers as it reads the demo backend's JSON).
   * @default - none: no answer names its backend (beyond the `cookie` strategy's routing cookie)
   */
  readonly revealBackendTo?: readonly string[];
}

/**
 * A whole `nginx.conf` around an http-context config. The defaults are Amazon Linux 2023's package paths
 * (its systemd unit expects `/run/nginx.pid`); the local topology gives each node its own directory.
 * Relative paths are resolved by nginx against its prefix (`nginx -p DIR`).
 */
export interface MainConfigOptions {
  /** The http-context config to inline, e.g. `renderEdgeConfig(…)`, `renderNaiveConfig(…)` or an `include` line. */
  readonly http: string;
  /** @default '/run/nginx.pid' */
  readonly pidFile?: string;
  /** A file or `stderr`. @default '/var/log/nginx/error.log' */
  readonly errorLog?: string;
  /** A file, or `off`. @default '/var/log/nginx/access.log' */
  readonly accessLog?: string;
  /**
   * Buffer access-log lines (64 KB, flushed at least every second) instead of one write per request.
   * @default true - unbuffered only where something reads the log right after each request (the local topology's tests)
   */
  readonly bufferAccessLog?: boolean;
  /**
   * Existing directory for nginx's temp files (request bodies, buffered responses), so nginx can run as a
   * non-root user with its own prefix. When the master runs as root, the workers' user must be able to enter it.
   * @default '/var/lib/nginx/tmp'
   */
  readonly tempDir?: string;
  /**
   * The workers' user.
   * @default - no `user` directive: the current user, or `nobody` when nginx starts as root
   */
  readonly user?: string;
  /** @default 'auto' - one worker per core */
  readonly workerProcesses?: number | 'auto';
}
