/**
 * Draining a backend on a running topology, measured: clients first open sessions, then the drain is applied
 * the way a deploy applies it (node by node, with traffic in between while half the nodes run the new
 * config) or at once, then the same clients carry on while new clients arrive. The figures `sticky-edge local
 * --drain`, test/local/drain.test.ts and the benchmark's drain figure print and judge.
 */
import type { StickyStrategy } from '../settings';
import { validateEdgeOptions } from '../nginx/validate';
import { answerOf } from '../verify/visitor';
import { Client, makeClients } from './clients';
import type { Topology } from './topology-contract';
import { driveTraffic, Exchange } from './traffic';

export interface DrainOptions {
  /** The backends to drain, by name (`app-b`) or `HOST:PORT`. */
  readonly drain: readonly string[];
  /** Clients that open a session before the drain; as many new clients arrive after it. */
  readonly clients: number;
  /** Requests per client in each phase. @default 3 */
  readonly rounds?: number;
  /**
   * Apply the drain one nginx node at a time with a phase of traffic in between (as the Auto Scaling group's
   * rolling update replaces nodes), or on every node at once.
   * @default true
   */
  readonly roll?: boolean;
  readonly onProgress?: (phase: string, done: number, total: number) => void;
}

/** What one phase of clients showed. */
export interface DrainPhase {
  /** New clients in the phase (none before the drain). */
  readonly newClients: number;
  /** New clients any of whose answers came from a drained backend: the drain's target is 0. */
  readonly newOnDrained: number;
  /** Clients pinned to a drained backend before the drain that another backend answered in this phase. */
  readonly pinnedMoved: number;
  /** Clients pinned to an undrained backend that another backend answered in this phase: always a fault. */
  readonly othersMoved: number;
  readonly requests: number;
  readonly failed: number;
}

export interface DrainResult {
  readonly sticky: StickyStrategy;
  /** The drained backends' names. */
  readonly drained: readonly string[];
  /** Clients with a session before the drain, and how many of them a drained backend served. */
  readonly pinned: number;
  readonly pinnedOnDrained: number;
  /** Each client with a session before the drain (its cookie jar kept), and the backend it was on then. */
  readonly pinnedTo: ReadonlyMap<Client, string>;
  /** Traffic while only the first nginx node drains (undefined without `roll`). */
  readonly midRoll?: DrainPhase;
  /** Traffic once every node drains. */
  readonly after: DrainPhase;
  /**
   * "is down" lines the nodes' health agents logged during the run: a backend an agent took out (probes
   * failing, as on an overloaded machine) moves clients for a reason other than the drain.
   */
  readonly agentDownMarks: number;
  /** Requests before the drain, and how many failed. */
  readonly requestsBefore: number;
  readonly failedBefore: number;
}

/** The drained backends' names, as the renderer reads `drain` (by name or `HOST:PORT`). */
function drainedNames(topology: Topology): string[] {
  const options = topology.renderOptions;
  const drained = validateEdgeOptions(options).drained;
  return options.backends
    .filter((b) => drained.includes(b.address))
    .map((b) => b.id ?? b.address);
}

/** The backend that answered the client's last answered request. */
function lastBackend(
  exchanges: readonly Exchange[],
  client: Client,
): string | undefined {
  return exchanges
    .filter((e) => e.client === client)
    .map((e) => answerOf(e)?.backend)
    .filter((b): b is string => b !== undefined)
    .at(-1);
}

