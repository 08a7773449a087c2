/**
 * What kind of address a backend reported. A client's address as seen from the internet is public; the
 * private, shared (carrier-grade NAT) and link-local ranges are what a load balancer, an nginx node or a NAT
 * gateway has inside a VPC, so seeing one of them where a public client was expected names the hop that
 * replaced the client's address.
 */
import { BlockList, isIP } from 'node:net';
import { ipv6Bytes } from './proxy-header';

export type AddressKind = 'loopback' | 'private' | 'public' | 'not-an-address';

const INTERNAL = new BlockList();
// RFC 1918 private, RFC 6598 shared (CGNAT), RFC 3927 link-local; IPv6 unique-local and link-local.
INTERNAL.addSubnet('10.0.0.0', 8, 'ipv4');
INTERNAL.addSubnet('172.16.0.0', 12, 'ipv4');
INTERNAL.addSubnet('192.168.0.0', 16, 'ipv4');
INTERNAL.addSubnet('100.64.0.0', 10, 'ipv4');
INTERNAL.addSubnet('169.254.0.0', 16, 'ipv4');
INTERNAL.addSubnet('fc00::', 7, 'ipv6');
INTERNAL.addSubnet('fe80::', 10, 'ipv6');

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** `::ffff:10.0.0.1` (how a dual-stack socket reports an IPv4 address) is the same host as `10.0.0.1`. */
export function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address.trim());
  return mapped ? mapped[1] : address.trim();
}

export function addressKind(address: string): AddressKind {
  const plain = plainAddress(address);
  const family = isIP(plain);
  if (family === 0) return 'not-an-address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (LOOPBACK.check(plain, type)) return 'loopback';
  return INTERNAL.check(plain, type) ? 'private' : 'public';
}

/** True for addresses a caller on the same host or network reaches without a NAT in between. */
export function isReachedWithoutNat(address: string): boolean {
  const kind = addressKind(address);
  return kind === 'loopback' || kind === 'private';
}

/**
 * The key the `ip_hash` strategy uses (lib/nginx/client-key.ts): the first three octets of an IPv4 address,
 * the /64 of an IPv6 one (its first four groups, as nginx's map writes them).
 */
export function ipHashKey(address: string): string {
  const plain = plainAddress(address);
  const family = isIP(plain);
  if (family === 4) return plain.split('.').slice(0, 3).join('.');
  if (family === 0) return plain;
  const bytes = ipv6Bytes(plain);
  return [0, 2, 4, 6].map((i) => bytes.readUInt16BE(i).toString(16)).join(':');
}

/**
 * The key the `hash` strategy uses with its default `hashIpv6Prefix` of 64: the whole IPv4 address, the /64 of
 * an IPv6 one.
 */
export function hashKey(address: string): string {
  const plain = plainAddress(address);
  return isIP(plain) === 6 ? ipHashKey(plain) : plain;
}
