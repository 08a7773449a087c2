/**
 * A throwaway TLS certificate for the local topology's load-balancer stand-in, made at start with Debian's
 * openssl (Node's crypto reads certificates but cannot issue one). Self-signed, valid one day, an ECDSA P-256
 * key that never leaves the topology's directory. A browser is told to trust it by its public key's hash
 * (Chromium's `--ignore-certificate-errors-spki-list`), so nothing is added to a trust store.
 */
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from '../os/find-executable';

export interface LocalCertificate {
  /** PEM certificate. */
  readonly certFile: string;
  /** PEM private key (unencrypted, mode 0600 as openssl writes it). */
  readonly keyFile: string;
  /** Certificate and key in one PEM file, as HAProxy's `crt` reads it. */
  readonly bundleFile: string;
  /** base64 SHA-256 of the DER SubjectPublicKeyInfo: what `--ignore-certificate-errors-spki-list` takes. */
  readonly spkiSha256: string;
}

/** A DNS name openssl's subjectAltName and Chromium's host-resolver rules both take as written. */
const HOSTNAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Makes `<name>.pem`, `<name>.key` and `<name>.bundle.pem` in `dir` for these IP addresses and host names. */
export async function makeCertificate(
  dir: string,
  name: string,
  subjects: readonly string[],
): Promise<LocalCertificate> {
  if (subjects.length === 0)
    throw new Error('a certificate needs at least one address or host name');
  const altNames = subjects.map((subject) => {
    if (isIP(subject)) return `IP:${subject}`;
    if (HOSTNAME.test(subject)) return `DNS:${subject}`;
    throw new Error(
      `certificate subject must be an IP address or a lowercase host name, got ${JSON.stringify(subject)}`,
    );
  });
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}.key`);
  const bundleFile = path.join(dir, `${name}.bundle.pem`);
  const openssl = findExecutable(
    'openssl',
    'run `npm run setup` or `sudo apt-get install openssl`',
  );
  await promisify(execFile)(openssl, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '1',
    '-subj',
    '/CN=sticky-edge local',
    '-addext',
    `subjectAltName=${altNames.join(',')}`,
  ]);
  const [cert, key] = await Promise.all([
    readFile(certFile, 'utf8'),
    readFile(keyFile, 'utf8'),
  ]);
  await writeFile(bundleFile, cert + key, { mode: 0o600 });
  return { certFile, keyFile, bundleFile, spkiSha256: spkiSha256(cert) };
}

/** base64 SHA-256 of a PEM certificate's SubjectPublicKeyInfo (DER), as Chromium pins keys. */
export function spkiSha256(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({
    type: 'spki',
    format: 'der',
  });
  return createHash('sha256').update(spki).digest('base64');
}
