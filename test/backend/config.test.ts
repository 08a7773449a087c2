import { parseBackendArgs } from '../../lib/backend/config';

describe('parseBackendArgs', () => {
  const env = {
    BACKEND_NAME: 'env',
    BACKEND_LISTEN: '0.0.0.0:3000',
    BACKEND_TRUSTED_PROXIES: '198.51.100.7,198.51.100.8/32',
  };

  test('reads the environment when no flag is given', () => {
    expect(parseBackendArgs([], env)).toEqual({
      name: 'env',
      host: '0.0.0.0',
      port: 3000,
      trustedProxies: ['198.51.100.7', '198.51.100.8/32'],
    });
  });

  test('lets flags win over the environment, repeated --trust-proxy included', () => {
    const args = [
      '--name',
      'flag',
      '--listen',
      '[::1]:0',
      '--trust-proxy',
      '10.0.0.1',
      '--trust-proxy',
      'fd00::/8',
    ];
    expect(parseBackendArgs(args, env)).toEqual({
      name: 'flag',
      host: '::1',
      port: 0,
      trustedProxies: ['10.0.0.1', 'fd00::/8'],
    });
  });

  test('trusts nobody by default', () => {
    expect(
      parseBackendArgs(['--name', 'a', '--listen', '127.0.0.1:0'], {})
        .trustedProxies,
    ).toEqual([]);
  });

  test.each([
    ['listen brackets an IPv4 address', '[127.0.0.1]:80'],
    ['listen has an IPv6 address without brackets', '::1:80'],
  ])('fails when %s', (_why, listen) => {
    expect(() =>
      parseBackendArgs(['--name', 'a', '--listen', listen], {}),
    ).toThrow(`got ${JSON.stringify(listen)}`);
  });
});
