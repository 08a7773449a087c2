import { nginxConf, nginxRenderOptions } from '../../lib/nginx/nginx-options';
import { DEFAULT_SETTINGS } from '../../lib/settings';

const edge = {
  trust: ['10.40.0.0/24'],
  backends: [{ address: '198.51.100.10:3000', id: 'app-a' }],
};

describe('nginxRenderOptions', () => {
  test('the instance defaults: traffic on port 80 everywhere, status on loopback only', () => {
    expect(nginxRenderOptions(DEFAULT_SETTINGS, edge)).toEqual({
      lb: 'nlb',
      sticky: 'ip_hash',
      listen: '80',
      trust: edge.trust,
      backends: edge.backends,
      statusListen: '127.0.0.1:8081',
      tls: false,
      cookieTtlSeconds: 3600,
      cookieName: 'sticky_edge_route',
      cookieSameSite: 'Lax',
      upstreamTimeoutSeconds: 10,
      drain: [],
    });
  });

  test('the drain setting passes through to the renderer', () => {
    expect(
      nginxRenderOptions({ ...DEFAULT_SETTINGS, drain: ['app-a'] }, edge).drain,
    ).toEqual(['app-a']);
  });

  test('passes the routing cookie name and SameSite on', () => {
    const settings = {
      ...DEFAULT_SETTINGS,
      cookieName: 'app_route',
      cookieSameSite: 'Strict' as const,
    };
    expect(nginxRenderOptions(settings, edge)).toMatchObject({
      cookieName: 'app_route',
      cookieSameSite: 'Strict',
    });
  });

  test('TLS is on exactly when a certificate is configured, so cookies become Secure', () => {
    const settings = {
      ...DEFAULT_SETTINGS,
      certificateArn:
        'arn:aws:acm:eu-west-1:123456789012:certificate/0b7c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b',
    };
    expect(nginxRenderOptions(settings, edge).tls).toBe(true);
  });

  test('hashIpv6Prefix reaches the renderer with the hash strategy only (the renderer refuses it elsewhere)', () => {
    const settings = { ...DEFAULT_SETTINGS, hashIpv6Prefix: 128 as const };
    expect(
      nginxRenderOptions({ ...settings, sticky: 'hash' }, edge).hashIpv6Prefix,
    ).toBe(128);
    expect(nginxRenderOptions(settings, edge)).not.toHaveProperty(
      'hashIpv6Prefix',
    );
  });

  test('a local topology places the listeners itself and keeps everything else', () => {
    const local = nginxRenderOptions(DEFAULT_SETTINGS, {
      ...edge,
      listen: '127.5.6.7:41000',
      statusListen: '127.5.6.7:41001',
    });
    expect(local).toEqual({
      ...nginxRenderOptions(DEFAULT_SETTINGS, edge),
      listen: '127.5.6.7:41000',
      statusListen: '127.5.6.7:41001',
    });
  });
});

describe('nginxConf', () => {
  const http = 'server {\n    listen 80;\n}\n';
  const instance = nginxConf(http, { kind: 'amazon-linux' });
  const local = nginxConf(http, {
    kind: 'local',
    dir: '/tmp/node-0',
    workerProcesses: 1,
    bufferAccessLog: false,
  });
  const lines = (text: string) => text.split('\n');

  test('an instance runs its workers as the package user with the package paths', () => {
    expect(lines(instance)).toEqual(
      expect.arrayContaining([
        'user nginx;',
        'pid /run/nginx.pid;',
        'error_log /var/log/nginx/error.log;',
        '    access_log /var/log/nginx/access.log sticky_edge buffer=64k flush=1s;',
      ]),
    );
  });

  test('a local node differs only in paths, workers and log buffering', () => {
    expect(local).not.toMatch(/^user /m);
    expect(lines(local)).toEqual(
      expect.arrayContaining([
        'worker_processes 1;',
        'pid /tmp/node-0/nginx.pid;',
        'error_log /tmp/node-0/error.log;',
        '    access_log /tmp/node-0/access.log sticky_edge;',
        '    proxy_temp_path /tmp/node-0/tmp/proxy;',
      ]),
    );
    const differing =
      /^(user|worker_processes|pid|error_log|\s+access_log|\s+\w+_temp_path) /;
    const same = (text: string) =>
      lines(text).filter((l) => !differing.test(l));
    expect(same(local)).toEqual(same(instance));
  });
});
