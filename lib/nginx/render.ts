import type { EdgeRenderOptions } from './render-options';
import {
  Backend,
  TokenPolicy,
  ValidEdgeOptions,
  validateEdgeOptions,
} from './validate';

import {
  accessLogMaps,
  LAST_ANSWERED_PATTERN,
  ROUTE_COOKIE,
} from './access-log';

export { renderMainConfig } from './main-config';
export { ROUTE_COOKIE } from './access-log';
export { renderNaiveConfig } from './naive-config';

/** Answered by nginx itself (200) on the load-balancer listener and on the status listener. */
export const HEALTH_PATH = '/healthz';
/** `stub_status` on the status listener. */
export const STATUS_PATH = '/nginx_status';

/** Upstream of all backends, balanced by the strategy (round robin for `cookie`'s first request). */
const BALANCED = 'sticky_edge';
const routeUpstream = (id: string) => `sticky_edge_route_${id}`;

/**
 * Failover and keepalive settings shared by every upstream server. `max_fails=2 fail_timeout=5s`: two
 * failures inside 5 s take a server out for 5 s (the seed's `fail_timeout=300` benches it for five minutes).
 */
const SERVER_PARAMS = 'max_fails=2 fail_timeout=5s';
/**
 * Requests one keep-alive connection carries before nginx closes it, from the load balancer and to a
 * backend. nginx's default of 1,000 closes a busy connection every second or so, and each close costs a
 * reconnect and a latency spike (HAProxy sets no limit); a limit is kept so per-connection memory is
 * still freed now and then.
 */
const KEEPALIVE_REQUESTS = 'keepalive_requests 10000;';
/**
 * Idle upstream connections kept per worker and upstream. A connection freed while the pool is full is
 * closed, and the next request opens a new one: with 16, a worker carrying more than 16 requests at once
 * kept reconnecting, which measurably raised the CPU nginx and the backends spend per request. 64 covers
 * the concurrency one worker sees from a load balancer; the price is up to 64 idle connections per worker
 * and upstream held open on the backends (the `cookie` strategy has one upstream per backend besides the
 * balanced one), each closed after `keepalive_timeout`. That timeout stays below common backend idle
 * timeouts (Node's default is 5 s), so nginx does not reuse a connection the backend is closing: a POST
 * sent on one would fail with a 502, as non-idempotent requests are not retried.
 */
const KEEPALIVE = [
  'keepalive 64;',
  'keepalive_timeout 4s;',
  KEEPALIVE_REQUESTS,
];

const indent = (lines: readonly string[]) =>
  lines.map((l) => (l === '' ? l : `    ${l}`));
const block = (head: string, body: readonly string[]) => [
  `${head} {`,
  ...indent(body),
  '}',
];
const quote = (text: string) => `"${text}"`;

/** One upstream block: balancing directive, shared-memory zone, servers and keepalive. */
export function upstream(
  name: string,
  balancing: string[],
  servers: string[],
): string[] {
  return block(`upstream ${name}`, [
    ...balancing,
    `zone ${name} 64k;`,
    ...servers,
    ...KEEPALIVE,
  ]);
}

/** The upstream of all backends, balanced by the strategy. */
export function balancedUpstream(o: ValidEdgeOptions): string[] {
  const balancing = {
    ip_hash: ['ip_hash;'],
    hash: ['hash $remote_addr consistent;'],
    cookie: [],
  }[o.sticky];
  return upstream(
    BALANCED,
    balancing,
    o.backends.map((b) => `server ${b.address} ${SERVER_PARAMS};`),
  );
}

/** The cookie's backend first, every other backend as a backup that answers while it is down. */
export function routeUpstreams(backends: readonly Backend[]): string[] {
  return backends.flatMap((pinned) => [
    '',
    ...upstream(
      routeUpstream(pinned.id),
      [],
      backends.map(
        (b) =>
          `server ${b.address} ${SERVER_PARAMS}${b === pinned ? '' : ' backup'};`,
      ),
    ),
  ]);
}

/**
 * The `cookie` strategy on open-source nginx (no `sticky` before 1.29.6): the cookie picks a named
 * upstream, and the response names the backend that actually answered, read from `$upstream_addr`.
 */
