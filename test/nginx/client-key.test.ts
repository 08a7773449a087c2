import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessLogMaps } from '../../lib/nginx/access-log';
import { findNginx } from '../../lib/nginx/nginx-binary';
import { renderEdgeConfig, renderMainConfig } from '../../lib/nginx/render';
import type { EdgeRenderOptions } from '../../lib/nginx/render-options';
import { seededRandom as random } from '../seeded-random';
import { mapInPool } from '../../lib/verify/pool';

/**
 * The address-based strategies' key, computed by real nginx from the maps the renderer writes: thousands of
 * seeded IPv6 (and IPv4) client addresses reach nginx in X-Forwarded-For, in every spelling nginx accepts, and
 * in PROXY v2 headers, and nginx answers with the key it would hash. Each key must be the client's /64 (IPv6)
 * or /24 and whole address (IPv4), checked with Node's own address parsing (net.BlockList), and every address
 * of one /64 must get the same key while different /64s get different ones.
 */

const OPTIONS: Omit<EdgeRenderOptions, 'sticky'> = {
  lb: 'alb',
  listen: '127.0.0.1:8080',
  trust: ['127.0.0.0/16'],
  backends: [{ address: '127.0.0.2:3000' }, { address: '127.0.0.3:3000' }],
};

/** The `map $remote_addr <variable> { … }` block of a rendered config, as rendered. */
function mapBlock(rendered: string, variable: string): string {
  const start = rendered.indexOf(`map $remote_addr ${variable} {`);
  if (start < 0) throw new Error(`no map for ${variable} in:\n${rendered}`);
  return rendered.slice(start, rendered.indexOf('\n}\n', start) + 2);
}

const NETWORK_MAP = mapBlock(
  renderEdgeConfig({ ...OPTIONS, sticky: 'ip_hash' }),
  '$sticky_edge_client_key',
);
const HASH_MAP = mapBlock(
  renderEdgeConfig({ ...OPTIONS, sticky: 'hash' }),
  '$sticky_edge_hash_key',
);

/** nginx answering with both keys and the address it believed, from X-Forwarded-For and from PROXY v2. */
function keyServerConfig(xffPort: number, proxyPort: number): string {
  const answer = [
    'default_type text/plain;',
    'return 200 "$sticky_edge_client_key|$sticky_edge_hash_key|$remote_addr";',
  ];
  const server = (listen: string, header: string) => [
    'server {',
    `    listen ${listen};`,
    '    set_real_ip_from 127.0.0.0/8;',
    `    real_ip_header ${header};`,
    ...answer.map((l) => `    ${l}`),
    '}',
  ];
  return [
    ...accessLogMaps([], false),
    NETWORK_MAP,
    HASH_MAP,
    ...server(`127.0.0.1:${xffPort}`, 'X-Forwarded-For'),
    ...server(`127.0.0.1:${proxyPort} proxy_protocol`, 'proxy_protocol'),
  ].join('\n');
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

type Groups = number[];

/** A group that is zero often (so `::` lands everywhere) and otherwise 1 to 4 hex digits long. */
function group(next: () => number): number {
  if (next() < 0.45) return 0;
  const digits = 1 + Math.floor(next() * 4);
  return Math.max(1, Math.floor(next() * 16 ** digits));
}

/** `n` /64s of every shape, each with `perNetwork` interface ids (temporary addresses rotating inside it). */
function generate(seed: number, n: number, perNetwork: number): Groups[] {
  const next = random(seed);
  const addresses: Groups[] = [];
  for (let i = 0; i < n; i++) {
    const network =
      i % 50 === 0 ? [0, 0, 0, 0] : [0, 1, 2, 3].map(() => group(next));
    for (let j = 0; j < perNetwork; j++) {
      const host =
        i % 50 === 0 && j === 0
          ? [0, 0xffff, Math.floor(next() * 65536), Math.floor(next() * 65536)] // IPv4-mapped
          : i % 50 === 0 && j === 1
            ? [0, 0, Math.floor(next() * 65536), 1 + Math.floor(next() * 65535)] // IPv4-compatible
            : [0, 1, 2, 3].map(() => group(next));
      addresses.push([...network, ...host]);
    }
  }
  return addresses;
}

const hex = (g: number) => g.toString(16);
const isMapped = (a: Groups) =>
  a.slice(0, 5).every((g) => g === 0) && a[5] === 0xffff;
const mappedIpv4 = (a: Groups) =>
  [a[6] >> 8, a[6] & 255, a[7] >> 8, a[7] & 255].join('.');

/** Spellings nginx's parser accepts for one address; nginx prints its own form whatever it was sent. */
function spellings(a: Groups, next: () => number): string[] {
  const full = a.map(hex);
  const padded = a.map((g) => g.toString(16).padStart(4, '0'));
  // `::` over any zero run, the longest or not, of one group or more; except one last group alone
  // (`1:2:3:4:5:6:7::`), which nginx's parser (ngx_inet6_addr) refuses, so realip ignores the header.
  const runs: [number, number][] = [];
  for (let i = 0; i < 8; i++)
    for (let j = i; j < 8 && a[j] === 0; j++)
      if (!(i === 7 && j === 7)) runs.push([i, j + 1]);
  const compressed = runs.map(
    ([from, to]) =>
      `${full.slice(0, from).join(':')}::${full.slice(to).join(':')}`,
  );
  const pick = compressed[Math.floor(next() * compressed.length)];
  return [
    full.join(':'),
    padded.join(':').toUpperCase(),
    new URL(`http://[${full.join(':')}]/`).hostname.slice(1, -1), // Node's (WHATWG) canonical form
    ...(pick ? [pick] : []),
    ...(isMapped(a) ? [`::ffff:${mappedIpv4(a)}`] : []),
  ];
}

/** The key a client must get: IPv4-mapped addresses as IPv4, else the /64's four groups. */
function expectedKeys(a: Groups): { network: string; hash: string } {
  if (isMapped(a)) {
    const ipv4 = mappedIpv4(a);
    return { network: ipv4.split('.').slice(0, 3).join('.'), hash: ipv4 };
  }
  const network = a.slice(0, 4).map(hex).join(':');
  return { network, hash: network };
}

interface Answer {
  readonly network: string;
  readonly hash: string;
  readonly remote: string;
}
const parse = (body: string): Answer => {
  const [network, hash, remote] = body.split('|');
  return { network, hash, remote };
};

// Thousands of requests on a shared 2-core machine.
jest.setTimeout(30_000);

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function viaForwardedFor(port: number, address: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get(
        {
          host: '127.0.0.1',
          port,
          agent,
          headers: { 'x-forwarded-for': address },
        },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(parse(body))
              : reject(new Error(`${address}: HTTP ${res.statusCode}`)),
          );
        },
      )
      .on('error', reject);
  });
}

