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
      'fd00::/56',
    ];
    expect(parseBackendArgs(args, env)).toEqual({
      name: 'flag',
      host: '::1',
      port: 0,
      trustedProxies: ['10.0.0.1', 'fd00::/56'],
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

  test('accepts the widest ranges a VPC can have: IPv4 /16, IPv6 /44', () => {
    const args = ['--name', 'a', '--listen', '127.0.0.1:0'];
    const trust = [
      '--trust-proxy',
      '10.0.0.0/16',
      '--trust-proxy',
      'fd00::/44',
    ];
    expect(parseBackendArgs([...args, ...trust], {}).trustedProxies).toEqual([
      '10.0.0.0/16',
      'fd00::/44',
    ]);
  });

  test.each([
    [
      '0.0.0.0/1 + 128.0.0.0/1 trust every IPv4 address',
      '0.0.0.0/1,128.0.0.0/1',
      '0.0.0.0/1',
      4,
      16,
    ],
    [
      '::/1 + 8000::/1 trust every IPv6 address',
      '::/1,8000::/1',
      '::/1',
      6,
      44,
    ],
    [
      'four /2s trust every IPv4 address',
      '0.0.0.0/2,64.0.0.0/2,128.0.0.0/2,192.0.0.0/2',
      '0.0.0.0/2',
      4,
      16,
    ],
    ['one IPv4 range is wider than a VPC', '10.0.0.0/15', '10.0.0.0/15', 4, 16],
    ['one IPv6 range is wider than a VPC', 'fd00::/43', 'fd00::/43', 6, 44],
  ])('fails when %s', (_why, list, first, family, widest) => {
    expect(() =>
      parseBackendArgs(['--name', 'a', '--listen', '127.0.0.1:0'], {
        BACKEND_TRUSTED_PROXIES: list,
      }),
    ).toThrow(
      `trusted proxy must be an IP or CIDR no wider than an AWS VPC (/${widest} for IPv${family}: the proxies are inside one), got ${JSON.stringify(first)}`,
    );
  });

  test.each([
    [
      ['--name', 'a', '--name', 'b', '--listen', '127.0.0.1:0'],
      '--name may be given once, got "a" and "b"',
    ],
    [
      ['--name', 'a', '--listen', '127.0.0.1:0', '--listen', '127.0.0.1:1'],
      '--listen may be given once, got "127.0.0.1:0" and "127.0.0.1:1"',
    ],
    [
      [
        '--name',
        'a',
        '--listen',
        '127.0.0.1:0',
        '--trust-proxy',
        '10.0.0.1',
        '--trust-proxy',
        '10.0.0.1',
      ],
      '--trust-proxy "10.0.0.1" is given twice',
    ],
    [
      ['--name', '', '--listen', '127.0.0.1:0'],
      'name must be 1-63 letters, digits, dots, dashes or underscores, got ""',
    ],
  ])('fails when given %j', (args, message) => {
    expect(() => parseBackendArgs(args, {})).toThrow(message);
  });
});
