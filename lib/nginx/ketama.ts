/**
 * An exact model of the ring nginx 1.22 builds for `hash KEY consistent` (ngx_http_upstream_hash_module.c,
 * `ngx_http_upstream_init_chash`, `ngx_http_upstream_find_chash_point`, `ngx_http_upstream_get_chash_peer`),
 * for telling which server a key goes to and how much of the ring, and so of the clients, each server holds.
 * The `hash` strategy's ring weight (`HASH_RING_WEIGHT` in ./render.ts) rests on it, and
 * test/nginx/ketama.test.ts checks it request by request against real nginx.
 *
 * What nginx does, step by step:
 * - A server's `server` text splits into HOST and PORT at the last `:` that only digits follow (no PORT
 *   without one; `unix:PATH` is all HOST). Its `160 × weight` points are `crc32(HOST "\0" PORT PREV)`, where
 *   PREV is the previous point's hash as 4 little-endian bytes (the C union's bytes on x86 and arm64), 0 for
 *   the first. So a server's first 160 points are the same at every weight.
 * - The points of all servers are sorted by hash and, of points with one hash, only the first is kept. nginx
 *   sorts with libc's `qsort`; glibc's is a merge sort for arrays this size, which keeps equal points in the
 *   order they were made (servers in config order), so the first server listed keeps a shared point. A tie
 *   takes about one ring in 13 of 8 × 3,200 points and moves one point's arc (~1/25,600 of the ring).
 * - A key's hash is `crc32(KEY)`; it goes to the first point whose hash is >= it, and past the last point to
 *   the first. With every server up that point's server answers (a down or failed server's points pass the
 *   key on to the next point, which this model leaves out, as it leaves out a single server and an empty key,
 *   which nginx balances round robin).
 *
 * nginx's CRC32 (`ngx_crc32_*`) is the common one (IEEE 802.3, reflected, as zlib's), so Node's `zlib.crc32`
 * (Node 20.15 or later) computes it, and `crc32(b, crc32(a))` continues over `a` then `b` as nginx's
 * `ngx_crc32_update` does.
 */
import * as zlib from 'node:zlib';
import { UserError } from '../errors';

