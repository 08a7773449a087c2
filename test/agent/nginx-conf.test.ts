import {
  configBackends,
  downBackends,
  withDown,
} from '../../lib/agent/nginx-conf';
import { testNginxConfig } from '../../lib/nginx/nginx-binary';
import { renderEdgeConfig, renderMainConfig } from '../../lib/nginx/render';
import { STICKY_STRATEGIES } from '../../lib/settings';

const A = '10.0.2.10:3000';
const B = '[fd00::10]:3000';
const C = '10.0.3.10:3000';
const render = (sticky: (typeof STICKY_STRATEGIES)[number]) =>
  renderEdgeConfig({
    lb: 'nlb',
    sticky,
    listen: '127.0.0.1:8080',
    trust: ['10.0.0.0/24'],
    backends: [A, B, C].map((address, i) => ({ address, id: `app-${i}` })),
  });

describe.each(STICKY_STRATEGIES)('sticky=%s', (sticky) => {
  const conf = render(sticky);

  test('reads the backends from the rendered upstreams, each once', () => {
    expect(configBackends(conf)).toEqual([A, B, C]);
    expect(downBackends(conf)).toEqual([]);
  });

  test('marks every server line of a backend down, and only those, and takes the mark off again', () => {
    const down = withDown(conf, new Set([B]));
    const lines = (text: string, address: string) =>
      text.split('\n').filter((l) => l.trim().startsWith(`server ${address} `));
    expect(lines(down, B).length).toBeGreaterThan(0);
    expect(lines(down, B).every((l) => l.endsWith(' down;'))).toBe(true);
    expect(lines(down, A).some((l) => l.includes('down'))).toBe(false);
    expect(downBackends(down)).toEqual([B]);
    expect(withDown(down, new Set())).toBe(conf);
  });

  test('nginx loads the config with a backend marked down', async () => {
    const result = await testNginxConfig(
      renderMainConfig({
        http: withDown(conf, new Set([A])),
        pidFile: 'nginx.pid',
        errorLog: 'stderr',
        accessLog: 'access.log',
        tempDir: '.',
      }),
    );
    expect(result).toMatchObject({ ok: true });
  });
});

test('leaves server lines outside the renderer’s upstreams alone', () => {
  const other = 'upstream mine {\n    server 10.9.9.9:80;\n}\n';
  expect(withDown(other, new Set(['10.9.9.9:80']))).toBe(other);
  expect(configBackends(other)).toEqual([]);
});
