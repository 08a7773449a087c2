/**
 * Source addresses for the balance, remap and failover clients. Every 127.x.y.z is a distinct local
 * address, so a client "from another network" is a socket bound to another loopback address; the
 * load-balancer stand-in passes that address on to nginx as the client's.
 */
import { ipv6ClientAddress, type AddressBlock } from '../local/addresses';
import { Client, type ClientGroup } from '../local/clients';
import type { ClientMix } from './results';

/** Networks 1..254 of a /16 (network 0 holds a topology's servers). */
const NETWORKS_PER_BLOCK = 250;
/** IPv6 /64s a block offers (`ipv6ClientAddress`'s networks). */
const IPV6_NETWORKS_PER_BLOCK = 0xffff;
export const CARRIER_NAT_NETWORKS = 4;
export const CARRIER_NAT_HOSTS_PER_NETWORK = 16;

/**
 * How many /16 blocks `clientAddresses` needs for `clients` clients of `mix`: twice as many /24s as
 * clients for `distinct-24`, so which /24s the clients get is a random draw.
 */
export function blocksNeeded(mix: ClientMix, clients: number): number {
  return mix === 'distinct-24'
    ? Math.ceil((2 * clients) / NETWORKS_PER_BLOCK)
    : 1;
}

/** Fisher-Yates with an injectable random source, so tests can pin the order. */
function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * One source address per client. The /24s are drawn at random: every network of a block, or consecutive
 * ones, would hash to alternating backends under `ip_hash` and flatter it with a perfect split no real
 * client mix gives.
 * `distinct-24`: every client in a /24 of its own, as many home and office networks would be.
 * `carrier-nat`: all clients behind 64 addresses in 4 /24s, several clients per address, as behind a
 * carrier-grade NAT (a mobile network's few public ranges).
 * `distinct-64`: every client an IPv6 address in a /64 of its own (fd00::/8, announced to the topology's
 * `ipv6Url`), the /64s drawn at random from the block's 65,535, with a random interface id.
 */
export function clientAddresses(
  mix: ClientMix,
  clients: number,
  blocks: readonly AddressBlock[],
  random: () => number = Math.random,
): string[] {
  if (blocks.length < blocksNeeded(mix, clients))
    throw new Error(
      `${clients} ${mix} clients need ${blocksNeeded(mix, clients)} address blocks, got ${blocks.length}`,
    );
  const networkNumbers = Array.from(
    { length: NETWORKS_PER_BLOCK },
    (_, i) => i + 1,
  );
  if (mix === 'distinct-64') {
    if (clients > IPV6_NETWORKS_PER_BLOCK)
      throw new Error(
        `${clients} distinct-64 clients need more than one block's ${IPV6_NETWORKS_PER_BLOCK} /64s`,
      );
    const networks = shuffled(
      Array.from({ length: IPV6_NETWORKS_PER_BLOCK }, (_, i) => i + 1),
      random,
    );
    return networks
      .slice(0, clients)
      .map((network) =>
        ipv6ClientAddress(
          blocks[0],
          network,
          1 + Math.floor(random() * 0xfffffffe),
        ),
      );
  }
  if (mix === 'distinct-24') {
    const all = blocks.flatMap((block) =>
      networkNumbers.map((network) => block.address(network, 10)),
    );
    return shuffled(all, random).slice(0, clients);
  }
  const networks = shuffled(networkNumbers, random);
  const pool = Array.from(
    { length: CARRIER_NAT_NETWORKS * CARRIER_NAT_HOSTS_PER_NETWORK },
    (_, j) =>
      blocks[0].address(
        networks[Math.floor(j / CARRIER_NAT_HOSTS_PER_NETWORK)],
        20 + (j % CARRIER_NAT_HOSTS_PER_NETWORK),
      ),
  );
  return Array.from({ length: clients }, (_, i) => pool[i % pool.length]);
}

const MIX_GROUPS: Record<ClientMix, ClientGroup> = {
  'distinct-24': 'own-network',
  'carrier-nat': 'carrier-nat',
  'distinct-64': 'ipv6-network',
};

/** Fresh clients (no cookies yet) at the addresses of `mix`. */
export function makeMixClients(
  mix: ClientMix,
  count: number,
  blocks: readonly AddressBlock[],
): Client[] {
  return clientAddresses(mix, count, blocks).map(
    (address, i) => new Client(i, address, MIX_GROUPS[mix]),
  );
}
