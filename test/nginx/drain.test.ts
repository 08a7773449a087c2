/**
 * Draining a backend in the renderer: which lines change per strategy, every bad `drain` value refused with one
 * line, every drained variant loaded by the real nginx, and the health agent's edits composing with a drain.
 * test/local/drain.test.ts shows the behaviour with real traffic.
 */
import {
  configBackends,
  downBackends,
  withDown,
} from '../../lib/agent/nginx-conf';
import { UserError } from '../../lib/errors';
import { testNginxConfig } from '../../lib/nginx/nginx-binary';
import {
  balancedUpstream,
  renderEdgeConfig,
  renderMainConfig,
  routeUpstreams,
} from '../../lib/nginx/render';
import type { EdgeRenderOptions } from '../../lib/nginx/render-options';
import { validateEdgeOptions } from '../../lib/nginx/validate';
import { LB_KINDS, STICKY_STRATEGIES } from '../../lib/settings';

const A = { address: '10.0.2.10:3000', id: 'app-a' };
const B = { address: '10.0.3.10:3000', id: 'app-b' };
const C = { address: '[2001:db8::1]:3000', id: 'app-c' };

const options = (
  overrides: Partial<EdgeRenderOptions> = {},
): EdgeRenderOptions => ({
  lb: 'nlb',
  sticky: 'cookie',
  listen: '127.0.0.1:8080',
  trust: ['10.0.0.0/24'],
  backends: [A, B, C],
  ...overrides,
});

/** The trimmed server lines of upstream `name`. */
function servers(lines: readonly string[], name: string): string[] {
  const trimmed = lines.map((l) => l.trim());
  const start = trimmed.indexOf(`upstream ${name} {`);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = trimmed.indexOf('}', start);
  return trimmed.slice(start + 1, end).filter((l) => l.startsWith('server '));
}

describe('validation', () => {
  test.each<[string, readonly string[]]>([
    ['by route id', ['app-b']],
    ['by HOST:PORT', ['10.0.3.10:3000']],
    ['by an IPv6 HOST:PORT in another spelling', ['[2001:0db8::0001]:3000']],
  ])('names a backend %s', (_, drain) => {
    const o = validateEdgeOptions(options({ drain }));
    expect(o.drained).toHaveLength(1);
    expect([A.address, B.address, C.address]).toContain(o.drained[0]);
  });

  test('no drain drains nothing, and an empty list neither', () => {
    expect(validateEdgeOptions(options()).drained).toEqual([]);
    expect(validateEdgeOptions(options({ drain: [] })).drained).toEqual([]);
  });

  test.each<[string, unknown, RegExp]>([
    [
      'a name that is no backend',
      ['app-z'],
      /^drain must name a configured backend by its id or HOST:PORT \(app-a 10\.0\.2\.10:3000, .*\), got "app-z"$/,
    ],
    [
      'an address with the wrong port',
      ['10.0.3.10:3001'],
      /^drain must name a configured backend .*, got "10\.0\.3\.10:3001"$/,
    ],
    [
      'an empty name',
      [''],
      /^drain must name a configured backend .*, got ""$/,
    ],
    ['a non-string', [42], /^drain must name a configured backend .*, got 42$/],
    [
      'one backend twice (id and address)',
      ['app-b', '10.0.3.10:3000'],
      /^drain names backend "10\.0\.3\.10:3000" twice$/,
    ],
    [
      'every backend',
      ['app-a', 'app-b', 'app-c'],
      /^drain must leave at least one backend to take new sessions, got every backend: "app-a,app-b,app-c"$/,
    ],
    ['not a list', 'app-b', /^drain must be a list of backends, got "app-b"$/],
  ])('fails when drain is %s', (_, drain, message) => {
    const attempt = () =>
      renderEdgeConfig(options({ drain: drain as readonly string[] }));
    expect(attempt).toThrow(UserError);
    expect(attempt).toThrow(message);
  });
});

