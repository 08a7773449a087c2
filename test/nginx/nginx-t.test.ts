import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findNginx,
  nginxHasModule,
  testNginxConfig,
} from '../../lib/nginx/nginx-binary';
import { accessLogMaps } from '../../lib/nginx/access-log';
import {
  renderEdgeConfig,
  renderMainConfig,
  renderNaiveConfig,
} from '../../lib/nginx/render';
import type { EdgeRenderOptions } from '../../lib/nginx/render-options';
import { LB_KINDS, STICKY_STRATEGIES } from '../../lib/settings';
import { MAX_BACKENDS } from '../../lib/nginx/validate';

/** Every variant the renderer can produce, loaded by the real nginx (`nginx -t`), all checks in parallel. */

const backends = [
  { address: '10.0.2.10:3000' },
  { address: '[fd00::10]:3000' },
  { address: '10.0.3.10:3000', id: 'app-c' },
];
const variants: [string, string][] = [];
for (const lb of LB_KINDS) {
  for (const sticky of STICKY_STRATEGIES) {
    for (const tls of [false, true]) {
      for (const statusListen of [undefined, '127.0.0.1:9901']) {
        const options: EdgeRenderOptions = {
          lb,
          sticky,
          tls,
          statusListen,
          listen: '127.0.0.1:8080',
          trust: ['10.0.0.0/24', 'fd00::/64'],
          backends,
        };
        variants.push([
          `lb=${lb} sticky=${sticky} tls=${tls} status=${statusListen !== undefined}`,
          renderEdgeConfig(options),
        ]);
        if (sticky === 'hash')
          variants.push([
            `lb=${lb} sticky=hash hashIpv6Prefix=128 tls=${tls} status=${statusListen !== undefined}`,
            renderEdgeConfig({ ...options, hashIpv6Prefix: 128 }),
          ]);
      }
    }
  }
}
// The routing cookie renamed (mixed case: nginx lowercases variable names) with each other SameSite.
for (const cookieSameSite of ['Strict', 'None'] as const)
  variants.push([
    `lb=nlb sticky=cookie tls=true cookieName=App_Route_2 cookieSameSite=${cookieSameSite}`,
    renderEdgeConfig({
      lb: 'nlb',
      sticky: 'cookie',
      tls: true,
      listen: '127.0.0.1:8080',
      trust: ['10.0.0.0/24'],
      backends,
      cookieName: 'App_Route_2',
      cookieSameSite,
    }),
  ]);
// appCount=8 and own backends with the post-deploy check's header (the CDK app's two variants beyond lb × sticky × TLS).
const eightApps = Array.from({ length: 8 }, (_, i) => ({
  address: `198.51.100.${10 + i}:3000`,
  id: `app-${'abcdefgh'[i]}`,
}));
for (const sticky of STICKY_STRATEGIES) {
  variants.push([
    `lb=nlb sticky=${sticky} 8 app servers, the backend header for two addresses`,
    renderEdgeConfig({
      lb: 'nlb',
      sticky,
      listen: '127.0.0.1:8080',
      trust: ['10.0.0.0/24'],
      backends: eightApps,
      revealBackendTo: ['203.0.113.7', '203.0.113.8/32'],
    }),
  ]);
}
variants.push([
  'naive',
  renderNaiveConfig({ listen: '127.0.0.1:8080', backends }),
]);

/** Paths relative to the temp prefix `testNginxConfig` runs in. */
const wrap = (http: string) =>
  renderMainConfig({
    http,
    pidFile: 'nginx.pid',
    errorLog: 'stderr',
    accessLog: 'access.log',
    tempDir: '.',
  });

describe('nginx -t', () => {
  let results: Map<string, { ok: boolean; output: string }>;

  beforeAll(async () => {
    const checked = await Promise.all(
      variants.map(
        async ([name, http]) =>
          [name, await testNginxConfig(wrap(http))] as const,
      ),
    );
    results = new Map(checked);
    // Many nginx -t processes at once: give a loaded machine time, the result does not depend on it.
  }, 60_000);

  test.each(variants.map(([name]) => name))(
    'loads %s without warnings',
    (name) => {
      const result = results.get(name)!;
      expect(result.output).toContain('test is successful');
      expect(result.output).not.toMatch(/\[(warn|emerg|alert)\]/);
      expect(result.ok).toBe(true);
    },
  );

  test('reports the error of a config nginx rejects', async () => {
    const result = await testNginxConfig(
      wrap('upstream broken { bogus_directive; }'),
    );
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(
      /\[emerg\] \d+#\d+: unknown directive "bogus_directive"/,
    );
  });

  test('this nginx has stub_status, which the status listener uses', async () => {
    expect(await nginxHasModule('http_stub_status_module')).toBe(true);
    expect(await nginxHasModule('no_such_module')).toBe(false);
  });
});

/** The longest backend addresses and ids the renderer accepts, `count` of them. */
const longest = (count: number, family: 4 | 6) =>
  Array.from({ length: count }, (_, i) => ({
    address:
      family === 6
        ? `[fd00:1234:5678:9abc:def0:1234:5678:${(0x9a00 + i).toString(16)}]:65535`
        : `100.100.100.${100 + i}:65535`,
    id: `a${'x'.repeat(28)}${String(i).padStart(3, '0')}`,
  }));