export function cookieMaps(o: ValidEdgeOptions): string[] {
  const attributes = [
    'Path=/',
    `Max-Age=${o.cookieTtlSeconds}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(o.tls ? ['Secure'] : []),
  ];
  return [
    "# The cookie picks its backend's upstream; an unknown or forged value is balanced like a first request.",
    ...block(`map $cookie_${ROUTE_COOKIE} $sticky_edge_upstream`, [
      `default ${BALANCED};`,
      ...o.backends.map((b) => `${quote(b.id)} ${routeUpstream(b.id)};`),
    ]),
    '',
    '# $upstream_addr lists every server tried ("a:1, b:2"; " : " between groups) and $upstream_status their',
    '# statuses: the last one answered, unless nginx itself gave up on it (502/504: no backend answered).',
    ...block(
      'map "$upstream_addr|$upstream_status" $sticky_edge_answered_addr',
      ['default "";', LAST_ANSWERED_PATTERN],
    ),
    '',
    ...block('map $sticky_edge_answered_addr $sticky_edge_answered', [
      'default "";',
      ...o.backends.map((b) => `${quote(b.address)} ${quote(b.id)};`),
    ]),
    '',
    '# Every answer a backend gave (re)issues the cookie naming it, so Max-Age counts from the last request',
    '# and an active session never expires; when no backend answered, no cookie.',
    ...block('map $sticky_edge_answered $sticky_edge_set_cookie', [
      `"" "";`,
      `default "${ROUTE_COOKIE}=$sticky_edge_answered; ${attributes.join('; ')}";`,
    ]),
  ];
}

/** The response header naming the backend that answered, for the callers `revealBackendTo` names only. */
export const BACKEND_HEADER = 'X-Sticky-Edge-Backend';

/**
 * Tells the post-deploy check which backend answered without telling anyone else: a route id (a name such as
 * `app-a` or `backend-2`, never an address), only for requests whose client address after realip is one the
 * options name. realip believes only the load balancer, and the load balancer writes the TCP peer's address,
 * so a client cannot claim one of these addresses by sending a header.
 */
export function backendHeaderMaps(o: ValidEdgeOptions): string[] {
  if (o.revealBackendTo.length === 0) return [];
  return [
    `# ${BACKEND_HEADER} names the backend that answered (its route id) to these callers only.`,
    ...block('geo $sticky_edge_reveal', [
      'default 0;',
      ...o.revealBackendTo.map((cidr) => `${cidr} 1;`),
    ]),
    '',
    ...block(
      'map "$sticky_edge_reveal|$sticky_edge_backend" $sticky_edge_backend_header',
      [
        'default "";',
        ...o.backends.map((b) => `${quote(`1|${b.address}`)} ${quote(b.id)};`),
      ],
    ),
    '',
  ];
}

/** `add_header` with an empty value sends nothing: every caller but the named ones gets no header. */
export function backendHeader(o: ValidEdgeOptions): string[] {
  return o.revealBackendTo.length === 0
    ? []
    : [`add_header ${BACKEND_HEADER} $sticky_edge_backend_header always;`];
}

/** Where nginx takes the client address from, and whom it believes. */
export function realIp(o: ValidEdgeOptions): string[] {
  const trusted = o.trust.map((cidr) => `set_real_ip_from ${cidr};`);
  return o.lb === 'nlb'
    ? [
        '# The client address comes from the PROXY v2 header, believed only from the load balancer.',
        ...trusted,
        'real_ip_header proxy_protocol;',
      ]
    : [
        '# The client address is the right-most X-Forwarded-For entry the load balancer did not add itself.',
        ...trusted,
        'real_ip_header X-Forwarded-For;',
        'real_ip_recursive on;',
      ];
}

/** Where requests go: the cookie's upstream for `cookie`, else the one balanced upstream. */
export function proxyPass(o: ValidEdgeOptions): string {
  return `proxy_pass ${o.sticky === 'cookie' ? 'http://$sticky_edge_upstream' : `http://${BALANCED}`};`;
}

/** What every proxied request carries, in both the plain and the upgrade location (set once, inherited). */
export function proxySettings(o: ValidEdgeOptions): string[] {
  return [
    'proxy_http_version 1.1;',
    'proxy_set_header Host $host;',
    '# After realip, $remote_addr is the client. Headers a client sent itself are not passed on as trusted.',
    'proxy_set_header X-Real-IP $remote_addr;',
    'proxy_set_header X-Forwarded-For $remote_addr;',
    `proxy_set_header X-Forwarded-Proto ${o.tls ? 'https' : 'http'};`,
    'proxy_set_header X-Forwarded-Host "";',
    'proxy_set_header X-Forwarded-Port "";',
    'proxy_set_header Forwarded "";',
    '# Empty for plain requests, so upstream keepalive works; "upgrade" only for WebSocket handshakes. Other',
    '# Upgrade values (h2c, …) are not passed on: a backend that speaks them could be smuggled requests.',
    'proxy_set_header Upgrade $sticky_edge_upgrade;',
    'proxy_set_header Connection $sticky_edge_connection_upgrade;',
    'proxy_connect_timeout 2s;',
    '# A backend that accepts and never answers (hung) or never answers the handshake (black hole) holds a',
    '# request at most this long; the WebSocket location overrides it.',
    `proxy_read_timeout ${o.upstreamTimeoutSeconds}s;`,
    `proxy_send_timeout ${o.upstreamTimeoutSeconds}s;`,
    '# Connection errors, timeouts, 502 and 503 go to the next server. A POST, PATCH or LOCK is never resent',
    "# once it reached a backend (nginx's default since 1.9.13, kept on purpose).",
    'proxy_next_upstream error timeout http_502 http_503;',
    ...(o.sticky === 'cookie'
      ? ['add_header Set-Cookie $sticky_edge_set_cookie always;']
      : []),
  ];
}

