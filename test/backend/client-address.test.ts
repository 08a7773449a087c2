import { deriveClientIp } from '../../lib/backend/client-address';
import { parseTrustedProxies } from '../../lib/backend/config';

// Ranges no wider than a VPC can be (IPv4 /16, IPv6 /44), as parseTrustedProxies requires.
const trusted = parseTrustedProxies([
  '10.0.0.5',
  '172.16.0.0/16',
  '172.20.0.0/16',
  'fd00::/44',
  'fd12::/44',
]);

describe('deriveClientIp', () => {
  test.each([
    [
      'an untrusted peer, whatever it claims',
      '192.0.2.1',
      { realIp: '1.1.1.1', forwardedFor: '1.1.1.1' },
      '192.0.2.1',
    ],
    ['a trusted peer without headers', '10.0.0.5', {}, '10.0.0.5'],
    [
      'X-Real-IP before X-Forwarded-For',
      '10.0.0.5',
      { realIp: ' 203.0.113.7 ', forwardedFor: '198.51.100.1' },
      '203.0.113.7',
    ],
    [
      'an unparsable X-Real-IP, falling back to X-Forwarded-For',
      '10.0.0.5',
      { realIp: 'evil', forwardedFor: '198.51.100.1' },
      '198.51.100.1',
    ],
    [
      'the right-most untrusted hop, not a forged left-most one',
      '10.0.0.5',
      { forwardedFor: '6.6.6.6, 203.0.113.7,172.20.0.1' },
      '203.0.113.7',
    ],
    [
      'the left-most hop when every hop is trusted',
      '10.0.0.5',
      { forwardedFor: '172.16.0.9, 172.20.0.1' },
      '172.16.0.9',
    ],
    [
      'the last trusted hop when the next one is garbage',
      '10.0.0.5',
      { forwardedFor: '203.0.113.7, unknown, 172.20.0.1' },
      '172.20.0.1',
    ],
    [
      'an IPv4-mapped peer and hops',
      '::ffff:10.0.0.5',
      { forwardedFor: '::ffff:203.0.113.7' },
      '203.0.113.7',
    ],
    [
      // nginx behind a dual-stack load balancer, reached through the IPv4 NAT: X-Real-IP holds an IPv6 client.
      'an IPv6 client in X-Real-IP from an IPv4 proxy',
      '10.0.0.5',
      { realIp: '2001:db8:0:1::7', forwardedFor: '2001:db8:0:1::7' },
      '2001:db8:0:1::7',
    ],
    [
      'the right-most untrusted IPv6 hop, not a forged left-most one',
      '10.0.0.5',
      { forwardedFor: '2001:db8::bad, 2001:db8:0:1::7, 172.20.0.1' },
      '2001:db8:0:1::7',
    ],
    [
      'IPv6 proxies',
      'fd00::1',
      { forwardedFor: '2001:db8::7, fd12::3' },
      '2001:db8::7',
    ],
  ])('believes %s', (_why, peer, headers, expected) => {
    expect(deriveClientIp(peer, headers, trusted)).toBe(expected);
  });
});
