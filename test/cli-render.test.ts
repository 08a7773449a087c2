import { run } from '../lib/cli/render';
import {
  renderEdgeConfig,
  renderMainConfig,
  renderNaiveConfig,
} from '../lib/nginx/render';
import { Run, spawnRender } from './spawn-render';

const TRUST = ['--trust', '10.0.0.0/24'];
const COOKIE = ['--sticky', 'cookie'];
const BACKENDS = ['--backend', '10.0.2.10:3000', '--backend', '10.0.3.10:3000'];
const backends = [{ address: '10.0.2.10:3000' }, { address: '10.0.3.10:3000' }];

/** Spawned: the dispatcher prints each as one line and exits 2. */
const failures: [string, string[], RegExp][] = [
  [
    'the strategy is unknown',
    ['--sticky', 'roundrobin', ...TRUST, ...BACKENDS],
    /^sticky-edge: sticky must be ip_hash, hash or cookie, got "roundrobin"$/,
  ],
  [
    'a CIDR is malformed',
    ['--trust', '10.0.0.0/40', ...BACKENDS],
    /^sticky-edge: trust must be an IPv4 or IPv6 CIDR .*got "10.0.0.0\/40"$/,
  ],
  [
    'trust is 0.0.0.0/0',
    ['--trust', '0.0.0.0/0', ...BACKENDS],
    /^sticky-edge: trust must not be "0.0.0.0\/0": it lets any client choose its own address/,
  ],
  [
    'there is no backend',
    TRUST,
    /^sticky-edge: backends must name at least one backend, got none$/,
  ],
  [
    'a backend is listed twice',
    [...TRUST, ...BACKENDS, '--backend', '10.0.2.10:3000'],
    /^sticky-edge: backend "10.0.2.10:3000" is listed twice$/,
  ],
  [
    'a flag is unknown',
    ['--sticky-cookie', ...TRUST, ...BACKENDS],
    /^sticky-edge: Unknown option '--sticky-cookie'/,
  ],
  [
    'a positional argument is given',
    [...TRUST, ...BACKENDS, 'cookie'],
    /^sticky-edge: Unexpected argument 'cookie'/,
  ],
  [
    'a value starts with a dash (parseArgs explains in three lines; the CLI prints one)',
    ['--cookie-ttl', '-5', ...TRUST, ...BACKENDS],
    /^sticky-edge: Option '--cookie-ttl' argument is ambiguous\. Did you forget .* use '--cookie-ttl=-XYZ'\.$/,
  ],
  // Issue 11: each was accepted and rendered.
  [
    'a trust value carries a CDK token and an injected directive',
    [
      '--trust',
      '10.0.0.0/24;\n    set_real_ip_from 0.0.0.0/0; # ${Token[X.1]}',
      ...BACKENDS,
    ],
    /^sticky-edge: trust must be an IPv4 or IPv6 CIDR .*got "10\.0\.0\.0\/24;\\n    set_real_ip_from 0\.0\.0\.0\/0; # \$\{Token\[X\.1\]\}"$/,
  ],
  [
    '--lb is empty',
    ['--lb', '', ...TRUST, ...BACKENDS],
    /^sticky-edge: --lb must not be empty, got ""$/,
  ],
  [
    '--lb is given twice',
    ['--lb', 'nlb', '--lb', 'alb', ...TRUST, ...BACKENDS],
    /^sticky-edge: --lb may be given once, got "nlb" and "alb"$/,
  ],
];

