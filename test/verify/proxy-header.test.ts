import { BlockList, SocketAddress } from 'node:net';
import { hashKey, ipHashKey } from '../../lib/verify/addresses';
import {
  announceClient,
  ipv6Bytes,
  proxyV2Header,
} from '../../lib/verify/proxy-header';

/** The 16 bytes of `address` as Node's own parser reads it: the one address of `address`/128 in a BlockList. */
function nodeAgrees(address: string, bytes: Buffer): boolean {
  const groups = [0, 2, 4, 6, 8, 10, 12, 14].map((i) =>
    bytes.readUInt16BE(i).toString(16),
  );
  const list = new BlockList();
  list.addSubnet(groups.join(':'), 128, 'ipv6');
  return list.check(address, 'ipv6');
}

describe('ipv6Bytes', () => {
  test.each([
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['2001:db8::', '20010db8000000000000000000000000'],
    ['2001:DB8:0:0:1::1', '20010db8000000000001000000000001'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
    ['::1.2.3.4', '00000000000000000000000001020304'],
    ['fd00:4d:0:1a::9:62c6', 'fd00004d0000001a00000000000962c6'],
  ])('%s', (address, hex) => {
    const bytes = ipv6Bytes(address);
    expect(bytes.toString('hex')).toBe(hex);
    expect(nodeAgrees(address, bytes)).toBe(true);
  });

  test('fails when the text is not an IPv6 address', () => {
    expect(() => ipv6Bytes('1.2.3.4')).toThrow(
      'not an IPv6 address: "1.2.3.4"',
    );
  });
});

describe('proxyV2Header', () => {
  test('TCP over IPv6: signature, PROXY command, family, 36 bytes of addresses and ports', () => {
    const header = announceClient('2001:db8:0:1::7');
    expect(header.subarray(0, 12).toString('hex')).toBe(
      '0d0a0d0a000d0a515549540a',
    );
    expect([...header.subarray(12, 16)]).toEqual([0x21, 0x21, 0, 36]);
    expect(header.subarray(16, 32).toString('hex')).toBe(
      '20010db8000000010000000000000007',
    );
    expect(header).toHaveLength(16 + 36);
  });

  test('TCP over IPv4: 12 bytes of addresses and ports', () => {
    const header = announceClient('203.0.113.7');
    expect([...header.subarray(12, 20)]).toEqual([
      0x21, 0x11, 0, 12, 203, 0, 113, 7,
    ]);
  });

  test('fails when the two addresses are of different families', () => {
    expect(() =>
      proxyV2Header(
        new SocketAddress({ address: '::1', family: 'ipv6' }),
        new SocketAddress({ address: '127.0.0.1', family: 'ipv4' }),
      ),
    ).toThrow('PROXY v2 needs one address family, got ::1 and 127.0.0.1');
  });
});

describe('ipHashKey', () => {
  test.each([
    ['203.0.113.7', '203.0.113'],
    ['::ffff:203.0.113.7', '203.0.113'],
    ['2001:db8:0:1::7', '2001:db8:0:1'],
    ['2001:db8:0:1:ffff::', '2001:db8:0:1'],
    ['2001:0DB8::1', '2001:db8:0:0'],
    ['::1', '0:0:0:0'],
  ])('%s is keyed on %s', (address, key) => {
    expect(ipHashKey(address)).toBe(key);
  });
});

describe('hashKey', () => {
  test.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:0:1::7', '2001:db8:0:1'],
  ])('%s is keyed on %s', (address, key) => {
    expect(hashKey(address)).toBe(key);
  });
});
