/**
 * Each builder of lib/nginx/render.ts on its own, table-driven: options in, the lines it must (and must not)
 * produce out. test/nginx/render.test.ts covers the assembled config; test/nginx/golden.test.ts its exact text.
 */
import {
  backendHeader,
  backendHeaderMaps,
  balancedUpstream,
  clientKeyMaps,
  cookieMaps,
  edgeListen,
  proxyPass,
  proxySettings,
  realIp,
  routeUpstreams,
  statusServer,
  upgradeMaps,
  upstream,
} from '../../lib/nginx/render';
import { clientKeyMap, IPV6_NETWORK64_RULES } from '../../lib/nginx/client-key';
import type { EdgeRenderOptions } from '../../lib/nginx/render-options';
import { validateEdgeOptions } from '../../lib/nginx/validate';

const A = { address: '10.0.2.10:3000', id: 'app-a' };
const B = { address: '10.0.3.10:3000', id: 'app-b' };
const C = { address: '[2001:db8::1]:3000', id: 'app-c' };

const valid = (overrides: Partial<EdgeRenderOptions> = {}) =>
  validateEdgeOptions({
    lb: 'nlb',
    sticky: 'ip_hash',
    listen: '80',
    trust: ['10.0.0.0/24'],
    backends: [A, B],
    ...overrides,
  });

describe('edgeListen', () => {
  test.each<[EdgeRenderOptions['lb'], string, string]>([
    ['nlb', '80', 'listen 80 proxy_protocol default_server reuseport;'],
    ['alb', '80', 'listen 80 default_server reuseport;'],
    [
      'nlb',
      '10.0.0.10:8080',
      'listen 10.0.0.10:8080 proxy_protocol default_server reuseport;',
    ],
    ['alb', '[::1]:80', 'listen [::1]:80 default_server reuseport;'],
  ])('lb=%s listen=%s → %s', (lb, listen, line) => {
    expect(edgeListen(valid({ lb, listen }))).toBe(line);
  });
});

describe('realIp', () => {
  test.each<[EdgeRenderOptions['lb'], string[], string[]]>([
    [
      'nlb',
      ['10.0.0.0/24'],
      ['set_real_ip_from 10.0.0.0/24;', 'real_ip_header proxy_protocol;'],
    ],
    [
      'nlb',
      ['10.0.0.0/24', '2001:db8::/64'],
      [
        'set_real_ip_from 10.0.0.0/24;',
        'set_real_ip_from 2001:db8::/64;',
        'real_ip_header proxy_protocol;',
      ],
    ],
    [
      'alb',
      ['10.0.0.0/24', '10.0.1.0/24'],
      [
        'set_real_ip_from 10.0.0.0/24;',
        'set_real_ip_from 10.0.1.0/24;',
        'real_ip_header X-Forwarded-For;',
        'real_ip_recursive on;',
      ],
    ],
  ])('lb=%s trust=%j → only those peers are believed', (lb, trust, lines) => {
    const directives = realIp(valid({ lb, trust })).filter(
      (l) => !l.startsWith('#'),
    );
    expect(directives).toEqual(lines);
  });
});

describe('proxyPass', () => {
  test.each<[EdgeRenderOptions['sticky'], string]>([
    ['ip_hash', 'proxy_pass http://sticky_edge;'],
    ['hash', 'proxy_pass http://sticky_edge;'],
    ['cookie', 'proxy_pass http://$sticky_edge_upstream;'],
  ])('sticky=%s → %s', (sticky, line) => {
    expect(proxyPass(valid({ sticky }))).toBe(line);
  });
});

describe('proxySettings', () => {
  const ALWAYS = [
    'proxy_http_version 1.1;',
    'proxy_set_header Host $host;',
    'proxy_set_header X-Real-IP $remote_addr;',
    'proxy_set_header X-Forwarded-For $remote_addr;',
    'proxy_set_header Forwarded "";',
    'proxy_set_header Upgrade $sticky_edge_upgrade;',
    'proxy_set_header Connection $sticky_edge_connection_upgrade;',
    'proxy_next_upstream error timeout http_502 http_503;',
  ];
  const SET_COOKIE = 'add_header Set-Cookie $sticky_edge_set_cookie always;';
  test.each<[EdgeRenderOptions['sticky'], boolean, string[], string[]]>([
    [
      'ip_hash',
      false,
      ['proxy_set_header X-Forwarded-Proto http;'],
      [SET_COOKIE, 'proxy_set_header X-Forwarded-Proto https;'],
    ],
    [
      'hash',
      true,
      ['proxy_set_header X-Forwarded-Proto https;'],
      [SET_COOKIE, 'proxy_set_header X-Forwarded-Proto http;'],
    ],
    [
      'cookie',
      false,
      ['proxy_set_header X-Forwarded-Proto http;', SET_COOKIE],
      ['proxy_set_header X-Forwarded-Proto https;'],
    ],
    [
      'cookie',
      true,
      ['proxy_set_header X-Forwarded-Proto https;', SET_COOKIE],
      ['proxy_set_header X-Forwarded-Proto http;'],
    ],
  ])('sticky=%s tls=%s', (sticky, tls, present, absent) => {
    const lines = proxySettings(valid({ sticky, tls }));
    expect(lines).toEqual(expect.arrayContaining([...ALWAYS, ...present]));
    for (const line of absent) expect(lines).not.toContain(line);
    // Nothing the client sent is passed on as the client's address.
    expect(lines.join('\n')).not.toContain('$proxy_add_x_forwarded_for');
    expect(lines.join('\n')).not.toContain('$http_x_forwarded_for');
  });
});

