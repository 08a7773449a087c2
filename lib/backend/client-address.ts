import { isIP } from 'node:net';
import { normaliseAddress, TrustCheck } from './config';

/** The forwarding headers a proxy in front of the backend may set. */
export interface ForwardingHeaders {
  readonly realIp?: string;
  readonly forwardedFor?: string;
}

/**
 * The address the backend believes is the client's. Headers count only when the TCP peer is a trusted proxy:
 * then X-Real-IP (nginx sets it to its realip-derived `$remote_addr`), else the right-most X-Forwarded-For
 * entry that is not itself a trusted proxy, because every proxy appends and only the entries added by proxies
 * we trust are facts (a client can put anything on the left). This is nginx's `real_ip_recursive on`.
 */
export function deriveClientIp(
  peer: string,
  headers: ForwardingHeaders,
  trusted: TrustCheck,
): string {
  if (!trusted(peer)) return peer;
  const realIp =
    headers.realIp === undefined ? undefined : asAddress(headers.realIp);
  if (realIp !== undefined) return realIp;
  let client = peer;
  for (const entry of (headers.forwardedFor ?? '').split(',').reverse()) {
    const address = asAddress(entry);
    // An unparsable hop ends the walk: nothing left of it was vouched for by a trusted proxy.
    if (address === undefined) break;
    client = address;
    if (!trusted(address)) break;
  }
  return client;
}

function asAddress(text: string): string | undefined {
  const address = normaliseAddress(text.trim());
  return isIP(address) === 0 ? undefined : address;
}
