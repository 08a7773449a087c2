import type { EdgeRenderOptions } from './render-options';
import {
  Backend,
  TokenPolicy,
  ValidEdgeOptions,
  validateEdgeOptions,
} from './validate';

import {
  CLIENT_HASH_KEY,
  CLIENT_NETWORK_KEY,
  clientKeyMap,
} from './client-key';
import { accessLogMaps, ROUTE_COOKIE } from './access-log';

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
 * Each request's memory pool starts at 16 KB instead of nginx's 4 KB. A proxied request with this config's
 * variables, maps and log line outgrows 4 KB, and every further block is another malloc and free: measured
 * with callgrind, 16 KB takes 2,000 of the 39,000 instructions an `ip_hash` request costs a worker (5 %). The
 * price is memory held per request in flight: 16 KB from the start rather than 4 KB grown as needed, at most
 * 32 MB per worker at its 2,048 proxied requests (4,096 connections).
 */
const REQUEST_POOL_SIZE = 'request_pool_size 16k;';
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

/**
 * A drained backend's line in the balanced upstream. `down` rather than leaving it out: nginx's upstream docs
 * say to mark a server `down` to keep `ip_hash`'s hashing of client addresses; the same holds for the modulo
 * `hash` the `ip_hash` strategy renders (a down peer keeps the modulus; only its clients are rehashed), and a `hash … consistent`
 * server keeps its points on the ring (ngx_http_upstream_hash_module skips a down peer's points to the next
 * one), so exactly the drained backend's clients move. The trailing comment keeps the line the deploy's: the
 * health agent edits only lines ending in `;` (lib/agent/nginx-conf.ts), so it never lifts a drain.
 */
const DRAINED_PARAMS = `${SERVER_PARAMS} down; # drained: no new sessions`;

/**
 * Every server's weight in the `hash … consistent` upstream. nginx puts `160 × weight` points per server on its
 * ketama ring (ngx_http_upstream_hash_module, `npoints = peer->weight * 160`), so each server's share of the
 * ring, and with it of the clients, follows where its points happen to fall, which depends only on its
 * address. With 160 points, two servers at random addresses are a median 3.5 % and up to 18.5 % off an even
 * split over 400 seeded address sets (eight servers: 12.3 % and 27.2 %); with 20 × 160 points, 0.9 % and 3.8 %
 * (eight: 2.8 % and 5.9 %), as test/nginx/ketama-split.test.ts computes them on ./ketama.ts's model of the ring.
 * Equal weights keep the split even in expectation and consistent hashing's remap (a server added or
 * removed moves only its own share); the cost is a ring of 3,200 points per server (51 KB) in each worker and
 * four more steps of its binary search per request. The modulo `hash` of the `ip_hash` strategy splits evenly
 * whatever the weight, so it keeps nginx's default of 1.
 */
export const HASH_RING_WEIGHT = 20;

/**
 * The `ip_hash` strategy's balancing line. Not nginx's `ip_hash`, which keys IPv6 clients on all 128 bits: the
 * same modulo hash (not consistent) over a key that is the /24 for IPv4, as `ip_hash`'s, and the /64 for IPv6.
 */
export const IP_HASH_BALANCING = `hash ${CLIENT_NETWORK_KEY};`;

/** What the address-based strategies hash: see lib/nginx/client-key.ts. */
export function clientKeyMaps(o: ValidEdgeOptions): string[] {
  if (o.sticky === 'ip_hash')
    return [
      '# ip_hash key: the IPv4 /24 (as nginx ip_hash), the IPv6 /64 (nginx ip_hash would take all 128 bits).',
      ...clientKeyMap(CLIENT_NETWORK_KEY, 'network24'),
      '',
    ];
  if (o.sticky === 'hash' && o.hashIpv6Prefix === 64)
    return [
      '# hash key: the whole IPv4 address, the IPv6 /64 (temporary IPv6 addresses rotate inside it).',
      ...clientKeyMap(CLIENT_HASH_KEY, 'address'),
      '',
    ];
  return [];
}

/** The upstream of all backends, balanced by the strategy; a drained backend is `down` there. */
export function balancedUpstream(o: ValidEdgeOptions): string[] {
  const balancing = {
    ip_hash: [IP_HASH_BALANCING],
    hash: [
      `hash ${o.hashIpv6Prefix === 64 ? CLIENT_HASH_KEY : '$remote_addr'} consistent;`,
    ],
    cookie: [],
  }[o.sticky];
  return upstream(
    BALANCED,
    balancing,
    o.backends.map((b) => {
      const weight = o.sticky === 'hash' ? ` weight=${HASH_RING_WEIGHT}` : '';
      return o.drained.includes(b.address)
        ? `server ${b.address}${weight} ${DRAINED_PARAMS}`
        : `server ${b.address}${weight} ${SERVER_PARAMS};`;
    }),
  );
}

