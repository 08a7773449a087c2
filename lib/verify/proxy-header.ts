/**
 * PROXY protocol v2 headers (haproxy.org, "The PROXY protocol", section 2.2): what a load balancer or a client
 * network in front of one writes before the first byte of a connection to name the client it carries. The
 * local topology's IPv6 clients send one to the load-balancer stand-in, which believes it (`accept-proxy`)
 * and passes the address on as a dual-stack load balancer would.
 */
import { isIPv4, isIPv6, SocketAddress } from 'node:net';

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
/** Version 2, command PROXY. */
const PROXY_COMMAND = 0x21;
/** Address family and transport: TCP over IPv4, TCP over IPv6. */
const TCP4 = 0x11;
const TCP6 = 0x21;

/** The 16 bytes of an IPv6 address, from any text form Node's parser accepts. */
export function ipv6Bytes(address: string): Buffer {
  if (!isIPv6(address))
    throw new Error(`not an IPv6 address: ${JSON.stringify(address)}`);
  const [head, tail] = expandDotted(address).split('::');
  const groups = (text: string | undefined) =>
    text ? text.split(':').map((g) => parseInt(g, 16)) : [];
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all =
    tail === undefined
      ? left
      : [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  const bytes = Buffer.alloc(16);
  all.forEach((g, i) => bytes.writeUInt16BE(g, i * 2));
  return bytes;
}

/** `::ffff:1.2.3.4` → `::ffff:102:304`: an embedded dotted IPv4 tail as two groups. */
function expandDotted(address: string): string {
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (!dotted) return address;
  const [a, b, c, d] = dotted.slice(1).map(Number);
  return `${address.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

/** A PROXY v2 header (command PROXY, TCP) from `source` to `destination`, both of one family. */
export function proxyV2Header(
  source: SocketAddress,
  destination: SocketAddress,
): Buffer {
  const v6 = source.family === 'ipv6';
  if (destination.family !== source.family)
    throw new Error(
      `PROXY v2 needs one address family, got ${source.address} and ${destination.address}`,
    );
  const address = (a: SocketAddress) =>
    v6 ? ipv6Bytes(a.address) : Buffer.from(a.address.split('.').map(Number));
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(source.port, 0);
  ports.writeUInt16BE(destination.port, 2);
  const body = Buffer.concat([address(source), address(destination), ports]);
  const head = Buffer.from([PROXY_COMMAND, v6 ? TCP6 : TCP4, 0, body.length]);
  return Buffer.concat([SIGNATURE, head, body]);
}

/** The header a client at `client` sends to a listener that believes it; the destination is nominal. */
export function announceClient(client: string): Buffer {
  const family = isIPv4(client) ? 'ipv4' : 'ipv6';
  return proxyV2Header(
    new SocketAddress({ address: client, family, port: 40000 }),
    new SocketAddress({
      address: family === 'ipv4' ? '0.0.0.0' : '::',
      family,
      port: 80,
    }),
  );
}
