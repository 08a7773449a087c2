/**
 * Requests that skip the load balancer: a host that reaches an nginx node directly and writes whatever
 * PROXY header or forwarding headers it likes.
 */
import { connect } from 'node:net';
import type { RequestFacts } from '../../lib/backend/page';

const PROXY_V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);

/** A PROXY protocol v2 header (PROXY command, TCP over IPv4) claiming the connection came from `source`. */
export function proxyV2Header(
  source: string,
  destination: string,
  sourcePort: number,
  destinationPort: number,
): Buffer {
  const addresses = Buffer.alloc(12);
  source
    .split('.')
    .forEach((octet, i) => addresses.writeUInt8(Number(octet), i));
  destination
    .split('.')
    .forEach((octet, i) => addresses.writeUInt8(Number(octet), 4 + i));
  addresses.writeUInt16BE(sourcePort, 8);
  addresses.writeUInt16BE(destinationPort, 10);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(addresses.length);
  return Buffer.concat([
    PROXY_V2_SIGNATURE,
    Buffer.from([0x21, 0x11]),
    length,
    addresses,
  ]);
}

export interface RawAnswer {
  readonly status: number;
  readonly facts?: RequestFacts;
}

/** Sends `preamble` (e.g. a PROXY header) then a GET with `headers` from `localAddress`, over one connection. */
export function rawGet(
  url: string,
  localAddress: string,
  preamble: Buffer,
  headers: Record<string, string>,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const head = [
    'GET /?t=direct HTTP/1.1',
    `Host: ${hostname}`,
    'Accept: application/json',
    'Connection: close',
  ]
    .concat(Object.entries(headers).map(([name, value]) => `${name}: ${value}`))
    .join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: hostname,
      port: Number(port),
      localAddress,
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      resolve({
        status,
        facts: status === 200 ? (JSON.parse(body) as RequestFacts) : undefined,
      });
    });
    socket.write(Buffer.concat([preamble, Buffer.from(`${head}\r\n\r\n`)]));
  });
}
