import { nginxRenderOptions } from '../../lib/nginx/nginx-options';
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