/** In process (each spawn costs a Node start): the same errors the dispatcher prints. */
const inProcessFailures: [string, string[], RegExp][] = [
  [
    'the load balancer is unknown',
    ['--lb', 'elb', ...TRUST, ...BACKENDS],
    /^lb must be nlb or alb, got "elb"$/,
  ],
  [
    'trust is missing',
    BACKENDS,
    /^trust must name at least one CIDR .*got none$/,
  ],
  [
    'a backend address is malformed',
    [...TRUST, '--backend', 'app:3000'],
    /^backend must be IPV4:PORT or \[IPV6\]:PORT, got "app:3000"$/,
  ],
  [
    'the listen address is malformed',
    ['--listen', '10.0.0.1:http', ...TRUST, ...BACKENDS],
    /^listen must be .*got "10.0.0.1:http"$/,
  ],
  [
    'the status listen address is malformed',
    ['--status-listen', 'localhost:9901', ...TRUST, ...BACKENDS],
    /^statusListen must be .*got "localhost:9901"$/,
  ],
  [
    'the cookie lifetime is not a number',
    ['--cookie-ttl', '1h', ...TRUST, ...BACKENDS],
    /^cookieTtl must be a whole number of seconds .*got "1h"$/,
  ],
  [
    'the upstream timeout is not a number of seconds',
    ['--upstream-timeout', '10s', ...TRUST, ...BACKENDS],
    /^upstreamTimeout must be a whole number of seconds from 1 to 3600, got "10s"$/,
  ],
  [
    '--naive gets an edge flag',
    ['--naive', ...TRUST, ...BACKENDS],
    /^--naive takes only --listen, --backend and --main, got --trust$/,
  ],
  [
    'a flag lacks its value',
    [...TRUST, '--backend'],
    /^Option '--backend <value>' argument missing$/,
  ],
  // Issue 11: each was accepted and rendered.
  [
    'a backend is a whole CDK token (a CLI string is a literal)',
    [...TRUST, '--backend', '${Token[TOKEN.1]}:3000'],
    /^backend must be IPV4:PORT or \[IPV6\]:PORT, got "\$\{Token\[TOKEN\.1\]\}:3000"$/,
  ],
  [
    'trust ranges together cover every IPv4 address',
    ['--trust', '0.0.0.0/1', '--trust', '128.0.0.0/1', ...BACKENDS],
    /^trust "0\.0\.0\.0\/1" is wider than an AWS VPC can be \(at most \/16 for IPv4\)/,
  ],
  [
    'the status listener is the traffic port on every address',
    [
      '--listen',
      '8080',
      '--status-listen',
      '0.0.0.0:8080',
      ...TRUST,
      ...BACKENDS,
    ],
    /^statusListen must not share a port with listen "8080", got "0\.0\.0\.0:8080"$/,
  ],
  [
    'a backend is IPv4-mapped IPv6 in hex',
    [...TRUST, '--backend', '[::ffff:7f00:1]:3000'],
    /^backend must be IPV4:PORT or \[IPV6\]:PORT, got "\[::ffff:7f00:1\]:3000"$/,
  ],
  [
    'a trust range is given twice',
    [...TRUST, ...TRUST, ...BACKENDS],
    /^--trust "10\.0\.0\.0\/24" is given twice$/,
  ],
  [
    'the hash IPv6 prefix is neither 64 nor 128',
    ['--sticky', 'hash', '--hash-ipv6-prefix', '56', ...TRUST, ...BACKENDS],
    /^hashIpv6Prefix must be 64 \(an IPv6 client keyed on its \/64\) or 128 \(its whole address\), got "56"$/,
  ],
  [
    '--hash-ipv6-prefix is given without --sticky hash',
    ['--hash-ipv6-prefix', '128', ...TRUST, ...BACKENDS],
    /^--hash-ipv6-prefix applies only to --sticky hash, got --hash-ipv6-prefix "128" with --sticky ip_hash$/,
  ],
  [
    '--cookie-ttl is given without --sticky cookie',
    ['--cookie-ttl', '600', ...TRUST, ...BACKENDS],
    /^--cookie-ttl applies only to --sticky cookie, got --cookie-ttl "600" with --sticky ip_hash$/,
  ],
  [
    '--cookie-name is given without --sticky cookie',
    ['--cookie-name', 'app_route', ...TRUST, ...BACKENDS],
    /^--cookie-name applies only to --sticky cookie, got --cookie-name "app_route" with --sticky ip_hash$/,
  ],
  [
    '--cookie-same-site is given without --sticky cookie',
    ['--sticky', 'hash', '--cookie-same-site', 'Strict', ...TRUST, ...BACKENDS],
    /^--cookie-same-site applies only to --sticky cookie, got --cookie-same-site "Strict" with --sticky hash$/,
  ],
  [
    '--cookie-same-site is None without --tls (browsers drop a SameSite=None cookie that is not Secure)',
    [...COOKIE, '--cookie-same-site', 'None', ...TRUST, ...BACKENDS],
    /^--cookie-same-site None needs --tls: browsers drop a SameSite=None cookie that is not Secure/,
  ],
  [
    '--cookie-same-site is not spelled as RFC 6265bis spells it',
    [...COOKIE, '--cookie-same-site', 'none', '--tls', ...TRUST, ...BACKENDS],
    /^--cookie-same-site must be Lax, Strict or None, got "none"$/,
  ],
  [
    '--cookie-name has a dash (nginx reads $cookie_my-route as $cookie_my)',
    [...COOKIE, '--cookie-name', 'my-route', ...TRUST, ...BACKENDS],
    /^--cookie-name must be 1-64 letters, digits or underscores \(nginx reads the cookie as \$cookie_NAME\).*got "my-route"$/,
  ],
];