describe('upstream', () => {
  test.each<[string, string[], string[]]>([
    ['u1', ['ip_hash;'], ['server 10.0.0.1:80;']],
    ['u2', [], ['server 10.0.0.1:80;', 'server 10.0.0.2:80 backup;']],
  ])(
    '%s: balancing first, then its zone, then the servers',
    (name, balancing, servers) => {
      const lines = upstream(name, balancing, servers);
      expect(lines[0]).toBe(`upstream ${name} {`);
      expect(lines.at(-1)).toBe('}');
      const body = lines.slice(1, -1).map((l) => l.trim());
      expect(body.slice(0, balancing.length + 1 + servers.length)).toEqual([
        ...balancing,
        `zone ${name} 64k;`,
        ...servers,
      ]);
      expect(body).toContainEqual(expect.stringMatching(/^keepalive \d+;$/));
    },
  );
});

describe('balancedUpstream', () => {
  test.each<[EdgeRenderOptions['sticky'], 64 | 128 | undefined, string[]]>([
    ['ip_hash', undefined, ['hash $sticky_edge_client_key;']],
    ['hash', undefined, ['hash $sticky_edge_hash_key consistent;']],
    ['hash', 64, ['hash $sticky_edge_hash_key consistent;']],
    ['hash', 128, ['hash $remote_addr consistent;']],
    ['cookie', undefined, []],
  ])(
    'sticky=%s hashIpv6Prefix=%s balances with %j',
    (sticky, hashIpv6Prefix, balancing) => {
      const body = balancedUpstream(valid({ sticky, hashIpv6Prefix })).map(
        (l) => l.trim(),
      );
      expect(body[0]).toBe('upstream sticky_edge {');
      expect(body.slice(1, 1 + balancing.length + 1)).toEqual([
        ...balancing,
        'zone sticky_edge 64k;',
      ]);
      // Only the ketama ring takes a weight (HASH_RING_WEIGHT): more points per server, a more even split.
      const weight = sticky === 'hash' ? ' weight=20' : '';
      expect(body.filter((l) => l.startsWith('server '))).toEqual([
        `server 10.0.2.10:3000${weight} max_fails=2 fail_timeout=5s;`,
        `server 10.0.3.10:3000${weight} max_fails=2 fail_timeout=5s;`,
      ]);
    },
  );
});

describe('clientKeyMaps', () => {
  test.each<
    [EdgeRenderOptions['sticky'], 64 | 128 | undefined, string | undefined]
  >([
    ['ip_hash', undefined, 'map $remote_addr $sticky_edge_client_key {'],
    ['hash', undefined, 'map $remote_addr $sticky_edge_hash_key {'],
    ['hash', 128, undefined],
    ['cookie', undefined, undefined],
  ])('sticky=%s hashIpv6Prefix=%s: %s', (sticky, hashIpv6Prefix, head) => {
    const lines = clientKeyMaps(valid({ sticky, hashIpv6Prefix }));
    expect(lines.find((l) => l.startsWith('map '))).toBe(head);
  });

  test('IPv4 first (the common case), IPv4-mapped next, then the /64 of every IPv6 form', () => {
    const network = clientKeyMap('$k', 'network24').map((l) => l.trim());
    expect(network.slice(1, 4)).toEqual([
      'default $remote_addr;',
      '"~^(\\d+\\.\\d+\\.\\d+)\\.\\d+$" "$1";',
      '"~^::ffff:(\\d+\\.\\d+\\.\\d+)\\.\\d+$" "$1";',
    ]);
    const address = clientKeyMap('$k', 'address').map((l) => l.trim());
    expect(address[2]).toBe('"~^(\\d+\\.\\d+\\.\\d+\\.\\d+)$" "$1";');
    expect(network.slice(4, -1)).toEqual(address.slice(4, -1));
    expect(network.slice(4, -1)).toHaveLength(IPV6_NETWORK64_RULES.length);
  });
});