describe('nginx -t at the limits the renderer states', () => {
  test.each(
    STICKY_STRATEGIES.flatMap((sticky) =>
      ([4, 6] as const).map((family) => [sticky, family] as const),
    ),
  )(
    'loads 60 backends (MAX_BACKENDS) with the longest addresses, sticky=%s IPv%s',
    async (sticky, family) => {
      const result = await testNginxConfig(
        wrap(
          renderEdgeConfig({
            lb: 'nlb',
            sticky,
            listen: '127.0.0.1:8080',
            trust: ['10.0.0.0/24'],
            backends: longest(MAX_BACKENDS, family),
          }),
        ),
      );
      expect(result.output).toContain('test is successful');
      expect(result.ok).toBe(true);
    },
  );

  test('refuses a zone that overflows: 65 servers in one 64 KB upstream zone (why the limit exists)', async () => {
    const servers = longest(65, 4)
      .map((b) => `    server ${b.address};`)
      .join('\n');
    const result = await testNginxConfig(
      // The access log's maps come along: the main config's log_format names their variables.
      wrap(
        `${accessLogMaps([], false).join('\n')}\nupstream full {\n    zone full 64k;\n${servers}\n}\n`,
      ),
    );
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/no memory in upstream zone "full"/);
  });

  test('loads the cookie strategy with one long IPv6 backend (its map key needs a 128-byte bucket)', async () => {
    const result = await testNginxConfig(
      wrap(
        renderEdgeConfig({
          lb: 'alb',
          sticky: 'cookie',
          listen: '127.0.0.1:8080',
          trust: ['10.0.0.0/24'],
          backends: longest(1, 6),
        }),
      ),
    );
    expect(result.output).toContain('test is successful');
  });
});

describe('nginx -t would load the payloads the renderer refuses (issue 11)', () => {
  const options: EdgeRenderOptions = {
    lb: 'nlb',
    sticky: 'ip_hash',
    listen: '127.0.0.1:8080',
    trust: ['10.9.9.0/24'],
    backends: [{ address: '10.0.2.10:3000' }],
  };
  const injected: [string, string, Partial<EdgeRenderOptions>, string][] = [
    [
      'set_real_ip_from 0.0.0.0/0 in a trust value',
      '10.9.9.0/24;\n    set_real_ip_from 0.0.0.0/0; # ${Token[X.1]}',
      {},
      '10.9.9.0/24',
    ],
    [
      'a whole server block in a backend value',
      '10.0.2.10:3000;\n}\nserver {\n    listen 127.0.0.1:8081;\n    location / { return 200 "owned"; }\n}\nupstream x {\n    server 10.0.3.10:3000; # ${Token[X.2]}',
      {},
      '10.0.2.10:3000',
    ],
  ];

  test.each(injected)(
    'fails when %s: nginx -t accepts the pasted text, the renderer (CLI and CDK path alike) refuses it',
    async (_name, payload, _o, placeholder) => {
      // What the renderer wrote when the text skipped validation: the value pasted where it stands.
      const pasted = renderEdgeConfig(options).replace(placeholder, payload);
      expect(pasted).toContain(payload);
      expect((await testNginxConfig(wrap(pasted))).ok).toBe(true);
      const asOption =
        placeholder === '10.9.9.0/24'
          ? { trust: [payload] }
          : { backends: [{ address: payload }] };
      for (const policy of [{}, { allowTokens: true }]) {
        expect(() =>
          renderEdgeConfig({ ...options, ...asOption }, policy),
        ).toThrow(expect.objectContaining({ name: 'UserError' }));
      }
    },
  );
});

describe('a status listener beside the traffic port, on real nginx', () => {
  /** A port free on 127.0.0.1 and ::1 right now. */
  async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '::', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  test('listen PORT (0.0.0.0 only) and statusListen [::1]:PORT are two sockets: stub_status answers only on ::1', async () => {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'sticky-edge-status-'));
    const conf = join(dir, 'nginx.conf');
    await writeFile(
      conf,
      wrap(
        renderEdgeConfig({
          lb: 'alb',
          sticky: 'ip_hash',
          listen: String(port),
          statusListen: `[::1]:${port}`,
          trust: ['127.0.0.0/16'],
          backends: [{ address: '127.0.0.1:1' }],
        }),
      ),
    );
    const nginx = spawn(
      findNginx(),
      ['-p', dir + '/', '-c', conf, '-e', 'stderr', '-g', 'daemon off;'],
      { stdio: 'ignore' },
    );
    try {
      const get = async (host: string) => {
        for (let i = 0; i < 50; i++) {
          try {
            return await fetch(`http://${host}:${port}/nginx_status`);
          } catch {
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        throw new Error(`nginx did not answer on ${host}:${port}`);
      };
      const status = await get('[::1]');
      expect(status.status).toBe(200);
      expect(await status.text()).toMatch(/^Active connections: \d+/);
      const traffic = await get('127.0.0.1');
      // The traffic listener proxies the path to the (absent) backend: no stub_status there.
      expect(traffic.status).toBe(502);
      expect(await traffic.text()).not.toMatch(/Active connections/);
    } finally {
      nginx.kill('SIGTERM');
      await new Promise((resolve) => nginx.once('exit', resolve));
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
