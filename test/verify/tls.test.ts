/**
 * HTTPS endpoints: the Lambda reaches the load balancer by its DNS name, which is not on the certificate,
 * so it turns the name check off; the certificate chain must still be trusted. A real TLS server, and the
 * probe in a child process that trusts the test CA via NODE_EXTRA_CA_CERTS (Node reads it only at startup).
 *
 * tls-fixtures/ holds a throwaway CA certificate (its key was deleted) and a server certificate it signed
 * for edge.example.test only, valid 100 years, made once with:
 *   openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 36500 -subj "/CN=sticky-edge test CA"
 *   openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=edge.example.test"
 *   openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -out server.pem -days 36500 -extfile <(echo subjectAltName=DNS:edge.example.test)
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

const REPO = path.join(__dirname, '../..');
const FIXTURES = path.join(__dirname, 'tls-fixtures');
const host = `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;

let server: https.Server;
let url: string;

beforeAll(async () => {
  const answer = {
    backend: 'app-a',
    peer: '127.0.0.1',
    clientIp: '127.0.0.1',
    headers: {},
    session: { id: 'x', hits: 1 },
  };
  const tls = {
    key: readFileSync(path.join(FIXTURES, 'server.key')),
    cert: readFileSync(path.join(FIXTURES, 'server.pem')),
  };
  server = https.createServer(tls, (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  url = `https://${host}:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

/** Probes `url` from a fresh Node process; prints the probe's error or "ok". */
function probeFromChild(
  tlsNameCheck: boolean,
  trustCa: boolean,
): Promise<string> {
  const script = `require('./lib/verify/probe').probe(new URL(process.argv[1]), { timeoutMs: 5000, tlsNameCheck: process.argv[2] === 'true' }).then((r) => console.log(r.ok ? 'ok' : r.error))`;
  const env = {
    ...process.env,
    ...(trustCa ? { NODE_EXTRA_CA_CERTS: path.join(FIXTURES, 'ca.pem') } : {}),
  };
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-r', 'tsx/cjs', '-e', script, url, String(tlsNameCheck)],
      { cwd: REPO, env, timeout: 60_000 },
      (err, stdout) => (err ? reject(err) : resolve(stdout.trim())),
    );
  });
}

test('with the name check (the CLI default) a certificate for another name is refused', async () => {
  await expect(probeFromChild(true, true)).resolves.toMatch(
    /ERR_TLS_CERT_ALTNAME_INVALID/,
  );
}, 60_000);

test('without the name check (the Lambda) a trusted chain is accepted', async () => {
  await expect(probeFromChild(false, true)).resolves.toBe('ok');
}, 60_000);

test('without the name check an untrusted chain is still refused', async () => {
  await expect(probeFromChild(false, false)).resolves.toMatch(
    /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/,
  );
}, 60_000);
