import { parseStrictArgs } from './args';
import { nginxConf } from '../nginx/nginx-options';
import { renderEdgeConfig, renderNaiveConfig } from '../nginx/render';
import type { EdgeRenderOptions } from '../nginx/render-options';
import {
  isCookieName,
  isSameSite,
  parseSettings,
  SAME_SITE_NONE_NEEDS_TLS,
  SETTING_KEYS,
} from '../settings';
import { UserError } from '../errors';

const HELP = `usage: sticky-edge render [options]

Prints the nginx edge config (the http-context part: upstreams, maps, server blocks) for the given
load balancer, sticky strategy and backends. The CDK app renders the same text into the nginx tier's
user data.

options:
  --lb nlb|alb             load balancer in front of nginx (default nlb). nlb: PROXY protocol v2 on the
                           listener; alb: X-Forwarded-For, right-most untrusted entry
  --sticky ip_hash|hash|cookie
                           sticky strategy (default ip_hash). ip_hash: the client's IPv4 /24 or IPv6
                           /64; hash: consistent hash of the client address (IPv6: its /64 unless
                           --hash-ipv6-prefix 128); cookie: an nginx-issued routing cookie naming the backend
  --listen ADDR:PORT       where the load balancer connects: PORT, IPV4:PORT or [IPV6]:PORT (default 80)
  --trust CIDR             the load balancer's addresses, whose PROXY header or X-Forwarded-For nginx
                           believes (repeatable, at least one; 0.0.0.0/0 and ::/0 are refused)
  --backend HOST:PORT      an app server, IPV4:PORT or [IPV6]:PORT (repeatable, at least one)
  --status-listen ADDR:PORT
                           also open a plain-HTTP listener with /healthz and /nginx_status
                           (default: none; the config opens no listener you did not name)
  --tls                    the load balancer terminates TLS: Secure cookie, X-Forwarded-Proto https
  --hash-ipv6-prefix 64|128
                           what --sticky hash keys an IPv6 client on: its /64 (default: its temporary
                           addresses rotate inside it) or its whole address. IPv4: the whole address
  --cookie-ttl SECONDS     lifetime of the cookie strategy's routing cookie, ${SETTING_KEYS.cookieTtl}
                           (default 3600)
  --cookie-name NAME       name of the routing cookie: 1-64 letters, digits or underscores, not
                           session (default sticky_edge_route); only with --sticky cookie
  --cookie-same-site Lax|Strict|None
                           SameSite of the routing cookie (default Lax). None, for an app embedded in
                           another site's page, needs --tls (browsers drop a SameSite=None cookie that
                           is not Secure) and adds Partitioned; only with --sticky cookie
  --upstream-timeout SECONDS
                           how long a request waits for a hung or unreachable backend before nginx
                           gives up on it and sends an idempotent one to another backend,
                           ${SETTING_KEYS.upstreamTimeout} (default 10; WebSockets keep 1 h)
  --drain HOST:PORT        drain a backend (repeatable; one of --backend, by address): it gets no new
                           session; cookie sessions pinned to it keep reaching it, ip_hash and hash
                           clients of it move to another backend at once. At least one stays undrained
  --main                   print a whole nginx.conf around the config, as the instances' user data
                           writes it (Amazon Linux 2023 paths, nginx user)
  --naive                  print the seed article's configuration as written (trusts X-Forwarded-For from
                           everyone; for demonstrations only). Takes only --listen, --backend and --main
  -h, --help               show this help

example:
  npx sticky-edge render --lb nlb --sticky cookie --listen 80 --trust 10.0.0.0/24 --backend 10.0.1.10:3000 --backend 10.0.2.10:3000
`;