describe('rendered lines', () => {
  test.each(STICKY_STRATEGIES)(
    'sticky=%s: the balanced upstream keeps a drained backend, marked down, in its place',
    (sticky) => {
      const lines = balancedUpstream(
        validateEdgeOptions(options({ sticky, drain: ['app-b'] })),
      );
      const weight = sticky === 'hash' ? ' weight=20' : '';
      expect(servers(lines, 'sticky_edge')).toEqual([
        `server 10.0.2.10:3000${weight} max_fails=2 fail_timeout=5s;`,
        `server 10.0.3.10:3000${weight} max_fails=2 fail_timeout=5s down; # drained: no new sessions`,
        `server [2001:db8::1]:3000${weight} max_fails=2 fail_timeout=5s;`,
      ]);
    },
  );

  test('cookie: a drained backend keeps its own route upstream and is no other backend’s backup', () => {
    const lines = routeUpstreams([A, B, C], [B.address]);
    expect(servers(lines, 'sticky_edge_route_app-b')).toEqual([
      'server 10.0.2.10:3000 max_fails=2 fail_timeout=5s backup;',
      'server 10.0.3.10:3000 max_fails=2 fail_timeout=5s;',
      'server [2001:db8::1]:3000 max_fails=2 fail_timeout=5s backup;',
    ]);
    expect(servers(lines, 'sticky_edge_route_app-a')).toEqual([
      'server 10.0.2.10:3000 max_fails=2 fail_timeout=5s;',
      'server [2001:db8::1]:3000 max_fails=2 fail_timeout=5s backup;',
    ]);
    expect(servers(lines, 'sticky_edge_route_app-c')).toEqual([
      'server 10.0.2.10:3000 max_fails=2 fail_timeout=5s backup;',
      'server [2001:db8::1]:3000 max_fails=2 fail_timeout=5s;',
    ]);
  });

  test('cookie: the drained backend’s route id still picks its upstream and is still issued', () => {
    const conf = renderEdgeConfig(options({ drain: ['app-b'] }));
    expect(conf).toContain('"app-b" sticky_edge_route_app-b;');
    expect(conf).toContain('"10.0.3.10:3000" "app-b";');
  });

  test('the header names the drained backends', () => {
    expect(
      renderEdgeConfig(options({ drain: ['app-c', 'app-a'] })).split('\n')[0],
    ).toBe(
      '# sticky-edge: lb=nlb sticky=cookie drain=10.0.2.10:3000,[2001:db8::1]:3000. Rendered by sticky-edge; edit the options, not this file.',
    );
  });
});

const wrap = (http: string) =>
  renderMainConfig({
    http,
    pidFile: 'nginx.pid',
    errorLog: 'stderr',
    accessLog: 'access.log',
    tempDir: '.',
  });

describe('nginx -t', () => {
  const variants = LB_KINDS.flatMap((lb) =>
    STICKY_STRATEGIES.flatMap((sticky) =>
      [['app-b'], ['app-a', 'app-c']].map(
        (drain) =>
          [
            `lb=${lb} sticky=${sticky} drain=${drain.join(',')}`,
            renderEdgeConfig(options({ lb, sticky, drain })),
          ] as const,
      ),
    ),
  );
  test.each(variants)('loads %s', async (_, http) => {
    const result = await testNginxConfig(wrap(http));
    expect(result.output).not.toMatch(/\[(warn|emerg)\]/);
    expect(result.ok).toBe(true);
  });
});

describe.each(STICKY_STRATEGIES)(
  'sticky=%s: the health agent and a drain compose',
  (sticky) => {
    const conf = renderEdgeConfig(options({ sticky, drain: ['app-b'] }));
    const drainedLine = `server 10.0.3.10:3000${sticky === 'hash' ? ' weight=20' : ''} max_fails=2 fail_timeout=5s down; # drained: no new sessions`;
    const lines = (text: string) => text.split('\n').map((l) => l.trim());

    test('a fresh agent round (nothing down) leaves the drain in place', () => {
      expect(withDown(conf, new Set())).toBe(conf);
      expect(downBackends(conf)).toEqual([]);
    });

    test('marking another backend down and up again never lifts the drain', () => {
      const down = withDown(conf, new Set([A.address]));
      expect(lines(down)).toContain(drainedLine);
      expect(downBackends(down)).toEqual([A.address]);
      expect(withDown(down, new Set())).toBe(conf);
    });

    test('the agent probes a drained backend exactly where it still serves pinned sessions', () => {
      // cookie: its route upstream holds it; ip_hash and hash: nowhere, as nothing reaches it.
      expect(configBackends(conf).sort()).toEqual(
        sticky === 'cookie'
          ? [A.address, B.address, C.address].sort()
          : [A.address, C.address].sort(),
      );
    });

    test('nginx loads the drained config with the agent’s down marks', async () => {
      const result = await testNginxConfig(
        wrap(withDown(conf, new Set([A.address, B.address]))),
      );
      expect(result.ok).toBe(true);
    });
  },
);
