/**
 * The local topology's client population: visitors of lib/verify (each with its own source address on 127/8
 * and a cookie jar), numbered and grouped the way the demo and the tests count them.
 */
import { ipHashKey } from '../verify/addresses';
import { Visitor } from '../verify/visitor';
import type { Topology } from './topology-contract';

/** Clients with a /24 of their own use networks 1-250; network 251 is the carrier NAT; 252-255 are spare. */
const OWN_NETWORKS = 250;
export const CARRIER_NAT_NETWORK = 251;
/** A network no client starts in, for moving a client to a new address. */
export const ROAMING_NETWORK = 252;

/** `ipv6-network`: an IPv6 client with a /64 of its own, announced to the topology's `ipv6Url`. */
export type ClientGroup = 'own-network' | 'carrier-nat' | 'ipv6-network';

/** A visitor of the local topology's population: numbered, and in a group of clients alike. */
export class Client extends Visitor {
  constructor(
    readonly id: number,
    /** The source address; a test may change it to move the client (a phone changing networks). */
    public address: string,
    readonly group: ClientGroup,
  ) {
    super(address, group === 'ipv6-network' ? 'announce' : 'bind');
  }

  /** The /24 (IPv4) or /64 (IPv6) the client is in: what `ip_hash` looks at. */
  get network(): string {
    return ipHashKey(this.address);
  }
}

/**
 * `count` clients: nine in ten with a /24 of their own (up to 250 networks, then another host in each), one
 * in ten sharing the carrier-NAT /24.
 */
export function makeClients(
  topology: Pick<Topology, 'clientAddress'>,
  count: number,
): Client[] {
  const natCount = Math.min(254, Math.floor(count / 10));
  const ownCount = count - natCount;
  if (ownCount > OWN_NETWORKS * 254)
    throw new Error(
      `at most ${OWN_NETWORKS * 254 + 254} clients, got ${count}`,
    );
  // A random host in each network, like real client addresses: keys that differ in one octet only would
  // land on the hash ring in a pattern (nginx hashes them with CRC32, which is linear).
  const firstHost = Array.from({ length: OWN_NETWORKS }, () =>
    Math.floor(Math.random() * 254),
  );
  const own = Array.from({ length: ownCount }, (_, i) => {
    const network = i % OWN_NETWORKS;
    const host =
      1 + ((firstHost[network] + Math.floor(i / OWN_NETWORKS)) % 254);
    return new Client(
      i,
      topology.clientAddress(1 + network, host),
      'own-network',
    );
  });
  const nat = Array.from(
    { length: natCount },
    (_, i) =>
      new Client(
        ownCount + i,
        topology.clientAddress(CARRIER_NAT_NETWORK, 1 + i),
        'carrier-nat',
      ),
  );
  return [...own, ...nat];
}