/**
 * The cookie's backend first, every other backend as a backup that answers while it is down. A drained
 * backend keeps its own route upstream (its pinned sessions still reach it) but is no other's backup, so a
 * session moving off a failed backend lands on an undrained one.
 */
export function routeUpstreams(
  backends: readonly Backend[],
  drained: readonly string[] = [],
): string[] {
  return backends.flatMap((pinned) => [
    '',
    ...upstream(
      routeUpstream(pinned.id),
      [],
      backends
        .filter((b) => b === pinned || !drained.includes(b.address))
        .map(
          (b) =>
            `server ${b.address} ${SERVER_PARAMS}${b === pinned ? '' : ' backup'};`,
        ),
    ),
  ]);
}

/**
 * The routing cookie's attributes. `SameSite=None` (an app embedded in another site's page) is sent in
 * cross-site requests only when `Secure` (the renderer refuses it without TLS), and only when `Partitioned`
 * where third-party cookies are blocked: Chrome's incognito profiles and Safari block unpartitioned ones
 * (CHIPS, MDN "Partitioned cookies", baseline since December 2025), and so did Debian's Chromium 156 under
 * Playwright here (test/local/embedded.test.ts). Partitioned means one cookie per top-level site: the
 * embedded app's session is pinned per embedding site, which is the jar the app's own cookies live in there.
 */
export function cookieAttributes(o: ValidEdgeOptions): string[] {
  return [
    'Path=/',
    `Max-Age=${o.cookieTtlSeconds}`,
    'HttpOnly',
    `SameSite=${o.cookieSameSite}`,
    ...(o.tls ? ['Secure'] : []),
    ...(o.cookieSameSite === 'None' ? ['Partitioned'] : []),
  ];
}

/**
 * The `cookie` strategy on open-source nginx (no `sticky` before 1.29.6): the cookie picks a named
 * upstream, and the response names the backend that actually answered. Which one answered is the access
 * log's `$sticky_edge_route_set` (`accessLogMaps`, rendered with the backends' routes): nginx caches a map's
 * value for the request, so the regex over `$upstream_addr` runs once for the cookie and the log line
 * together, and each route's Set-Cookie value is a literal, not a string built on every answer.
 */
export function cookieMaps(o: ValidEdgeOptions): string[] {
  const attributes = cookieAttributes(o).join('; ');
  return [
    "# The cookie picks its backend's upstream; an unknown or forged value is balanced like a first request.",
    ...block(`map $cookie_${o.cookieName} $sticky_edge_upstream`, [
      `default ${BALANCED};`,
      ...o.backends.map((b) => `${quote(b.id)} ${routeUpstream(b.id)};`),
    ]),
    '',
    '# Every answer a backend gave (re)issues the cookie naming it, so Max-Age counts from the last request',
    '# and an active session never expires; when no backend answered, no cookie. $sticky_edge_route_set is the',
    "# access log's route of the backend that answered, computed once per request for both.",
    ...block('map $sticky_edge_route_set $sticky_edge_set_cookie', [
      'default "";',
      ...o.backends.map(
        (b) =>
          `${quote(b.id)} ${quote(`${o.cookieName}=${b.id}; ${attributes}`)};`,
      ),
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
    '# Answers pass through as the backend writes them instead of being read into buffers first, which past',
    "# nginx's 36 KB of buffers go to a temp file on the node's disk whenever the client reads slower than the",
    '# backend writes: no answer touches the disk, and each costs less CPU (measured: 4 % per request). The price:',
    '# an answer larger than the socket buffers keeps its backend connection until a slow client has read it. A',
    '# backend can ask for buffering back per answer with `X-Accel-Buffering: yes`.',
    'proxy_buffering off;',
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
    REQUEST_POOL_SIZE,
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

/** The cookie's name and SameSite in the header line, when they are not the defaults. */
function cookieSummary(o: ValidEdgeOptions): string {
  if (o.sticky !== 'cookie') return '';
  return [
    ...(o.cookieName === ROUTE_COOKIE ? [] : [` cookie=${o.cookieName}`]),
    ...(o.cookieSameSite === 'Lax' ? [] : [` samesite=${o.cookieSameSite}`]),
  ].join('');
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
    `# sticky-edge: lb=${o.lb} sticky=${o.sticky}${o.tls ? ' tls' : ''}${o.drained.length > 0 ? ` drain=${o.drained.join(',')}` : ''}${cookieSummary(o)}. Rendered by sticky-edge; edit the options, not this file.`,
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
    ...accessLogMaps(o.backends, o.sticky === 'cookie', o.cookieName),
    '',
    ...backendHeaderMaps(o),
    ...(o.sticky === 'cookie' ? [...cookieMaps(o), ''] : []),
    ...clientKeyMaps(o),
    ...balancedUpstream(o),
    ...(o.sticky === 'cookie' ? routeUpstreams(o.backends, o.drained) : []),
    '',
    ...edgeServer(o),
    ...(o.statusListen === undefined
      ? []
      : ['', ...statusServer(o.statusListen)]),
  ];
  return lines.join('\n') + '\n';
}