function phase(
  exchanges: readonly Exchange[],
  pinnedTo: ReadonlyMap<Client, string>,
  newClients: readonly Client[],
  drained: readonly string[],
): DrainPhase {
  const servedBy = (client: Client) =>
    new Set(
      exchanges
        .filter((e) => e.client === client)
        .flatMap((e) => answerOf(e)?.backend ?? []),
    );
  const moved = (onDrained: boolean) =>
    [...pinnedTo].filter(
      ([client, backend]) =>
        drained.includes(backend) === onDrained &&
        [...servedBy(client)].some((b) => b !== backend),
    ).length;
  return {
    newClients: newClients.length,
    newOnDrained: newClients.filter((c) =>
      [...servedBy(c)].some((b) => drained.includes(b)),
    ).length,
    pinnedMoved: moved(true),
    othersMoved: moved(false),
    requests: exchanges.length,
    failed: exchanges.filter((e) => !e.ok).length,
  };
}

/** Lines saying a backend is down that each agent's output gained (its recent output is a bounded tail). */
function newDownLines(
  before: readonly string[],
  after: readonly string[],
): number {
  const down = (text: string | undefined) =>
    (text ?? '').split('\n').filter((l) => / is down: /.test(l));
  return after.reduce((n, text, i) => {
    const earlier = down(before[i]);
    const now = down(text);
    // The tail may have dropped earlier lines: count what follows the last line both share.
    const last = earlier.at(-1);
    const from = last === undefined ? 0 : now.lastIndexOf(last) + 1;
    return n + now.length - from;
  }, 0);
}

/**
 * Opens `clients` sessions, drains `drain`, and drives the same clients and as many new ones again (in the
 * middle of a roll too, with `roll`). Client addresses are the local population's (`makeClients`); the new
 * clients have fresh cookie jars and addresses of their own draw. The drain stays applied afterwards.
 */
export async function measureDrain(
  topology: Topology,
  sticky: StickyStrategy,
  options: DrainOptions,
): Promise<DrainResult> {
  // A bad name is refused before any traffic (the renderer's own check and message).
  validateEdgeOptions({ ...topology.renderOptions, drain: options.drain });
  const rounds = options.rounds ?? 3;
  const agentBefore = topology.healthAgentOutput();
  const drive = (name: string, clients: readonly Client[]) =>
    driveTraffic(topology.url, clients, {
      rounds,
      onProgress: (done, total) => options.onProgress?.(name, done, total),
    });
  const pinnedClients = makeClients(topology, options.clients);
  const before = await drive('before the drain', pinnedClients);
  const pinnedTo = new Map<Client, string>();
  for (const client of pinnedClients) {
    const backend = lastBackend(before, client);
    if (backend !== undefined) pinnedTo.set(client, backend);
  }
  const nodes = topology.nginxUrls.length;
  const roll = (options.roll ?? true) && nodes > 1;
  let midRoll: DrainPhase | undefined;
  if (roll) {
    await topology.drainNode(0, options.drain);
    const drainedNow = drainedNames(topology);
    const arriving = makeClients(topology, options.clients);
    const [pinned, fresh] = await Promise.all([
      drive('mid-roll: pinned', pinnedClients),
      drive('mid-roll: new', arriving),
    ]);
    midRoll = phase(
      [...pinned, ...fresh],
      pinnedTo,
      arriving,
      // Node 0 alone knows the drain yet: name it by node 0's options.
      drainedNow,
    );
    for (let i = 1; i < nodes; i++) await topology.drainNode(i, options.drain);
  } else {
    await topology.drain(options.drain);
  }
  const drained = drainedNames(topology);
  const arriving = makeClients(topology, options.clients);
  const [pinned, fresh] = await Promise.all([
    drive('drained: pinned', pinnedClients),
    drive('drained: new', arriving),
  ]);
  return {
    sticky,
    drained,
    pinned: pinnedTo.size,
    pinnedOnDrained: [...pinnedTo.values()].filter((b) => drained.includes(b))
      .length,
    pinnedTo,
    midRoll,
    after: phase([...pinned, ...fresh], pinnedTo, arriving, drained),
    agentDownMarks: newDownLines(agentBefore, topology.healthAgentOutput()),
    requestsBefore: before.length,
    failedBefore: before.filter((e) => !e.ok).length,
  };
}