describe('routeUpstreams', () => {
  const servers = (lines: string[], name: string) => {
    const start = lines.indexOf(`upstream ${name} {`);
    const end = lines.indexOf('}', start);
    return lines
      .slice(start + 1, end)
      .map((l) => l.trim())
      .filter((l) => l.startsWith('server '));
  };
  test.each([[[A, B]], [[A, B, C]], [[C]]])(
    'one upstream per backend: it first, every other as backup (%#)',
    (backends) => {
      const lines = routeUpstreams(backends);
      for (const pinned of backends)
        expect(servers(lines, `sticky_edge_route_${pinned.id}`)).toEqual(
          backends.map(
            (b) =>
              `server ${b.address} max_fails=2 fail_timeout=5s${b === pinned ? '' : ' backup'};`,
          ),
        );
      expect(lines.filter((l) => l.startsWith('upstream '))).toHaveLength(
        backends.length,
      );
    },
  );
});

describe('cookieMaps', () => {
  test.each<[boolean, number, string]>([
    [false, 3600, 'Path=/; Max-Age=3600; HttpOnly; SameSite=Lax'],
    [true, 600, 'Path=/; Max-Age=600; HttpOnly; SameSite=Lax; Secure'],
  ])(
    'tls=%s ttl=%s → cookie attributes %s',
    (tls, cookieTtlSeconds, attributes) => {
      const lines = cookieMaps(
        valid({ sticky: 'cookie', tls, cookieTtlSeconds }),
      ).map((l) => l.trim());
      for (const b of valid({ sticky: 'cookie' }).backends)
        expect(lines).toContain(
          `"${b.id}" "sticky_edge_route=${b.id}; ${attributes}";`,
        );
      expect(lines).toContain('default "";');
    },
  );

  test.each([[[A, B]], [[A, B, C]]])(
    'maps each route id to its upstream and to the Set-Cookie naming it (%#)',
    (backends) => {
      const lines = cookieMaps(valid({ sticky: 'cookie', backends })).map((l) =>
        l.trim(),
      );
      expect(lines).toContain('default sticky_edge;');
      for (const b of backends) {
        expect(lines).toContain(`"${b.id}" sticky_edge_route_${b.id};`);
        expect(
          lines.some((l) =>
            l.startsWith(`"${b.id}" "sticky_edge_route=${b.id};`),
          ),
        ).toBe(true);
      }
    },
  );
});

describe('statusServer', () => {
  test.each(['127.0.0.1:8081', '[::1]:9901'])('listen %s', (listen) => {
    const lines = statusServer(listen).map((l) => l.trim());
    expect(lines.filter((l) => l.startsWith('listen '))).toEqual([
      `listen ${listen};`,
    ]);
    expect(lines).toEqual(
      expect.arrayContaining([
        'location = /healthz {',
        'location = /nginx_status {',
        'stub_status;',
        'return 404;',
      ]),
    );
  });
});

describe('upgradeMaps', () => {
  test('passes Upgrade and Connection on for WebSocket handshakes only', () => {
    expect(upgradeMaps()).toEqual([
      'map $http_upgrade $sticky_edge_connection_upgrade {',
      "    default '';",
      "    '~*^websocket$' upgrade;",
      '}',
      '',
      'map $sticky_edge_connection_upgrade $sticky_edge_upgrade {',
      "    default '';",
      '    upgrade $http_upgrade;',
      '}',
    ]);
  });
});

describe('backendHeaderMaps and backendHeader', () => {
  test('name the answering backend by route id to the listed callers only', () => {
    const o = valid({
      sticky: 'hash',
      revealBackendTo: ['203.0.113.7', '10.9.0.0/24'],
    });
    expect(backendHeaderMaps(o)).toEqual([
      '# X-Sticky-Edge-Backend names the backend that answered (its route id) to these callers only.',
      'geo $sticky_edge_reveal {',
      '    default 0;',
      '    203.0.113.7 1;',
      '    10.9.0.0/24 1;',
      '}',
      '',
      'map "$sticky_edge_reveal|$sticky_edge_backend" $sticky_edge_backend_header {',
      '    default "";',
      '    "1|10.0.2.10:3000" "app-a";',
      '    "1|10.0.3.10:3000" "app-b";',
      '}',
      '',
    ]);
    expect(backendHeader(o)).toEqual([
      'add_header X-Sticky-Edge-Backend $sticky_edge_backend_header always;',
    ]);
  });

  test('render nothing when no caller is named', () => {
    expect(backendHeaderMaps(valid())).toEqual([]);
    expect(backendHeader(valid({ revealBackendTo: [] }))).toEqual([]);
  });
});
