/**
 * A black-holed backend: its packets are dropped (nftables `drop` in a network namespace of this test's own), so
 * new connections time out and connections already open never hear back. Backend 0 of each topology is a
 * demo backend inside the namespace, reached over a veth pair; the nginx configs name it instead of the
 * loopback backend 0 (same name, same route id). The targets are in `expectRoutedAroundAndBack`. Every address used
 * is inside the namespace or on the veth pair it owns; the namespace (and with it the veth pair and the rule)
 * is deleted afterwards, also when a test fails.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { bundleBackend } from '../../lib/backend/bundle';
import { ManagedProcess, spawnManaged } from '../../lib/local/processes';
import { startTopology } from '../../lib/local/topology';
import type { Topology } from '../../lib/local/topology-contract';
import { STICKY_STRATEGIES, StickyStrategy } from '../../lib/settings';
import { expectRoutedAroundAndBack } from './faults';
import { stopAll } from './topologies';

jest.setTimeout(120_000);

const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** Why namespaces cannot be used here, or undefined when they can. */
function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: ip netns needs CAP_SYS_ADMIN';
  for (const tool of ['ip', 'nft'])
    try {
      sh('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed (nftables, iproute2)`;
    }
  return undefined;
}
const skipReason = unavailable();
const maybe = skipReason ? describe.skip : describe;
if (skipReason) console.warn(`black-hole tests skipped: ${skipReason}`);

const id = process.pid % 10_000;
const NS = `se-bh-${id}`;
const HOST_IF = `sebh${id}h`;
const NS_IF = `sebh${id}n`;
const subnet = (i: number) => `10.213.${(id + i * 64) % 250}`;
const PORT = 3000;
const TABLE = 'sticky_edge_blackhole';

interface Hole {
  readonly ns: string;
  readonly hostAddress: string;
  readonly address: string;
  readonly backend: ManagedProcess;
}

const holes: Hole[] = [];
const topologies = new Map<StickyStrategy, Promise<Topology>>();
const dir = mkdtempSync(path.join(tmpdir(), 'sticky-edge-blackhole-'));

function cleanUp(ns: string) {
  try {
    sh('ip', ['netns', 'del', ns]);
  } catch {
    // Not there.
  }
}

/** Namespace `ns` with one veth pair: host side `.1`, namespace side `.2`, a /30 of its own. */
async function makeHole(i: number): Promise<Hole> {
  const ns = `${NS}-${i}`;
  const base = subnet(i);
  const [hostIf, nsIf] = [`${HOST_IF}${i}`, `${NS_IF}${i}`];
  cleanUp(ns);
  sh('ip', ['netns', 'add', ns]);
  sh('ip', [
    'link',
    'add',
    hostIf,
    'type',
    'veth',
    'peer',
    'name',
    nsIf,
    'netns',
    ns,
  ]);
  sh('ip', ['addr', 'add', `${base}.1/30`, 'dev', hostIf]);
  sh('ip', ['link', 'set', hostIf, 'up']);
  sh('ip', ['-n', ns, 'addr', 'add', `${base}.2/30`, 'dev', nsIf]);
  sh('ip', ['-n', ns, 'link', 'set', nsIf, 'up']);
  sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const bundle = path.join(dir, 'backend.js');
  writeFileSync(bundle, bundleBackend());
  const backend = spawnManaged(`backend in ${ns}`, 'ip', [
    'netns',
    'exec',
    ns,
    process.execPath,
    bundle,
    '--name',
    'app-a',
    '--listen',
    `${base}.2:${PORT}`,
    // nginx reaches the namespace from the host side of the veth pair: that is its NAT address here.
    '--trust-proxy',
    `${base}.1`,
  ]);
  const hole = {
    ns,
    hostAddress: `${base}.1`,
    address: `${base}.2:${PORT}`,
    backend,
  };
  holes.push(hole);
  await backend.waitForLine(/^listening on /, 15_000);
  return hole;
}

const drop = (hole: Hole) =>
  sh('ip', [
    'netns',
    'exec',
    hole.ns,
    'sh',
    '-c',
    `nft add table inet ${TABLE} && nft add chain inet ${TABLE} input '{ type filter hook input priority 0; }' && nft add rule inet ${TABLE} input tcp dport ${PORT} drop`,
  ]);
const undrop = (hole: Hole) =>
  sh('ip', ['netns', 'exec', hole.ns, 'nft', 'delete', 'table', 'inet', TABLE]);

if (!skipReason) {
  STICKY_STRATEGIES.forEach((sticky, i) => {
    const t = makeHole(i).then((hole) =>
      startTopology({
        lb: 'nlb',
        sticky,
        nodeConfig: (_, rendered, options) =>
          rendered.replaceAll(options.backends[0].address, hole.address),
      }),
    );
    t.catch(() => undefined);
    topologies.set(sticky, t);
  });
}

afterAll(async () => {
  await stopAll(topologies);
  await Promise.all(holes.map((h) => h.backend.stop()));
  for (const h of holes) cleanUp(h.ns);
  rmSync(dir, { recursive: true, force: true });
});

maybe.each(STICKY_STRATEGIES)('sticky=%s, a black-holed backend', (sticky) => {
  test('is routed around within 3 s, sessions move and stay, and its return is handled per strategy', async () => {
    const topology = await topologies.get(sticky)!;
    const hole = holes[STICKY_STRATEGIES.indexOf(sticky)];
    const { moved } = await expectRoutedAroundAndBack(topology, sticky, {
      address: hole.address,
      inject: () => void drop(hole),
      heal: () => void undrop(hole),
      slowMs: 1_500,
    });
    expect(moved).toBeGreaterThan(0);
  });
});
