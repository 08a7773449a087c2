import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { RunningBackend, startBackend } from '../../lib/backend/server';
import {
  AddressBlock,
  allocateBlock,
  freePorts,
  releaseBlock,
} from '../../lib/local/addresses';
import { NginxNode, startNginxNode } from '../../lib/local/nginx-node';
import {
  hostAndPort,
  ketamaRing,
  POINTS_PER_WEIGHT,
  RingServer,
  serverPoints,
} from '../../lib/nginx/ketama';
import { HASH_RING_WEIGHT, renderEdgeConfig } from '../../lib/nginx/render';
import { between, seededRandom } from '../seeded-random';
import { mapInPool } from '../../lib/verify/pool';

/**
 * lib/nginx/ketama.ts against real nginx: the `hash` strategy rendered for 2 and for 8 backends (on their own
 * 127.R.0.x addresses and random ports, as in the local topology), behind an ALB-style X-Forwarded-For from
 * the trusted load-balancer address, with the default `hashIpv6Prefix` 64. So the key nginx hashes is
 * `$sticky_edge_hash_key`: an IPv4 client's whole address, an IPv6 client's /64 written out
 * (lib/nginx/client-key.ts). For every one of 400 seeded clients (300 IPv4, 100 IPv6) the model, fed the
 * rendered `server` lines, must name the backend that answered.
 */

jest.setTimeout(60_000);

/** The `server ADDRESS weight=W` lines of the rendered balanced upstream, in order: the model's input. */
function ringServersOf(rendered: string): RingServer[] {
  const start = rendered.indexOf('upstream sticky_edge {');
  const body = rendered.slice(start, rendered.indexOf('\n}', start));
  return [...body.matchAll(/^\s*server (\S+?)(?: weight=(\d+))? /gm)].map(
    ([, address, weight]) => ({
      address,
      ...(weight ? { weight: Number(weight) } : {}),
    }),
  );
}

interface Client {
  /** What the load balancer puts in X-Forwarded-For. */
  readonly address: string;
  /** What nginx hashes for it (`$sticky_edge_hash_key`). */
  readonly key: string;
}

function clients(seed: number): Client[] {
  const next = seededRandom(seed);
  const ipv4 = Array.from({ length: 300 }, () => {
    const address = [
      between(next, 1, 223),
      between(next, 0, 255),
      between(next, 0, 255),
      between(next, 1, 254),
    ].join('.');
    return { address, key: address };
  });
  // Global unicast (first group 2000-3fff), so nginx prints no IPv4-compatible form; the key is the /64's
  // four groups in hex without leading zeros, as the map writes it.
  const ipv6 = Array.from({ length: 100 }, () => {
    const groups = [between(next, 0x2000, 0x3fff)].concat(
      Array.from({ length: 7 }, () => between(next, 0, 0xffff)),
    );
    const hex = groups.map((g) => g.toString(16));
    return {
      address: new URL(`http://[${hex.join(':')}]/`).hostname.slice(1, -1),
      key: hex.slice(0, 4).join(':'),
    };
  });
  return [...ipv4, ...ipv6];
}

interface Edge {
  readonly rendered: string;
  readonly node: NginxNode;
  /** Backend name → `HOST:PORT`. */
  readonly addressOf: Map<string, string>;
  readonly backends: RunningBackend[];
  readonly dir: string;
}

let block: AddressBlock;
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const edges = new Map<number, Edge>();

async function startEdge(count: number, network: number): Promise<Edge> {
  const backends: RunningBackend[] = [];
  const addressOf = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const name = `app-${String.fromCharCode(97 + i)}`;
    const host = block.address(network, 20 + i);
    const backend = await startBackend({
      name,
      host,
      port: 0,
      trustedProxies: ['127.0.0.1'],
    });
    backends.push(backend);
    addressOf.set(name, `${host}:${backend.port}`);
  }
  const host = block.address(network, 10);
  const [port] = await freePorts(host, 1);
  const rendered = renderEdgeConfig({
    lb: 'alb',
    sticky: 'hash',
    listen: `${host}:${port}`,
    trust: [`${block.prefix}.${network}.0/24`],
    backends: [...addressOf.values()].map((address) => ({ address })),
  });
  const dir = await mkdtemp(join(tmpdir(), 'sticky-edge-ketama-'));
  const node = await startNginxNode(dir, host, port, rendered, {
    workerProcesses: 1,
    bufferAccessLog: true,
  });
  return { rendered, node, addressOf, backends, dir };
}

interface Answer {
  readonly backend: string;
  readonly clientIp: string;
}

/** One request from the load balancer's address, carrying `client` in X-Forwarded-For. */
function viaLoadBalancer(
  edge: Edge,
  network: number,
  client: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get(
        {
          host: edge.node.host,
          port: edge.node.port,
          localAddress: block.address(network, 1),
          agent,
          headers: { 'x-forwarded-for': client },
        },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(JSON.parse(body) as Answer)
              : reject(new Error(`${client}: HTTP ${res.statusCode} ${body}`)),
          );
        },
      )
      .on('error', reject);
  });
}