const HEALTH_LOCATION = block(`location = ${HEALTH_PATH}`, [
  'access_log off;',
  'default_type text/plain;',
  'return 200 "ok\\n";',
]);

/**
 * The load balancer's listener: PROXY protocol for nlb, plain HTTP for alb.
 *
 * `reuseport`: each worker gets a listening socket of its own and the kernel spreads new connections
 * across them by a hash of their addresses. Without it, whichever worker wakes first accepts, so the few
 * long-lived connections a load balancer keeps open can pile up on one worker (overflowing its upstream
 * keep-alive pool) while another core idles. The trade-off: a connection waits for its own worker even
 * when another is idle, and another process running as root (who binds the socket) that also sets
 * SO_REUSEPORT could bind the same address and take a share of the connections. The status listener has a
 * port of its own (validated) and keeps one socket shared by the workers.
 */
export function edgeListen(o: ValidEdgeOptions): string {
  return `listen ${o.listen}${o.lb === 'nlb' ? ' proxy_protocol' : ''} default_server reuseport;`;
}

export function edgeServer(o: ValidEdgeOptions): string[] {
  return block('server', [
    edgeListen(o),
    KEEPALIVE_REQUESTS,
    ...realIp(o),
    '',
    ...proxySettings(o),
    ...backendHeader(o),
    '',
    ...HEALTH_LOCATION,
    '',
    // proxy_read_timeout takes no variables, so upgrade requests are sent to a location of their own. A
    // `return` is one of the two directives that are safe inside `if` in a location.
    '# WebSocket requests get a long read timeout; everything else keeps upstreamTimeout.',
    ...block('location /', [
      'error_page 418 = @upgrade;',
      'if ($sticky_edge_connection_upgrade) {',
      '    return 418;',
      '}',
      proxyPass(o),
    ]),
    '',
    ...block('location @upgrade', [
      proxyPass(o),
      'proxy_read_timeout 1h;',
      'proxy_send_timeout 1h;',
    ]),
  ]);
}

/** The plain status listener: the health path, `stub_status`, 404 for everything else. */
export function statusServer(statusListen: string): string[] {
  return block('server', [
    `listen ${statusListen};`,
    'access_log off;',
    ...HEALTH_LOCATION,
    ...block(`location = ${STATUS_PATH}`, ['stub_status;']),
    ...block('location /', ['return 404;']),
  ]);
}

/** `Upgrade` and `Connection` for WebSocket handshakes only; empty otherwise, so upstream keepalive works. */
export function upgradeMaps(): string[] {
  return [
    ...block('map $http_upgrade $sticky_edge_connection_upgrade', [
      "default '';",
      "'~*^websocket$' upgrade;",
    ]),
    '',
    ...block('map $sticky_edge_connection_upgrade $sticky_edge_upgrade', [
      "default '';",
      'upgrade $http_upgrade;',
    ]),
  ];
}

/**
 * The http-context config of one nginx edge node: upstreams, maps and server blocks, as written into
 * `conf.d` by the nginx tier's user data and printed by `sticky-edge render`. Deterministic: every node
 * renders the same text, so a client is routed the same way whichever node the load balancer picks.
 * Throws a `UserError` naming the first bad option. Strings are literals unless `policy.allowTokens` (the
 * CDK app only) lets a whole CDK token stand for a value.
 */
export function renderEdgeConfig(
  options: EdgeRenderOptions,
  policy: TokenPolicy = {},
): string {
  const o = validateEdgeOptions(options, policy);
  const lines = [
    `# sticky-edge: lb=${o.lb} sticky=${o.sticky}${o.tls ? ' tls' : ''}. Rendered by sticky-edge; edit the options, not this file.`,
    '',
    // The cookie maps' keys are backend addresses, up to 47 characters for [IPv6]:PORT: nginx's default bucket
    // of one cache line (64 bytes) fails with "could not build map_hash" for a single long IPv6 backend. It
    // must come before the first map, which fixes the size.
    ...(o.sticky === 'cookie'
      ? [
          '# Room for the longest [IPv6]:PORT map key (nginx default: one 64-byte cache line).',
          'map_hash_bucket_size 128;',
        ]
      : []),
    ...upgradeMaps(),
    '',
    ...accessLogMaps(o.backends, o.sticky === 'cookie'),
    '',
    ...backendHeaderMaps(o),
    ...(o.sticky === 'cookie' ? [...cookieMaps(o), ''] : []),
    ...balancedUpstream(o),
    ...(o.sticky === 'cookie' ? routeUpstreams(o.backends) : []),
    '',
    ...edgeServer(o),
    ...(o.statusListen === undefined
      ? []
      : ['', ...statusServer(o.statusListen)]),
  ];
  return lines.join('\n') + '\n';
}
