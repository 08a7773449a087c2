import { LB_KINDS, STICKY_STRATEGIES } from '../../lib/settings';
import {
  HEALTH_PATH,
  renderEdgeConfig,
  renderMainConfig,
  renderNaiveConfig,
  ROUTE_COOKIE,
} from '../../lib/nginx/render';
import type { EdgeRenderOptions } from '../../lib/nginx/render-options';

const base: EdgeRenderOptions = {
  lb: 'nlb',
  sticky: 'ip_hash',
  listen: '10.0.0.10:80',
  trust: ['10.0.0.0/24', '10.0.1.0/24'],
  backends: [{ address: '10.0.2.10:3000' }, { address: '10.0.3.10:3000' }],
};
const render = (overrides: Partial<EdgeRenderOptions> = {}) =>
  renderEdgeConfig({ ...base, ...overrides });
/** The CDK path: whole CDK tokens may stand for values. */
const renderCdk = (overrides: Partial<EdgeRenderOptions> = {}) =>
  renderEdgeConfig({ ...base, ...overrides }, { allowTokens: true });
/** The lines of the block that starts with `head` (up to its closing brace at the same indentation). */
function blockOf(config: string, head: string): string {
  const start = config.indexOf(`${head} {`);
  if (start < 0) throw new Error(`no block ${head}`);
  const indent = config.slice(config.lastIndexOf('\n', start) + 1, start);
  return config.slice(
    start,
    config.indexOf(`\n${indent}}`, start) + indent.length + 2,
  );
}
const escapeRegExp = (text: string) =>
  text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const listens = (config: string) =>
  [...config.matchAll(/^\s*listen ([^;]+);/gm)].map((m) => m[1]);

describe.each(LB_KINDS)('renderEdgeConfig lb=%s', (lb) => {
  describe.each(STICKY_STRATEGIES)('sticky=%s', (sticky) => {
    const config = render({ lb, sticky });

    test('takes the client address only from the trusted load balancer', () => {
      expect(config).toContain('set_real_ip_from 10.0.0.0/24;\n');
      expect(config).toContain('set_real_ip_from 10.0.1.0/24;\n');
      expect(config.match(/set_real_ip_from/g)).toHaveLength(2);
      if (lb === 'nlb') {
        expect(listens(config)).toEqual([
          '10.0.0.10:80 proxy_protocol default_server reuseport',
        ]);
        expect(config).toContain('real_ip_header proxy_protocol;');
        expect(config).not.toContain('real_ip_recursive');
      } else {
        expect(listens(config)).toEqual([
          '10.0.0.10:80 default_server reuseport',
        ]);
        expect(config).toContain('real_ip_header X-Forwarded-For;\n');
        expect(config).toContain('real_ip_recursive on;');
        expect(config).not.toContain('proxy_protocol');
      }
    });

    test('hands backends the real client address and nothing the client sent as trusted', () => {
      expect(config).toContain('proxy_set_header X-Real-IP $remote_addr;');
      expect(config).toContain(
        'proxy_set_header X-Forwarded-For $remote_addr;',
      );
      expect(config).toContain('proxy_set_header X-Forwarded-Proto http;');
      expect(config).toContain('proxy_set_header Host $host;');
      expect(config).not.toContain('$proxy_add_x_forwarded_for');
    });

    test('keeps upstream connections alive and fails over within seconds', () => {
      expect(config).toContain(
        "map $http_upgrade $sticky_edge_connection_upgrade {\n    default '';\n    '~*^websocket$' upgrade;\n}",
      );
      expect(config).toContain(
        'proxy_set_header Connection $sticky_edge_connection_upgrade;',
      );
      expect(config).not.toContain('Connection "upgrade"');
      expect(config).toContain('proxy_http_version 1.1;');
      expect(config).toContain(
        'proxy_next_upstream error timeout http_502 http_503;',
      );
      expect(config).not.toContain('non_idempotent');
      for (const server of config.match(/^\s*server \S+ [^;]*;/gm)!)
        expect(server).toMatch(/ max_fails=2 fail_timeout=5s( backup)?;$/);
      expect(blockOf(config, 'upstream sticky_edge')).toMatch(
        /keepalive 64;\n\s*keepalive_timeout 4s;\n\s*keepalive_requests 10000;/,
      );
      expect(config).toMatch(
        / default_server reuseport;\n\s*keepalive_requests 10000;\n/,
      );
    });

    test('gives only upgrade requests the long read timeout', () => {
      expect(blockOf(config, 'location /')).toContain(
        'if ($sticky_edge_connection_upgrade) {\n            return 418;',
      );
      expect(blockOf(config, 'location /')).not.toContain('proxy_read_timeout');
      expect(blockOf(config, 'location @upgrade')).toContain(
        'proxy_read_timeout 1h;',
      );
    });

    test('answers the health path itself on the load-balancer listener', () => {
      expect(blockOf(config, `location = ${HEALTH_PATH}`)).toContain(
        'return 200 "ok\\n";',
      );
    });

    test(`balances with ${sticky}`, () => {
      const balanced = blockOf(config, 'upstream sticky_edge');
      const weight = sticky === 'hash' ? ' weight=20' : '';
      expect(balanced).toContain(
        `server 10.0.2.10:3000${weight} max_fails=2 fail_timeout=5s;\n    server 10.0.3.10:3000${weight} max_fails=2 fail_timeout=5s;`,
      );
      expect(balanced.includes('hash $sticky_edge_client_key;')).toBe(
        sticky === 'ip_hash',
      );
      expect(balanced.includes('hash $sticky_edge_hash_key consistent;')).toBe(
        sticky === 'hash',
      );
      // Only the cookie strategy routes on the cookie (every strategy's access log records it).
      expect(
        config.includes(`map $cookie_${ROUTE_COOKIE} $sticky_edge_upstream `),
      ).toBe(sticky === 'cookie');
      expect(config.includes('proxy_pass http://$sticky_edge_upstream;')).toBe(
        sticky === 'cookie',
      );
      expect(config.includes('proxy_pass http://sticky_edge;')).toBe(
        sticky !== 'cookie',
      );
    });
  });
});

