import type { AddressBlock } from '../../lib/local/addresses';
import { isIPv6 } from 'node:net';
import { blocksNeeded, clientAddresses } from '../../lib/bench/client-mixes';
import { ipHashKey } from '../../lib/verify/addresses';

const block = (second: number): AddressBlock => ({
  prefix: `127.${second}`,
  address: (network, host) => `127.${second}.${network}.${host}`,
});
const blocks = Array.from({ length: 8 }, (_, i) => block(201 + i));
const slash24 = (address: string) => address.split('.').slice(0, 3).join('.');

describe('clientAddresses', () => {
  test('distinct /24s: every client has a /24 of its own', () => {
    const addresses = clientAddresses('distinct-24', 1000, blocks);
    expect(addresses).toHaveLength(1000);
    expect(new Set(addresses.map(slash24)).size).toBe(1000);
    expect(addresses.every((a) => a.startsWith('127.'))).toBe(true);
  });

  test('carrier NAT: 1000 clients share 64 addresses in 4 /24s', () => {
    const addresses = clientAddresses('carrier-nat', 1000, blocks);
    expect(addresses).toHaveLength(1000);
    expect(new Set(addresses).size).toBe(64);
    expect(new Set(addresses.map(slash24)).size).toBe(4);
  });

  test('distinct /64s: every client an IPv6 address in fd00::/8 with a /64 of its own', () => {
    const addresses = clientAddresses('distinct-64', 1000, blocks);
    expect(addresses).toHaveLength(1000);
    expect(addresses.every((a) => isIPv6(a) && a.startsWith('fd00:'))).toBe(
      true,
    );
    expect(new Set(addresses.map(ipHashKey)).size).toBe(1000);
    expect(blocksNeeded('distinct-64', 1000)).toBe(1);
  });

  test('fails when distinct /64s are asked for more clients than a block has /64s', () => {
    expect(() => clientAddresses('distinct-64', 70_000, blocks)).toThrow(
      "70000 distinct-64 clients need more than one block's 65535 /64s",
    );
  });

  test('the /24s are picked at random, not consecutively', () => {
    let seed = 1;
    const random = () =>
      ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const networks = clientAddresses('carrier-nat', 64, blocks, random).map(
      (a) => Number(a.split('.')[2]),
    );
    const distinct = [...new Set(networks)].sort((a, b) => a - b);
    expect(distinct).toHaveLength(4);
    expect(distinct[3] - distinct[0]).toBeGreaterThan(3);
  });

  test('distinct /24s are a random draw, not every network of a block', () => {
    const networks = clientAddresses('distinct-24', 250, blocks).map((a) =>
      a.split('.').slice(1, 3).join('.'),
    );
    const perBlock = new Set(networks.map((n) => n.split('.')[0]));
    expect(perBlock.size).toBeGreaterThan(2);
  });

  test('draws from twice as many /24s as there are clients', () => {
    expect(blocksNeeded('distinct-24', 1000)).toBe(8);
    expect(blocksNeeded('distinct-24', 1001)).toBe(9);
    expect(blocksNeeded('distinct-24', 30)).toBe(1);
    expect(blocksNeeded('carrier-nat', 1000)).toBe(1);
    expect(() =>
      clientAddresses('distinct-24', 1000, blocks.slice(0, 3)),
    ).toThrow('need 8 address blocks, got 3');
  });
});