const PROXY_V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A PROXY v2 header (PROXY command, TCP over IPv6) from `a` to ::1, then a GET on the same connection. */
function viaProxyV2(port: number, a: Groups): Promise<Answer> {
  const body = Buffer.alloc(36);
  a.forEach((g, i) => body.writeUInt16BE(g, i * 2));
  body.writeUInt16BE(1, 30); // destination ::1
  body.writeUInt16BE(40000, 32);
  body.writeUInt16BE(80, 34);
  const header = Buffer.concat([
    PROXY_V2_SIGNATURE,
    Buffer.from([0x21, 0x21, 0, 36]),
    body,
  ]);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    net
      .connect({ host: '127.0.0.1', port }, function (this: net.Socket) {
        this.end(
          Buffer.concat([
            header,
            Buffer.from('GET / HTTP/1.0\r\nHost: k\r\n\r\n'),
          ]),
        );
      })
      .on('data', (c: Buffer) => chunks.push(c))
      .on('error', reject)
      .on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (!text.startsWith('HTTP/1.1 200'))
          reject(new Error(`${a.map(hex).join(':')}: ${text.slice(0, 40)}`));
        else resolve(parse(text.slice(text.indexOf('\r\n\r\n') + 4)));
      });
  });
}

/** Node's parser says `address` lies in the /64 the key names (the key is the /64's first four groups). */
function inNetwork(key: string, address: string): boolean {
  const list = new net.BlockList();
  list.addSubnet(`${key}::`, 64, 'ipv6');
  return list.check(address, 'ipv6');
}

