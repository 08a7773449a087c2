/**
 * The key the address-based strategies hash, as an nginx `map` over `$remote_addr` (after realip: the client).
 *
 * nginx's `ip_hash` keys an IPv4 client on its /24 but an IPv6 client on all 128 bits
 * (ngx_http_upstream_ip_hash_module.c), and IPv6 clients rotate their temporary addresses inside their /64
 * (RFC 8981), so `ip_hash` would move an IPv6 session that it keeps for an IPv4 one. The map gives one key per
 * IPv4 /24 (or whole IPv4 address) and one per IPv6 /64, and the strategies hash that key instead.
 *
 * `$remote_addr` is always text nginx printed itself: realip parses the PROXY header's or X-Forwarded-For's
 * address and prints it again with `ngx_sock_ntop` (ngx_http_realip_module.c, `ngx_http_realip_set_addr`), so
 * only the forms `ngx_inet6_ntop` (src/core/ngx_inet.c) writes reach the map: lowercase hex without leading
 * zeros; `::` for the first longest run of two or more zero groups, never for one (its `max` starts at 1);
 * `::ffff:a.b.c.d` for IPv4-mapped addresses and `::a.b.c.d` for some IPv4-compatible ones (a zero run from
 * the start of 6 groups, or of 7 when the last group's first byte is not 0 and its second not 1). The /64 is
 * the first four groups; within them `::` can stand at any of five places, and each place has its own regex
 * below. The key is those four groups written out (`2001:db8:0:0`). An IPv4-mapped address is an IPv4 client
 * and gets its IPv4 key.
 */

/** How the IPv4 part of the key is built. */
export type Ipv4Key = 'network24' | 'address';

/** The `ip_hash` strategy's key variable (IPv4 /24, IPv6 /64). */
export const CLIENT_NETWORK_KEY = '$sticky_edge_client_key';
/** The `hash` strategy's key variable with `hashIpv6Prefix` 64 (whole IPv4 address, IPv6 /64). */
export const CLIENT_HASH_KEY = '$sticky_edge_hash_key';

/** One group of an address as nginx prints it. */
const G = '[0-9a-f]{1,4}';
/** Four more groups to the end of the address. */
const FOUR_MORE = `(?::${G}){4}$`;

/**
 * Regex → key for every form `ngx_inet6_ntop` prints, most specific first (nginx tries a map's regexes in
 * order). `::` stands for two or more zero groups, so after `a:b::` the 3rd and 4th groups are 0, after `a::`
 * the 4th is 0 unless five groups follow, and after a leading `::` the 3rd and 4th come from the tail when it
 * has six or five groups.
 */
export const IPV6_NETWORK64_RULES: readonly (readonly [string, string])[] = [
  [`~^(${G}:${G}:${G}:${G}):`, '$1'],
  [`~^(${G}:${G}:${G})::`, '$1:0'],
  [`~^(${G}:${G})::`, '$1:0:0'],
  [`~^(${G})::(${G})${FOUR_MORE}`, '$1:0:0:$2'],
  [`~^(${G})::`, '$1:0:0:0'],
  [`~^::(${G}:${G})${FOUR_MORE}`, '0:0:$1'],
  [`~^::(${G})${FOUR_MORE}`, '0:0:0:$1'],
  ['~^::', '0:0:0:0'],
];

/** Regex → key for IPv4 clients, plain and IPv4-mapped (`::ffff:a.b.c.d`), IPv4 first: the common case. */
function ipv4Rules(ipv4: Ipv4Key): (readonly [string, string])[] {
  const octets =
    ipv4 === 'network24'
      ? '\\d+\\.\\d+\\.\\d+)\\.\\d+'
      : '\\d+\\.\\d+\\.\\d+\\.\\d+)';
  return [
    [`~^(${octets}$`, '$1'],
    [`~^::ffff:(${octets}$`, '$1'],
  ];
}

/**
 * `map $remote_addr <variable>`: IPv4 /24 (`network24`, as `ip_hash`) or whole IPv4 address, IPv6 /64.
 * Anything else (a UNIX-socket peer) keys on its own text.
 */
export function clientKeyMap(variable: string, ipv4: Ipv4Key): string[] {
  const rules = [...ipv4Rules(ipv4), ...IPV6_NETWORK64_RULES];
  return [
    `map $remote_addr ${variable} {`,
    '    default $remote_addr;',
    ...rules.map(([regex, key]) => `    "${regex}" "${key}";`),
    '}',
  ];
}