const NETWORK = { 2: 2, 8: 8 } as const;

beforeAll(async () => {
  block = allocateBlock();
  for (const count of [2, 8] as const)
    edges.set(count, await startEdge(count, NETWORK[count]));
});

afterAll(async () => {
  agent.destroy();
  for (const edge of edges.values()) {
    await edge.node.stop();
    await Promise.all(edge.backends.map((b) => b.close()));
    await rm(edge.dir, { recursive: true, force: true });
  }
  releaseBlock(block);
});

describe.each([2, 8] as const)('%i backends on real nginx', (count) => {
  test('the model names the backend nginx chose for each of 400 clients', async () => {
    const edge = edges.get(count)!;
    const servers = ringServersOf(edge.rendered);
    expect(servers).toEqual(
      [...edge.addressOf.values()].map((address) => ({
        address,
        weight: HASH_RING_WEIGHT,
      })),
    );
    const ring = ketamaRing(servers);
    const sample = clients(1000 + count);
    const answers = await mapInPool(sample, 16, (c) =>
      viaLoadBalancer(edge, NETWORK[count], c.address),
    );
    const chosen = answers.map((a) => edge.addressOf.get(a.backend));
    const wrong = sample.flatMap((client, i) => {
      const predicted = ring.serverFor(client.key);
      return predicted === chosen[i] && answers[i].clientIp === client.address
        ? []
        : [{ client, predicted, nginx: chosen[i], saw: answers[i].clientIp }];
    });
    expect(wrong.slice(0, 5)).toEqual([]);
    // Not one backend taking everything: every backend answered some clients.
    expect(new Set(chosen).size).toBe(count);
    // And the weight matters: the ring with nginx's default weight sends some of these clients elsewhere.
    const defaultWeight = ketamaRing(
      servers.map(({ address }) => ({ address })),
    );
    const moved = sample.filter(
      (c, i) => defaultWeight.serverFor(c.key) !== chosen[i],
    );
    expect(moved.length).toBeGreaterThan(sample.length / 20);
  });
});

describe('the model of the ring', () => {
  test.each([
    ['127.1.0.20:41234', '127.1.0.20', '41234'],
    ['[2001:db8::1]:3000', '[2001:db8::1]', '3000'],
    ['app.example:80', 'app.example', '80'],
    ['app.example', 'app.example', ''],
    ['[2001:db8::1]', '[2001:db8::1]', ''],
    ['unix:/run/app.sock', '/run/app.sock', ''],
    ['UNIX:/run/app:80', '/run/app:80', ''],
  ])('%s hashes as HOST %s and PORT "%s"', (server, host, port) => {
    expect(hostAndPort(server)).toEqual({ host, port });
  });

  test("a server's points at weight 1 are its first 160 at any weight", () => {
    const heavy = serverPoints('10.0.3.7:3000', HASH_RING_WEIGHT);
    expect(heavy).toHaveLength(HASH_RING_WEIGHT * POINTS_PER_WEIGHT);
    expect(serverPoints('10.0.3.7:3000')).toEqual(
      heavy.slice(0, POINTS_PER_WEIGHT),
    );
    expect(new Set(heavy).size).toBe(heavy.length);
  });

  test('the shares cover the ring once, and each server owns the keys of its share', () => {
    const servers = ['10.0.1.5:3000', '10.0.2.9:3000', '10.0.3.1:3000'];
    const ring = ketamaRing(servers.map((address) => ({ address })));
    expect(ring.hashes).toHaveLength(3 * POINTS_PER_WEIGHT);
    expect([...ring.hashes]).toEqual([...ring.hashes].sort((a, b) => a - b));
    const shares = ring.shares();
    expect([...shares.keys()]).toEqual(servers);
    expect([...shares.values()].reduce((a, b) => a + b)).toBeCloseTo(1, 12);
    // A key hashing above the last point wraps to the first point's server.
    const last = ring.hashes[ring.hashes.length - 1];
    let wrapping = 0;
    while (crc32(`wrap-${wrapping}`) <= last) wrapping++;
    expect(ring.serverFor(`wrap-${wrapping}`)).toBe(ring.serverAt(0));
    const next = seededRandom(5);
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const server = ring.serverFor(`client-${next()}`);
      counts.set(server, (counts.get(server) ?? 0) + 1);
    }
    for (const server of servers)
      expect(counts.get(server)! / 20_000).toBeCloseTo(shares.get(server)!, 1);
  });

  test('fails when there is no server', () => {
    expect(() => ketamaRing([])).toThrow(
      'a hash ring needs at least one server, got none',
    );
  });

  test.each([0, 1.5, -20])('fails when a weight is %p', (weight) => {
    expect(() => ketamaRing([{ address: '10.0.0.1:3000', weight }])).toThrow(
      `server "10.0.0.1:3000" weight must be a positive integer, got ${weight}`,
    );
  });

  test('fails when a server is listed twice', () => {
    expect(() =>
      ketamaRing([{ address: '10.0.0.1:3000' }, { address: '10.0.0.1:3000' }]),
    ).toThrow('server "10.0.0.1:3000" is listed twice');
  });
});