describe('renderEdgeConfig cookie strategy', () => {
  const backends = [
    { address: '10.0.2.10:3000', id: 'app-a' },
    { address: '10.0.3.10:3000', id: 'app-b' },
  ];
  const config = render({ sticky: 'cookie', backends });

  test('routes each route id to an upstream of its backend with every other backend as backup', () => {
    expect(
      blockOf(config, `map $cookie_${ROUTE_COOKIE} $sticky_edge_upstream`),
    ).toBe(
      `map $cookie_${ROUTE_COOKIE} $sticky_edge_upstream {\n    default sticky_edge;\n    "app-a" sticky_edge_route_app-a;\n    "app-b" sticky_edge_route_app-b;\n}`,
    );
    expect(blockOf(config, 'upstream sticky_edge_route_app-b')).toContain(
      'server 10.0.2.10:3000 max_fails=2 fail_timeout=5s backup;\n    server 10.0.3.10:3000 max_fails=2 fail_timeout=5s;',
    );
  });

  test("names the backend that answered last in $upstream_addr, unless nginx gave up on it, from the access log's one regex", () => {
    // One regex map over $upstream_addr: the cookie reads the log's route, so nginx evaluates it once.
    expect(config.match(/\$upstream_addr\|\$upstream_status/g)).toHaveLength(1);
    expect(config).toContain(
      'map "$upstream_addr|$upstream_status" $sticky_edge_backend {',
    );
    expect(config).toContain(
      '"~(?:^| )(?<sticky_edge_last>[^ ,|]+)\\|(?:[^|]* )?(?!50[24]$)[0-9]{3}$" $sticky_edge_last;',
    );
    expect(
      blockOf(config, 'map $sticky_edge_backend $sticky_edge_route_set'),
    ).toContain('"10.0.2.10:3000" "app-a";\n    "10.0.3.10:3000" "app-b";');
    expect(
      blockOf(config, 'map $sticky_edge_route_set $sticky_edge_set_cookie'),
    ).toBe(
      [
        'map $sticky_edge_route_set $sticky_edge_set_cookie {',
        '    default "";',
        `    "app-a" "${ROUTE_COOKIE}=app-a; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax";`,
        `    "app-b" "${ROUTE_COOKIE}=app-b; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax";`,
        '}',
      ].join('\n'),
    );
  });

  test('bounds plain requests by upstreamTimeout (10 s by default) and WebSockets by 1 h', () => {
    expect(config).toContain(
      'proxy_read_timeout 10s;\n    proxy_send_timeout 10s;',
    );
    expect(render({ upstreamTimeoutSeconds: 3 })).toContain(
      'proxy_read_timeout 3s;\n    proxy_send_timeout 3s;',
    );
    expect(config).toContain(
      'location @upgrade {\n        proxy_pass http://$sticky_edge_upstream;\n        proxy_read_timeout 1h;\n        proxy_send_timeout 1h;',
    );
    expect(config).toContain(
      'proxy_next_upstream error timeout http_502 http_503;',
    );
  });

  test('sets an HttpOnly, SameSite=Lax cookie with the configured lifetime, also on error responses', () => {
    expect(render({ sticky: 'cookie', cookieTtlSeconds: 600 })).toContain(
      `; Path=/; Max-Age=600; HttpOnly; SameSite=Lax";`,
    );
    expect(config).toContain('Max-Age=3600;');
    expect(config).toContain(
      'add_header Set-Cookie $sticky_edge_set_cookie always;',
    );
  });

  test('marks the cookie Secure and the protocol https behind TLS', () => {
    const tls = render({ sticky: 'cookie', tls: true });
    expect(tls).toContain('HttpOnly; SameSite=Lax; Secure";');
    expect(tls).toContain('proxy_set_header X-Forwarded-Proto https;');
  });

  test('names the cookie and sets its SameSite as configured, in the routing map, the Set-Cookie and the log', () => {
    const named = render({
      sticky: 'cookie',
      cookieName: 'App_Route',
      cookieSameSite: 'Strict',
    });
    expect(named).toContain('map $cookie_App_Route $sticky_edge_upstream {');
    expect(named).toMatch(
      /^ +"[^"]+" "App_Route=[^";]+; Path=\/; Max-Age=3600; HttpOnly; SameSite=Strict";$/m,
    );
    expect(named).toContain(
      'map $cookie_App_Route $sticky_edge_route_carried {\n    default $cookie_App_Route;\n}',
    );
    expect(named).toContain(
      'map "$cookie_App_Route|$sticky_edge_route_set" $sticky_edge_repinned {',
    );
    expect(named).not.toContain(`$cookie_${ROUTE_COOKIE}`);
    expect(named).not.toContain(`${ROUTE_COOKIE}=`);
  });

  test('SameSite=None behind TLS is Secure and Partitioned, so a cross-site frame keeps it where third-party cookies are blocked', () => {
    expect(
      render({ sticky: 'cookie', tls: true, cookieSameSite: 'None' }),
    ).toContain('HttpOnly; SameSite=None; Secure; Partitioned";');
  });

  test('derives route ids from addresses, so adding a backend moves no pinned session', () => {
    const two = render({ sticky: 'cookie' });
    const three = render({
      sticky: 'cookie',
      backends: [...base.backends, { address: '10.0.4.10:3000' }],
    });
    const routes = (c: string) =>
      blockOf(c, `map $cookie_${ROUTE_COOKIE} $sticky_edge_upstream`)
        .split('\n')
        .slice(2, -1);
    expect(routes(two)).toHaveLength(2);
    expect(routes(three)).toEqual(expect.arrayContaining(routes(two)));
    expect(routes(two)[0]).toMatch(
      /^    "[0-9a-f]{12}" sticky_edge_route_[0-9a-f]{12};$/,
    );
  });

  test('accepts unresolved CDK tokens as backend hosts when they carry an id', () => {
    const tokens = renderCdk({
      sticky: 'cookie',
      trust: ['${Token[TOKEN.12]}'],
      backends: [
        { address: '${Token[TOKEN.34]}:3000', id: 'app-a' },
        { address: '#{Token[TOKEN.56]}:3000', id: 'app-b' },
      ],
      cookieTtlSeconds: -1.8881545897087626e289,
    });
    expect(tokens).toContain('"${Token[TOKEN.34]}:3000" "app-a";');
    expect(tokens).toContain('set_real_ip_from ${Token[TOKEN.12]};');
  });
});

