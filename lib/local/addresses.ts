/**
 * Local addresses for one topology run. Every 127.x.y.z is a distinct address on Linux's loopback, usable as a
 * client or a server without root, so one run takes a random /16 (127.R.0.0) and parallel runs (other tests,
 * other developers' demos) almost never share addresses; ports are still learned by binding port 0, so even a
 * shared /16 cannot make two servers collide.
 */
import { AddressInfo, createServer, Server } from 'node:net';

/** Host part used inside a run's /16. Network 0 holds the servers; clients live in networks 1-254. */
export interface AddressBlock {
  /** e.g. `127.83` */
  readonly prefix: string;
  address(network: number, host: number): string;
}

const takenInThisProcess = new Set<number>();

/** A /16 under 127/8 that no other topology in this process uses. 127.0 is skipped: it holds 127.0.0.1. */
export function allocateBlock(): AddressBlock {
  if (takenInThisProcess.size >= 250)
    throw new Error('every local /16 is taken by a running topology');
  let second: number;
  do second = 2 + Math.floor(Math.random() * 253);
  while (takenInThisProcess.has(second));
  takenInThisProcess.add(second);
  return blockOf(second);
}

/** Gives the /16 back when its topology stops. */
export function releaseBlock(block: AddressBlock): void {
  takenInThisProcess.delete(Number(block.prefix.split('.')[1]));
}

function blockOf(second: number): AddressBlock {
  const prefix = `127.${second}`;
  return {
    prefix,
    address(network, host) {
      if (
        !Number.isInteger(network) ||
        network < 0 ||
        network > 255 ||
        !Number.isInteger(host) ||
        host < 1 ||
        host > 254
      ) {
        throw new Error(`no address ${prefix}.${network}.${host}`);
      }
      return `${prefix}.${network}.${host}`;
    },
  };
}

/**
 * A unique-local IPv6 address (fd00::/8) of this block's own: `fd00:<block>:0:<network>::<host>`. No interface
 * holds it: clients announce it in a PROXY header (see `Topology.ipv6Url`).
 */
export function ipv6ClientAddress(
  block: AddressBlock,
  network: number,
  host: number,
): string {
  if (
    !Number.isInteger(network) ||
    network < 1 ||
    network > 0xffff ||
    !Number.isInteger(host) ||
    host < 1 ||
    host > 0xffffffff
  )
    throw new Error(
      `no IPv6 client address for network ${network}, host ${host}`,
    );
  const second = Number(block.prefix.split('.')[1]);
  const hex = (n: number) => n.toString(16);
  const text = `fd00:${hex(second)}:0:${hex(network)}:0:0:${hex(Math.floor(host / 0x10000))}:${hex(host % 0x10000)}`;
  // The RFC 5952 form (WHATWG URL's serializer), which is also how nginx prints it (ngx_inet6_ntop).
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/** A port that is free on `host` right now (the kernel picks it). */
export async function freePort(host: string): Promise<number> {
  return (await freePorts(host, 1))[0];
}

/** `count` different ports free on `host`: all are held open until each is known, so none repeats. */
export async function freePorts(
  host: string,
  count: number,
): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => listenOnAnyPort(host)),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(
    servers.map((server) => new Promise((resolve) => server.close(resolve))),
  );
  return ports;
}

function listenOnAnyPort(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => resolve(server));
  });
}