let xffPort: number;
let proxyPort: number;
let stop: () => Promise<void>;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sticky-edge-key-'));
  await chmod(dir, 0o755);
  [xffPort, proxyPort] = [await freePort(), await freePort()];
  await writeFile(
    join(dir, 'nginx.conf'),
    renderMainConfig({
      http: keyServerConfig(xffPort, proxyPort),
      pidFile: 'nginx.pid',
      errorLog: 'stderr',
      accessLog: 'off',
      tempDir: '.',
      workerProcesses: 1,
    }),
  );
  const nginx = spawn(
    findNginx(),
    ['-e', 'stderr', '-p', `${dir}/`, '-c', join(dir, 'nginx.conf')].concat([
      '-g',
      'daemon off;',
    ]),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  nginx.stderr!.on('data', (c) => (log += c));
  stop = async () => {
    agent.destroy();
    if (nginx.exitCode === null)
      await new Promise((r) => nginx.once('exit', r).kill('SIGTERM'));
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const up = await viaForwardedFor(xffPort, '10.0.0.1').then(
      () => true,
      () => false,
    );
    if (up) break;
    if (i > 100 || nginx.exitCode !== null)
      throw new Error(`nginx did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(() => stop());

test('every spelling of 2,000 IPv6 addresses in X-Forwarded-For gets its /64 as the key', async () => {
  const next = random(7);
  const addresses = generate(14, 400, 5);
  const cases = addresses.flatMap((a) =>
    spellings(a, next).map((text) => ({ a, text })),
  );
  expect(cases.length).toBeGreaterThan(7_000);
  const answers = await mapInPool(cases, 64, ({ text }) =>
    viaForwardedFor(xffPort, text),
  );
  const wrong = cases.flatMap(({ a, text }, i) => {
    const want = expectedKeys(a);
    const got = answers[i];
    const ok =
      got.network === want.network &&
      got.hash === want.hash &&
      net.isIPv6(got.remote) &&
      (isMapped(a) || inNetwork(got.network, got.remote)) &&
      inNetwork(a.slice(0, 4).map(hex).join(':'), text);
    return ok ? [] : [{ text, want, got }];
  });
  expect(wrong.slice(0, 5)).toEqual([]);
  // nginx printed the `::` in every position it can (ngx_inet6_ntop), and the dotted forms.
  const printed = new Set(answers.map((a) => a.remote));
  for (const shape of [
    /^::[0-9a-f]/,
    /^[0-9a-f]+::[0-9a-f]/,
    /^([0-9a-f]+:){2}:[0-9a-f]/,
    /^([0-9a-f]+:){3}:[0-9a-f]/,
    /^([0-9a-f]+:){4}:/,
    /::$/,
    /^[^:]*(:[0-9a-f]+){7}$/,
    /^::ffff:\d+\.\d+\.\d+\.\d+$/,
    /^::\d+\.\d+\.\d+\.\d+$/,
  ])
    expect([...printed].some((p) => shape.test(p))).toBe(true);
});

test('all addresses of one /64 share one key and different /64s get different keys', async () => {
  const addresses = generate(21, 400, 6).filter((a) => !isMapped(a));
  const answers = await mapInPool(addresses, 64, (a) =>
    viaForwardedFor(xffPort, a.map(hex).join(':')),
  );
  const keysByNetwork = new Map<string, Set<string>>();
  addresses.forEach((a, i) => {
    const network = a.slice(0, 4).join(',');
    const keys = keysByNetwork.get(network) ?? new Set<string>();
    keys.add(answers[i].network).add(answers[i].hash);
    keysByNetwork.set(network, keys);
  });
  expect([...keysByNetwork.values()].every((keys) => keys.size === 1)).toBe(
    true,
  );
  const keys = [...keysByNetwork.values()].map((k) => [...k][0]);
  expect(new Set(keys).size).toBe(keysByNetwork.size);
  expect(keysByNetwork.size).toBeGreaterThan(350);
});

test('1,000 IPv6 clients in PROXY v2 headers get their /64 as the key', async () => {
  const addresses = generate(35, 250, 4);
  const answers = await mapInPool(addresses, 32, (a) =>
    viaProxyV2(proxyPort, a),
  );
  const wrong = addresses.flatMap((a, i) => {
    const want = expectedKeys(a);
    const got = answers[i];
    return got.network === want.network && got.hash === want.hash
      ? []
      : [{ address: a.map(hex).join(':'), want, got }];
  });
  expect(wrong.slice(0, 5)).toEqual([]);
});

test('IPv4 clients: the /24 for ip_hash, the whole address for hash', async () => {
  const next = random(3);
  const addresses = Array.from({ length: 500 }, () =>
    [0, 0, 0, 0].map(() => Math.floor(next() * 256)).join('.'),
  );
  const answers = await mapInPool(addresses, 64, (a) =>
    viaForwardedFor(xffPort, a),
  );
  addresses.forEach((a, i) =>
    expect([answers[i].network, answers[i].hash]).toEqual([
      a.split('.').slice(0, 3).join('.'),
      a,
    ]),
  );
});