describe('renderEdgeConfig listeners', () => {
  test('opens only the listener its options name', () => {
    expect(listens(render({ listen: '8080' }))).toEqual([
      '8080 proxy_protocol default_server reuseport',
    ]);
  });

  test('adds a plain status listener with the health path and stub_status', () => {
    const config = render({ statusListen: '127.0.0.1:9901' });
    expect(listens(config)).toEqual([
      '10.0.0.10:80 proxy_protocol default_server reuseport',
      '127.0.0.1:9901',
    ]);
    const status = config.slice(config.indexOf('listen 127.0.0.1:9901;'));
    expect(status).toContain(`location = ${HEALTH_PATH}`);
    expect(status).toContain('stub_status;');
    expect(status).not.toContain('proxy_pass');
  });

  test('normalises addresses to the form nginx reports in $upstream_addr', () => {
    const config = render({
      sticky: 'cookie',
      listen: '[::1]:080',
      backends: [{ address: '[0:0::1]:03000' }],
    });
    expect(listens(config)[0]).toBe(
      '[::1]:80 proxy_protocol default_server reuseport',
    );
    expect(config).toContain('server [::1]:3000 max_fails');
  });

  test('renders the same text every time', () => {
    expect(render({ sticky: 'cookie', statusListen: '127.0.0.1:9901' })).toBe(
      render({ sticky: 'cookie', statusListen: '127.0.0.1:9901' }),
    );
  });
});

