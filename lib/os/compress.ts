/**
 * Text shipped compressed inside EC2 user data (which EC2 caps at 16 KB before base64): the health agent's
 * bundle and nginx.conf. The node turns it back with `base64 -d | gunzip`; base64's alphabet cannot spell a
 * heredoc delimiter such as STICKY_EDGE_NGINX_CONF (it has no `_`).
 */
import { gzipSync } from 'node:zlib';

/** gzip, then base64 in 76-character lines (as `base64` writes them); deterministic: gzip's header holds no time. */
export function compressedLines(text: string): string[] {
  return (
    gzipSync(text, { level: 9 })
      .toString('base64')
      .match(/.{1,76}/g) ?? []
  );
}
