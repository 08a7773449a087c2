/**
 * Source addresses for the balance, remap and failover clients. Every 127.x.y.z is a distinct local
 * address, so a client "from another network" is a socket bound to another loopback address; the
 * load-balancer stand-in passes that address on to nginx as the client's.
 */
import type { AddressBlock } from '../local/addresses';
import { Client } from '../local/clients';
import type { ClientMix } from './results';

/** Networks 1..254 of a /16 (network 0 holds a topology's servers). */
const NETWORKS_PER_BLOCK = 250;
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

/** Fresh clients (no cookies yet) at the addresses of `mix`. */
export function makeMixClients(
  mix: ClientMix,
  count: number,
  blocks: readonly AddressBlock[],
): Client[] {
  return clientAddresses(mix, count, blocks).map(
    (address, i) =>
      new Client(
        i,
        address,
        mix === 'distinct-24' ? 'own-network' : 'carrier-nat',
      ),
  );
}