describe('renderEdgeConfig validation', () => {
  test.each<[string, Partial<EdgeRenderOptions>, RegExp]>([
    [
      'lb is unknown',
      { lb: 'elb' as never },
      /^lb must be nlb or alb, got "elb"$/,
    ],
    [
      'sticky is unknown',
      { sticky: 'sticky' as never },
      /^sticky must be ip_hash, hash or cookie, got "sticky"$/,
    ],
    [
      'listen is a host name',
      { listen: 'localhost:80' },
      /^listen must be PORT, IPV4:PORT or \[IPV6\]:PORT, got "localhost:80"$/,
    ],
    [
      'listen port is out of range',
      { listen: '10.0.0.1:65536' },
      /^listen must be .*got "10.0.0.1:65536"$/,
    ],
    [
      'statusListen is malformed',
      { statusListen: '127.0.0.1' },
      /^statusListen must be .*got "127.0.0.1"$/,
    ],
    [
      'statusListen repeats listen',
      { statusListen: '10.0.0.10:80' },
      /^statusListen must not share a port with listen "10.0.0.10:80", got "10.0.0.10:80"$/,
    ],
    [
      'statusListen takes the port of a wildcard listen',
      { listen: '80', statusListen: '127.0.0.1:80' },
      /^statusListen must not share a port/,
    ],
    [
      'trust is empty',
      { trust: [] },
      /^trust must name at least one CIDR .*got none$/,
    ],
    [
      'trust is not a CIDR',
      { trust: ['banana'] },
      /^trust must be an IPv4 or IPv6 CIDR .*got "banana"$/,
    ],
    [
      'trust has a prefix beyond 32',
      { trust: ['10.0.0.0/33'] },
      /^trust must be .*got "10.0.0.0\/33"$/,
    ],
    [
      'trust is 0.0.0.0/0',
      { trust: ['10.0.0.0/24', '0.0.0.0/0'] },
      /^trust must not be "0.0.0.0\/0": it lets any client choose its own address/,
    ],
    ['trust is ::/0', { trust: ['::/0'] }, /^trust must not be "::\/0"/],
    [
      'trust has an IPv6 zone id',
      { trust: ['fe80::%eth0/64'] },
      /^trust must be an IPv4 or IPv6 CIDR .*got "fe80::%eth0\/64"$/,
    ],
    [
      'a backend is an IPv4-mapped IPv6 address',
      { backends: [{ address: '[::ffff:10.0.2.10]:3000' }] },
      /^backend must be IPV4:PORT or \[IPV6\]:PORT, got "\[::ffff:10.0.2.10\]:3000"$/,
    ],
    [
      'trust has host bits set',
      { trust: ['10.0.0.1/24'] },
      /^trust "10.0.0.1\/24" has host bits set/,
    ],
    [
      'trust has IPv6 host bits set',
      { trust: ['fd00::1/64'] },
      /^trust "fd00::1\/64" has host bits set/,
    ],
    [
      'there is no backend',
      { backends: [] },
      /^backends must name at least one backend, got none$/,
    ],
    [
      'a backend has no port',
      { backends: [{ address: '10.0.2.10' }] },
      /^backend must be IPV4:PORT or \[IPV6\]:PORT, got "10.0.2.10"$/,
    ],
    [
      'a backend is a host name',
      { backends: [{ address: 'app.internal:3000' }] },
      /^backend must be .*got "app.internal:3000"$/,
    ],
    [
      'a backend has port 0',
      { backends: [{ address: '10.0.2.10:0' }] },
      /^backend must be .*got "10.0.2.10:0"$/,
    ],
    [
      'a backend is listed twice',
      { backends: [{ address: '[::1]:3000' }, { address: '[0::1]:3000' }] },
      /^backend "\[::1\]:3000" is listed twice$/,
    ],
    [
      'two backends share an id',
      {
        backends: [
          { address: '10.0.2.10:3000', id: 'a' },
          { address: '10.0.3.10:3000', id: 'a' },
        ],
      },
      /^backend id "a" is listed twice$/,
    ],
    [
      'a backend id has capitals',
      { backends: [{ address: '10.0.2.10:3000', id: 'App' }] },
      /^backend id must be 1-32 lowercase .*got "App"$/,
    ],
    [
      'upstreamTimeoutSeconds is zero',
      { upstreamTimeoutSeconds: 0 },
      /^upstreamTimeout must be a whole number of seconds from 1 to 3600, got 0$/,
    ],
    [
      'upstreamTimeoutSeconds is not whole',
      { upstreamTimeoutSeconds: 2.5 },
      /^upstreamTimeout must be .*got 2.5$/,
    ],
    [
      'revealBackendTo is every address',
      { revealBackendTo: ['0.0.0.0/0'] },
      /^revealBackendTo must be a list of IPv4 or IPv6 addresses or CIDRs no wider than a VPC .*got "0.0.0.0\/0"$/,
    ],
    [
      'revealBackendTo is a host name',
      { revealBackendTo: ['check.example.com'] },
      /^revealBackendTo must be .*got "check.example.com"$/,
    ],
    [
      'revealBackendTo is not a list',
      { revealBackendTo: '203.0.113.7' as unknown as string[] },
      /^revealBackendTo must be .*got "203.0.113.7"$/,
    ],
    [
      'revealBackendTo names an address twice',
      { revealBackendTo: ['203.0.113.7', '203.0.113.7'] },
      /^revealBackendTo "203.0.113.7" is listed twice$/,
    ],
    [
      'cookieTtlSeconds is below a minute',
      { cookieTtlSeconds: 5 },
      /^cookieTtl must be a whole number of seconds from 60 to 31536000, got 5$/,
    ],
    [
      'hashIpv6Prefix is 48',
      { sticky: 'hash', hashIpv6Prefix: 48 as 64 },
      /^hashIpv6Prefix must be 64 \(an IPv6 client keyed on its \/64\) or 128 \(its whole address\), got 48$/,
    ],
    [
      'hashIpv6Prefix is given with another strategy than hash',
      { sticky: 'ip_hash', hashIpv6Prefix: 128 },
      /^hashIpv6Prefix applies only to sticky hash, got hashIpv6Prefix 128 with sticky ip_hash$/,
    ],
    [
      'cookieSameSite is None without TLS (browsers drop a SameSite=None cookie that is not Secure)',
      { sticky: 'cookie', cookieSameSite: 'None' },
      /^cookieSameSite None needs tls: browsers drop a SameSite=None cookie that is not Secure/,
    ],
    [
      'cookieSameSite is not spelled as RFC 6265bis spells it',
      { sticky: 'cookie', cookieSameSite: 'lax' as never },
      /^cookieSameSite must be Lax, Strict or None, got "lax"$/,
    ],
    // nginx reads $cookie_my-route as $cookie_my and the text "-route": nginx -t loads it, and it never matches.
    ...[
      'my-route',
      'route.v2',
      '',
      'a b',
      'x'.repeat(65),
      'route;',
      'Session',
    ].map(
      (name) =>
        [
          `cookieName is ${JSON.stringify(name)}`,
          { sticky: 'cookie', cookieName: name },
          new RegExp(
            `^cookieName must be 1-64 letters, digits or underscores .*, got ${escapeRegExp(JSON.stringify(name))}$`,
          ),
        ] as [string, Partial<EdgeRenderOptions>, RegExp],
    ),
  ])('fails when %s', (_name, overrides, message) => {
    expect(() => render(overrides)).toThrow(
      expect.objectContaining({
        name: 'UserError',
        message: expect.stringMatching(message),
      }),
    );
  });
});