/** The reflected CRC-32 table (polynomial 0xEDB88320), for Node before 20.15, which has no `zlib.crc32`. */
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** zlib's `crc32(data, value)`, continuing from `value`, computed by table. */
export function tableCrc32(data: Uint8Array | string, value = 0): number {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let c = ~value >>> 0;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Node's own CRC32 where it has one (20.15 and later; the project supports Node 20). */
const crc32: (data: Uint8Array | string, value?: number) => number =
  typeof zlib.crc32 === 'function' ? zlib.crc32 : tableCrc32;

/** Points per unit of weight (`npoints = peer->weight * 160`). */
export const POINTS_PER_WEIGHT = 160;

const RING_SIZE = 2 ** 32;

/** One `server ADDRESS weight=W;` line of the upstream, in config order. */
export interface RingServer {
  /** The `server` directive's address, as written (`127.1.0.20:41234`, `[2001:db8::1]:3000`). */
  readonly address: string;
  /** @default 1 - nginx's default weight */
  readonly weight?: number;
}

export interface KetamaRing {
  /** The ring's point hashes after nginx's sort and deduplication, ascending. */
  readonly hashes: Uint32Array;
  /** The server that owns each point, by index in `hashes`. */
  serverAt(index: number): string;
  /** The server nginx sends `key` to when every server is up. */
  serverFor(key: string): string;
  /** Each server's share of the ring (0 to 1; they sum to 1): the share of all possible key hashes it takes. */
  shares(): Map<string, number>;
}

/** HOST and PORT as nginx splits a server's text before hashing its points. */
export function hostAndPort(server: string): { host: string; port: string } {
  if (server.length >= 5 && server.slice(0, 5).toLowerCase() === 'unix:')
    return { host: server.slice(5), port: '' };
  const port = /:(\d*)$/.exec(server);
  return port
    ? { host: server.slice(0, port.index), port: port[1] }
    : { host: server, port: '' };
}

/** The server's points in the order nginx makes them: `crc32(HOST "\0" PORT PREV)`, chained. */
export function serverPoints(address: string, weight = 1): number[] {
  const points: number[] = [];
  makePoints(address, weight * POINTS_PER_WEIGHT, (hash) => points.push(hash));
  return points;
}

function makePoints(
  address: string,
  count: number,
  add: (hash: number) => void,
): void {
  const { host, port } = hostAndPort(address);
  const base = crc32(Buffer.from(`${host}\0${port}`, 'latin1'));
  const prev = Buffer.alloc(4);
  for (let j = 0; j < count; j++) {
    const hash = crc32(prev, base);
    add(hash);
    prev.writeUInt32LE(hash);
  }
}

/** Points one ring may hold: each point's creation order fits in the low bits of its sort key (see below). */
const MAX_POINTS = 2 ** 21;

/** nginx's ring for these servers, as `ngx_http_upstream_init_chash` builds it. */
export function ketamaRing(servers: readonly RingServer[]): KetamaRing {
  const names = validServers(servers);
  const total = servers.reduce(
    (sum, s) => sum + (s.weight ?? 1) * POINTS_PER_WEIGHT,
    0,
  );
  if (total > MAX_POINTS)
    throw new UserError(
      `a hash ring of at most ${MAX_POINTS} points is modelled, got ${total}`,
    );
  // Sorted by hash, then by creation order, as glibc's stable merge sort leaves equal points: one float per
  // point, hash × 2^21 + order, below 2^53 so exact, which a typed array sorts numerically without a callback.
  const made = new Uint32Array(total);
  const owner = new Uint8Array(total);
  const keys = new Float64Array(total);
  let order = 0;
  servers.forEach(({ address, weight = 1 }, s) =>
    makePoints(address, weight * POINTS_PER_WEIGHT, (hash) => {
      made[order] = hash;
      owner[order] = s;
      keys[order] = hash * MAX_POINTS + order;
      order++;
    }),
  );
  keys.sort();
  const hashes = new Uint32Array(total);
  const owners = new Uint8Array(total);
  let kept = 0;
  for (const key of keys) {
    const o = key % MAX_POINTS;
    if (kept > 0 && hashes[kept - 1] === made[o]) continue;
    hashes[kept] = made[o];
    owners[kept++] = owner[o];
  }
  const ring = hashes.subarray(0, kept);
  const serverAt = (i: number) => names[owners[i]];
  return {
    hashes: ring,
    serverAt,
    serverFor: (key) => serverAt(firstAtOrAbove(ring, crc32(key)) % kept),
    shares: () => shares(ring, owners, names),
  };
}

/** The servers' addresses, once each with a positive integer weight. */
function validServers(servers: readonly RingServer[]): string[] {
  if (servers.length === 0)
    throw new UserError('a hash ring needs at least one server, got none');
  if (servers.length > 255)
    throw new UserError(
      `a hash ring of at most 255 servers is modelled, got ${servers.length}`,
    );
  const names: string[] = [];
  for (const { address, weight = 1 } of servers) {
    if (!Number.isInteger(weight) || weight < 1)
      throw new UserError(
        `server ${JSON.stringify(address)} weight must be a positive integer, got ${JSON.stringify(weight)}`,
      );
    if (names.includes(address))
      throw new UserError(`server ${JSON.stringify(address)} is listed twice`);
    names.push(address);
  }
  return names;
}

/** `ngx_http_upstream_find_chash_point`: the index of the first point >= hash, or the length when none is. */
function firstAtOrAbove(hashes: Uint32Array, hash: number): number {
  let i = 0;
  let j = hashes.length;
  while (i < j) {
    const k = (i + j) >>> 1;
    if (hash > hashes[k]) i = k + 1;
    else j = k;
  }
  return i;
}

/** A point takes every hash above the point before it up to its own; the first also takes the wrap-around. */
function shares(
  hashes: Uint32Array,
  owners: Uint8Array,
  names: readonly string[],
): Map<string, number> {
  const share = new Float64Array(names.length);
  let below = hashes[hashes.length - 1] - RING_SIZE;
  hashes.forEach((hash, i) => {
    share[owners[i]] += hash - below;
    below = hash;
  });
  return new Map(names.map((name, s) => [name, share[s] / RING_SIZE]));
}
