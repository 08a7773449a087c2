import { nginxHasModule, testNginxConfig } from '../../lib/nginx/nginx-binary';
import {
  renderEdgeConfig,
  renderMainConfig,
  renderNaiveConfig,
} from '../../lib/nginx/render';
import type { EdgeRenderOptions } from '../../lib/nginx/render-options';
import { LB_KINDS, STICKY_STRATEGIES } from '../../lib/settings';

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
      }
    }
  }
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
  });

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