describe('sticky-edge render', () => {
  const runs = new Map<string, Run>();

  // Each run starts Node and tsx: start them all at once.
  beforeAll(async () => {
    const cases: [string, string[]][] = [
      ['defaults', [...TRUST, ...BACKENDS]],
      [
        'cookie',
        [
          '--lb',
          'alb',
          '--sticky',
          'cookie',
          '--listen',
          '10.0.0.10:8080',
          ...TRUST,
          '--trust',
          '10.0.1.0/24',
          ...BACKENDS,
          '--status-listen',
          '127.0.0.1:9901',
          '--tls',
          '--cookie-ttl',
          '600',
          '--cookie-name',
          'app_route',
          '--cookie-same-site',
          'None',
          '--upstream-timeout',
          '4',
        ],
      ],
      ['main', ['--main', ...TRUST, ...BACKENDS]],
      [
        'hash128',
        [
          '--sticky',
          'hash',
          '--hash-ipv6-prefix',
          '128',
          ...TRUST,
          ...BACKENDS,
        ],
      ],
      ['naive', ['--naive', '--listen', '8080', ...BACKENDS]],
      ['help', ['--help']],
      ...failures.map(([name, args]): [string, string[]] => [name, args]),
    ];
    const results = await Promise.all(
      cases.map(
        async ([name, args]) => [name, await spawnRender(args)] as const,
      ),
    );
    for (const [name, result] of results) runs.set(name, result);
  }, 120_000);

  test('prints the config for nlb, ip_hash and port 80 by default', () => {
    expect(runs.get('defaults')).toEqual({
      code: 0,
      stderr: '',
      stdout: renderEdgeConfig({
        lb: 'nlb',
        sticky: 'ip_hash',
        listen: '80',
        trust: ['10.0.0.0/24'],
        backends,
      }),
    });
  });

  test('passes every flag to the renderer', () => {
    const expected = renderEdgeConfig({
      lb: 'alb',
      sticky: 'cookie',
      listen: '10.0.0.10:8080',
      trust: ['10.0.0.0/24', '10.0.1.0/24'],
      backends,
      statusListen: '127.0.0.1:9901',
      tls: true,
      cookieTtlSeconds: 600,
      cookieName: 'app_route',
      cookieSameSite: 'None',
      upstreamTimeoutSeconds: 4,
    });
    expect(expected).toMatch(/ "app_route=[^";]+; Path=\/;/);
    expect(runs.get('cookie')).toEqual({
      code: 0,
      stderr: '',
      stdout: expected,
    });
  });

  test('--hash-ipv6-prefix 128 keys hash on the whole address', () => {
    const stdout = runs.get('hash128')?.stdout;
    expect(stdout).toBe(
      renderEdgeConfig({
        lb: 'nlb',
        sticky: 'hash',
        listen: '80',
        trust: ['10.0.0.0/24'],
        backends,
        hashIpv6Prefix: 128,
      }),
    );
    expect(stdout).toContain('hash $remote_addr consistent;');
  });

  test('--main prints a whole nginx.conf around the config, as the instances write it', () => {
    const http = renderEdgeConfig({
      lb: 'nlb',
      sticky: 'ip_hash',
      listen: '80',
      trust: ['10.0.0.0/24'],
      backends,
    });
    expect(runs.get('main')).toEqual({
      code: 0,
      stderr: '',
      stdout: renderMainConfig({ http, user: 'nginx' }),
    });
  });

  test("--naive prints the seed's configuration", () => {
    expect(runs.get('naive')).toEqual({
      code: 0,
      stderr: '',
      stdout: renderNaiveConfig({ listen: '8080', backends }),
    });
  });

  test('--help documents every flag and exits 0', () => {
    const help = runs.get('help')!;
    expect(help.code).toBe(0);
    for (const flag of [
      '--lb',
      '--sticky',
      '--listen',
      '--trust',
      '--backend',
      '--status-listen',
      '--hash-ipv6-prefix',
      '--tls',
      '--cookie-ttl',
      '--cookie-name',
      '--cookie-same-site',
      '--main',
      '--naive',
      '--help',
    ]) {
      expect(help.stdout).toContain(flag);
    }
  });

  test.each(failures.map(([name, , message]) => [name, message] as const))(
    'fails when %s',
    (name, message) => {
      const result = runs.get(name)!;
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^[^\n]*\n$/);
      expect(result.stderr.trimEnd()).toMatch(message);
    },
  );

  test.each(
    inProcessFailures.map(
      ([name, args, message]) => [name, args, message] as const,
    ),
  )('fails when %s', async (_name, args, message) => {
    await expect(run(args)).rejects.toThrow(message);
  });
});