describe('renderMainConfig', () => {
  const http = render({ statusListen: '127.0.0.1:9901' });

  test('defaults to Amazon Linux 2023 paths and inlines the http config', () => {
    const main = renderMainConfig({ http, user: 'nginx' });
    expect(main).toMatch(
      /^user nginx;\nworker_processes auto;\nworker_rlimit_nofile 8192;\npid \/run\/nginx.pid;\nerror_log \/var\/log\/nginx\/error.log;$/m,
    );
    expect(main).toMatch(/^pcre_jit on;$/m);
    expect(main).toContain('    proxy_temp_path /var/lib/nginx/tmp/proxy;');
    expect(main).toContain(
      '    access_log /var/log/nginx/access.log sticky_edge buffer=64k flush=1s;',
    );
    expect(main).toContain(
      '    log_format sticky_edge escape=json \'{"time":"$time_iso8601",',
    );
    expect(main).toContain('"client":"$remote_addr"');
    expect(main).toContain('"backend":"$sticky_edge_backend"');
    expect(main).toContain(
      '\n    upstream sticky_edge {\n        hash $sticky_edge_client_key;',
    );
    expect(listens(main)).toEqual(listens(http));
  });

  test('runs unprivileged in its own prefix', () => {
    const main = renderMainConfig({
      http,
      pidFile: '/tmp/n1/nginx.pid',
      errorLog: 'stderr',
      accessLog: 'off',
      tempDir: '/tmp/n1',
      workerProcesses: 1,
    });
    expect(main).not.toMatch(/^user /m);
    expect(main).toContain(
      'worker_processes 1;\nworker_rlimit_nofile 8192;\npid /tmp/n1/nginx.pid;\nerror_log stderr;',
    );
    for (const kind of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
      expect(main).toContain(`${kind}_temp_path /tmp/n1/${kind};`);
    expect(main).toContain('access_log off;');
  });

  test('writes the access log unbuffered when asked, for readers that look right after each request', () => {
    const main = renderMainConfig({
      http,
      accessLog: '/tmp/n1/access.log',
      bufferAccessLog: false,
    });
    expect(main).toContain('    access_log /tmp/n1/access.log sticky_edge;\n');
  });

  test.each([
    [
      'a path has a space',
      { tempDir: '/tmp/my dir' },
      /^tempDir must be a path without spaces.*got "\/tmp\/my dir"$/,
    ],
    [
      'a path has a variable',
      { accessLog: '/var/log/$host.log' },
      /^accessLog must be a path .*got "\/var\/log\/\$host.log"$/,
    ],
    [
      'workerProcesses is 0',
      { workerProcesses: 0 },
      /^workerProcesses must be auto or a whole number from 1 to 256, got 0$/,
    ],
  ])('fails when %s', (_name, overrides, message) => {
    expect(() => renderMainConfig({ http, ...overrides })).toThrow(message);
  });
});

describe('renderNaiveConfig', () => {
  const naive = renderNaiveConfig({
    listen: '127.0.0.1:8080',
    backends: [{ address: '10.0.2.10:3000' }, { address: '10.0.3.10:3000' }],
  });

  test("reproduces the seed's configuration with only the addresses substituted", () => {
    expect(naive).toContain(
      [
        'upstream my_app {',
        '    ip_hash;',
        '    server 10.0.2.10:3000 weight=100 max_fails=5 fail_timeout=300;',
        '    server 10.0.3.10:3000 weight=100 max_fails=5 fail_timeout=300;',
        '    keepalive 8;',
        '}',
      ].join('\n'),
    );
    expect(naive).toContain('    listen 127.0.0.1:8080;\n');
    for (const line of [
      'server_name example.com;',
      'set_real_ip_from 0.0.0.0/0;',
      'real_ip_header X-Forwarded-For;',
      'real_ip_recursive on;',
      'proxy_set_header Connection "upgrade";',
      'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    ]) {
      expect(naive).toContain(`    ${line}\n`);
    }
  });

  test.each([
    [
      'there is no backend',
      { listen: '80', backends: [] },
      /^backends must name at least one backend, got none$/,
    ],
    [
      'listen is malformed',
      { listen: ':80', backends: [{ address: '10.0.2.10:3000' }] },
      /^listen must be .*got ":80"$/,
    ],
  ])('fails when %s', (_name, options, message) => {
    expect(() => renderNaiveConfig(options)).toThrow(message);
  });
});

describe('renderEdgeConfig refuses text smuggled in as a CDK token', () => {
  /** The payloads that loaded in nginx when a `${Token[` value skipped validation (issue 11). */
  const injectTrust =
    '10.9.9.0/24;\n    set_real_ip_from 0.0.0.0/0; # ${Token[X.1]}';
  const injectServer =
    '10.0.2.10:3000;\n}\nserver {\n    listen 127.0.0.1:8081;\n    location / { return 200 "owned"; }\n}\nupstream x {\n    server 10.0.3.10:3000; # ${Token[X.2]}';

  test.each<[string, Partial<EdgeRenderOptions>, RegExp]>([
    [
      'a trust value injects set_real_ip_from 0.0.0.0/0',
      { trust: [injectTrust] },
      /^trust must be an IPv4 or IPv6 CIDR .*got "10\.9\.9\.0\/24;\\n    set_real_ip_from 0\.0\.0\.0\/0; # \$\{Token\[X\.1\]\}"$/,
    ],
    [
      'a backend injects a server block',
      { backends: [{ address: injectServer }] },
      /^backend must be IPV4:PORT or \[IPV6\]:PORT, got "10\.0\.2\.10:3000;\\n}\\nserver \{/,
    ],
    [
      'a whole token is given outside the CDK path',
      { trust: ['${Token[TOKEN.12]}'] },
      /^trust must be an IPv4 or IPv6 CIDR .*got "\$\{Token\[TOKEN\.12\]\}"$/,
    ],
    [
      'a token backend is given outside the CDK path',
      { backends: [{ address: '${Token[TOKEN.1]}:3000' }] },
      /^backend must be IPV4:PORT or \[IPV6\]:PORT, got "\$\{Token\[TOKEN\.1\]\}:3000"$/,
    ],
    [
      'a token listen address is given outside the CDK path',
      { listen: '${Token[TOKEN.1]}' },
      /^listen must be .*got "\$\{Token\[TOKEN\.1\]\}"$/,
    ],
    [
      'a token backend id is given outside the CDK path',
      {
        sticky: 'cookie',
        backends: [{ address: '10.0.2.10:3000', id: '${Token[TOKEN.9]}' }],
      },
      /^backend id must be 1-32 .*got "\$\{Token\[TOKEN\.9\]\}"$/,
    ],
  ])(
    'fails when %s (literal path: the CLI, the local topology)',
    (_n, o, m) => {
      expect(() => render(o)).toThrow(
        expect.objectContaining({
          name: 'UserError',
          message: expect.stringMatching(m),
        }),
      );
    },
  );

  test.each<[string, Partial<EdgeRenderOptions>, RegExp]>([
    [
      'a trust token carries set_real_ip_from 0.0.0.0/0',
      { trust: [injectTrust] },
      /^trust must be .*got "10\.9\.9\.0\/24;\\n    set_real_ip_from 0\.0\.0\.0\/0; # \$\{Token\[X\.1\]\}"$/,
    ],
    [
      'a backend token carries a server block',
      { backends: [{ address: injectServer }] },
      /^backend must be .*got "10\.0\.2\.10:3000;\\n}\\nserver \{/,
    ],
    [
      'text follows a whole token',
      { trust: ['${Token[X.1]} 0.0.0.0/0'] },
      /^trust must be .*got "\$\{Token\[X\.1\]\} 0\.0\.0\.0\/0"$/,
    ],
    [
      'a token id carries a brace',
      {
        sticky: 'cookie',
        backends: [{ address: '10.0.2.10:3000', id: '${Token[X.1]}{' }],
      },
      /^backend id must be .*got "\$\{Token\[X\.1\]\}\{"$/,
    ],
    [
      'a token host has a bad port',
      { backends: [{ address: '${Token[X.1]}:3000;' }] },
      /^backend must be .*got "\$\{Token\[X\.1\]\}:3000;"$/,
    ],
  ])(
    'fails when %s (CDK path: a token stands only for a whole value)',
    (_n, o, m) => {
      expect(() => renderCdk(o)).toThrow(
        expect.objectContaining({
          name: 'UserError',
          message: expect.stringMatching(m),
        }),
      );
    },
  );
});

describe('renderEdgeConfig trust ranges', () => {
  test('accepts the widest ranges a VPC can have: IPv4 /16, IPv6 /44', () => {
    const config = render({ trust: ['10.0.0.0/16', 'fd00::/44'] });
    expect(config).toContain('set_real_ip_from 10.0.0.0/16;');
    expect(config).toContain('set_real_ip_from fd00::/44;');
  });

  test.each([
    [
      '0.0.0.0/1 + 128.0.0.0/1 (together every IPv4 address)',
      ['0.0.0.0/1', '128.0.0.0/1'],
      '0.0.0.0/1',
      4,
      16,
    ],
    [
      '::/1 + 8000::/1 (together every IPv6 address)',
      ['::/1', '8000::/1'],
      '::/1',
      6,
      44,
    ],
    [
      'four /2s (together every IPv4 address)',
      ['0.0.0.0/2', '64.0.0.0/2', '128.0.0.0/2', '192.0.0.0/2'],
      '0.0.0.0/2',
      4,
      16,
    ],
    [
      'one IPv4 range is wider than a VPC',
      ['10.0.0.0/15'],
      '10.0.0.0/15',
      4,
      16,
    ],
    ['one IPv6 range is wider than a VPC', ['fd00::/40'], 'fd00::/40', 6, 44],
  ])('fails when trust is %s', (_n, trust, first, family, widest) => {
    expect(() => render({ trust })).toThrow(
      expect.objectContaining({
        name: 'UserError',
        message: `trust "${first}" is wider than an AWS VPC can be (at most /${widest} for IPv${family}): name the load balancer's subnets`,
      }),
    );
  });
});

describe('renderEdgeConfig backends', () => {
  test.each([
    '[::ffff:7f00:1]:3000',
    '[::FFFF:a00:20a]:3000',
    '[0:0:0:0:0:ffff:a00:20a]:3000',
    '[::a00:20a]:3000',
  ])(
    'fails when a backend is IPv4 inside IPv6 written in hex: %s',
    (address) => {
      expect(() => render({ backends: [{ address }] })).toThrow(
        expect.objectContaining({
          name: 'UserError',
          message: `backend must be IPV4:PORT or [IPV6]:PORT, got ${JSON.stringify(address)}`,
        }),
      );
    },
  );

  test('still accepts ::1 and ordinary IPv6 backends', () => {
    const config = render({
      backends: [
        { address: '[::1]:3000' },
        { address: '[fd00::ffff:a00:20a]:3000' },
      ],
    });
    expect(config).toContain('server [::1]:3000 ');
    expect(config).toContain('server [fd00::ffff:a00:20a]:3000 ');
  });

  test('fails when there are 61 backends (past the stated limit of 60)', () => {
    const backends = Array.from({ length: 61 }, (_, i) => ({
      address: `10.0.${i}.10:3000`,
    }));
    expect(() => render({ backends })).toThrow(
      expect.objectContaining({
        name: 'UserError',
        message:
          "backends must name at most 60 backends (the upstream's 64 KB zone holds no more), got 61",
      }),
    );
  });
});

describe('renderEdgeConfig status listener on the traffic port', () => {
  test.each([
    ['80', '0.0.0.0:80'],
    ['80', '[::]:80'],
    ['10.0.0.10:80', '0.0.0.0:80'],
    ['10.0.0.10:80', '[::]:80'],
    ['[::]:80', '[::]:80'],
    ['[fd00::10]:80', '[::]:80'],
    ['[::]:80', '[fd00::10]:80'],
    ['80', '127.0.0.1:80'],
  ])('fails when listen is %s and statusListen %s', (listen, statusListen) => {
    expect(() => render({ listen, statusListen })).toThrow(
      expect.objectContaining({
        name: 'UserError',
        message: `statusListen must not share a port with listen ${JSON.stringify(listen)}, got ${JSON.stringify(statusListen)}`,
      }),
    );
  });

  test.each([
    ['80', '[::1]:80'],
    ['[::]:80', '127.0.0.1:80'],
    ['10.0.0.10:80', '127.0.0.1:80'],
    ['80', '127.0.0.1:9901'],
  ])(
    'accepts listen %s beside statusListen %s (separate sockets in nginx)',
    (listen, statusListen) => {
      expect(listens(render({ listen, statusListen }))).toContain(statusListen);
    },
  );
});