function parse(argv: string[]) {
  return parseStrictArgs(
    {
      args: argv,
      options: {
        lb: { type: 'string' },
        sticky: { type: 'string' },
        listen: { type: 'string', default: '80' },
        trust: { type: 'string', multiple: true, default: [] },
        backend: { type: 'string', multiple: true, default: [] },
        drain: { type: 'string', multiple: true, default: [] },
        'status-listen': { type: 'string' },
        tls: { type: 'boolean', default: false },
        'cookie-ttl': { type: 'string' },
        'hash-ipv6-prefix': { type: 'string' },
        'cookie-name': { type: 'string' },
        'cookie-same-site': { type: 'string' },
        'upstream-timeout': { type: 'string' },
        main: { type: 'boolean', default: false },
        naive: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
      tokens: true,
    },
    { checksRepeats: ['backend'] },
  );
}

type Values = ReturnType<typeof parse>['values'];

/** The seed's config has none of the project's choices, so flags that only make sense for the edge are refused. */
const NAIVE_FLAGS = ['listen', 'backend', 'main', 'naive', 'help'];

function naiveConfig(values: Values, given: readonly string[]): string {
  const extra = given.find((name) => !NAIVE_FLAGS.includes(name));
  if (extra)
    throw new UserError(
      `--naive takes only --listen, --backend and --main, got --${extra}`,
    );
  return renderNaiveConfig({
    listen: values.listen,
    backends: values.backend.map((address) => ({ address })),
  });
}

function edgeOptions(values: Values): EdgeRenderOptions {
  // The same validation as CDK context, so `--sticky bogus` reads exactly like `-c sticky=bogus`.
  const settings = parseSettings(
    (key) =>
      ({
        lb: values.lb,
        sticky: values.sticky,
        cookieTtl: values['cookie-ttl'],
        upstreamTimeout: values['upstream-timeout'],
        hashIpv6Prefix: values['hash-ipv6-prefix'],
      })[key as string],
  );
  // Attributes of a cookie nobody sets: taken silently, they would read as if they did something.
  for (const flag of ['cookie-ttl', 'cookie-name', 'cookie-same-site'] as const)
    if (values[flag] !== undefined && settings.sticky !== 'cookie') {
      throw new UserError(
        `--${flag} applies only to --sticky cookie, got --${flag} ${JSON.stringify(values[flag])} with --sticky ${settings.sticky}`,
      );
    }
  const sameSite = values['cookie-same-site'];
  if (sameSite !== undefined && !isSameSite(sameSite))
    throw new UserError(
      `--cookie-same-site must be ${SETTING_KEYS.cookieSameSite}, got ${JSON.stringify(sameSite)}`,
    );
  if (sameSite === 'None' && !values.tls)
    throw new UserError(
      SAME_SITE_NONE_NEEDS_TLS('--cookie-same-site', '--tls'),
    );
  const name = values['cookie-name'];
  if (name !== undefined && !isCookieName(name))
    throw new UserError(
      `--cookie-name must be ${SETTING_KEYS.cookieName}, got ${JSON.stringify(name)}`,
    );
  if (values['hash-ipv6-prefix'] !== undefined && settings.sticky !== 'hash') {
    throw new UserError(
      `--hash-ipv6-prefix applies only to --sticky hash, got --hash-ipv6-prefix ${JSON.stringify(values['hash-ipv6-prefix'])} with --sticky ${settings.sticky}`,
    );
  }
  return {
    lb: settings.lb,
    sticky: settings.sticky,
    listen: values.listen,
    trust: values.trust,
    backends: values.backend.map((address) => ({ address })),
    statusListen: values['status-listen'],
    tls: values.tls,
    cookieTtlSeconds: settings.cookieTtlSeconds,
    cookieName: name,
    cookieSameSite: sameSite,
    upstreamTimeoutSeconds: settings.upstreamTimeoutSeconds,
    drain: values.drain,
    ...(settings.sticky === 'hash'
      ? { hashIpv6Prefix: settings.hashIpv6Prefix }
      : {}),
  };
}

/** `sticky-edge render`: prints the config; bad flags throw one-line errors the dispatcher prints (exit 2). */
export async function run(argv: string[]): Promise<number> {
  const { values, tokens } = parse(argv);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const given = tokens.flatMap((t) => (t.kind === 'option' ? [t.name] : []));
  const http = values.naive
    ? naiveConfig(values, given)
    : renderEdgeConfig(edgeOptions(values));
  // --main prints exactly the nginx.conf an instance's user data writes around the same config.
  process.stdout.write(
    values.main ? nginxConf(http, { kind: 'amazon-linux' }) : http,
  );
  return 0;
}
