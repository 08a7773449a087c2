/**
 * The topologies a benchmark run uses, started on first use and all stopped at the end (or on Ctrl-C).
 * Figures that need the same configuration share one topology, so a run starts as few processes as it can.
 */
import {
  IP_HASH_BALANCING,
  renderEdgeConfig,
  renderNaiveConfig,
} from '../nginx/render';
import type { BackendSpec, EdgeRenderOptions } from '../nginx/render-options';
import { startTopology } from '../local/topology';
import type { Topology } from '../local/topology-contract';
import type { LbKind, StickyStrategy } from '../settings';

export interface PoolKey {
  readonly lb: LbKind;
  readonly sticky: StickyStrategy;
  /** The seed's configuration instead of the project's. */
  readonly naive?: boolean;
  /** The project's config with plain round-robin (see `withoutStickiness`); needs `sticky: 'ip_hash'`. */
  readonly roundRobin?: boolean;
  /**
   * Route to these backends (another topology's) instead of the topology's own: the overhead figure's
   * paths then end on the very same backend processes, warmed by the same load, and differ only in the
   * proxy. The topology starts one backend of its own, which gets no traffic.
   */
  readonly backends?: readonly BackendSpec[];
  /**
   * Peers nginx also believes the client address from (X-Forwarded-For behind alb, PROXY headers behind nlb),
   * beside the load-balancer stand-in: the overhead figure's load generator, which talks to a node directly
   * and names its client as an ALB does.
   */
  readonly trust?: readonly string[];
}

/**
 * The `ip_hash` config with its balancing line (`IP_HASH_BALANCING`) removed: the same tuning, listeners and
 * maps, with nginx's default round-robin. The sticky logic's cost is measured against it (the client-key map
 * stays, unread: nginx evaluates a map only when its variable is used). Throws when there is no such line,
 * so a changed renderer cannot turn this into a second sticky config unnoticed.
 */
export function withoutStickiness(rendered: string): string {
  const lines = rendered.split('\n');
  const sticky = lines.filter((l) => l.trim() === IP_HASH_BALANCING);
  if (sticky.length !== 1)
    throw new Error(
      `expected one "${IP_HASH_BALANCING}" line in the rendered config, found ${sticky.length}`,
    );
  return lines.filter((l) => l.trim() !== IP_HASH_BALANCING).join('\n');
}

/**
 * A topology plus a way to take backends out of nginx's config. The topology only grows (a scale-out
 * starts a backend and reloads nginx); a scale-in is what the CDK app would render after an app instance
 * left: the same config without that backend, applied through the topology's `nodeConfig` hook.
 */
export interface PooledTopology {
  readonly topology: Topology;
  /** Backends nginx routes to, in order. */
  liveBackendNames(): string[];
  /** Re-renders every nginx node without backend `index` and reloads them. */
  removeBackend(index: number): Promise<void>;
}

export class TopologyPool {
  private readonly started = new Map<string, Promise<PooledTopology>>();
  private closed = false;

  /** `signal`: when it aborts, every topology of the pool stops (see TopologyOptions.signal). */
  constructor(
    private readonly onStart: (key: PoolKey) => void,
    private readonly signal?: AbortSignal,
  ) {}

  get(key: PoolKey): Promise<PooledTopology> {
    if (this.closed)
      return Promise.reject(
        new Error('the benchmark is stopping: no new topology'),
      );
    const id = `${key.lb}/${key.sticky}/${key.naive ? 'seed' : key.roundRobin ? 'round-robin' : 'project'}/${key.backends?.map((b) => b.address).join(',') ?? 'own'}/${key.trust?.join(',') ?? ''}`;
    let pooled = this.started.get(id);
    if (!pooled) {
      this.onStart(key);
      pooled = startPooled(key, this.signal);
      this.started.set(id, pooled);
    }
    return pooled;
  }

  /** Stops every topology and refuses to start more (Ctrl-C: the run's code may still be unwinding). */
  async close(): Promise<void> {
    this.closed = true;
    await this.stopAll();
  }

  /** Stops every topology that started (or is still starting). */
  async stopAll(): Promise<void> {
    const all = [...this.started.values()];
    this.started.clear();
    await Promise.all(
      all.map((p) =>
        p.then(
          (t) => t.topology.stop(),
          () => undefined,
        ),
      ),
    );
  }
}

/** What a pooled topology's nginx nodes run: the rendered config, re-rendered when its backends differ. */
export function nodeConfigFor(
  key: PoolKey,
  removed: ReadonlySet<string>,
  rendered: string,
  options: EdgeRenderOptions,
): string {
  if (key.naive)
    return key.backends
      ? renderNaiveConfig({ listen: options.listen, backends: key.backends })
      : rendered;
  // A key that changes neither the backends nor the trust keeps the topology's own render.
  const unchanged = !key.backends && !key.trust && removed.size === 0;
  return poolKeyConfig(
    key,
    {
      ...options,
      backends: options.backends.filter((b) => !removed.has(b.address)),
    },
    unchanged ? rendered : undefined,
  );
}

/**
 * The project's http config for `key` (not the seed's) over a node's `options`: the key's backends when it
 * names some, else the options'; its trust beside the options'; without stickiness when it asks for
 * round-robin. `rendered`, when given, is that config already rendered.
 */
export function poolKeyConfig(
  key: PoolKey,
  options: EdgeRenderOptions,
  rendered?: string,
): string {
  const http =
    rendered ??
    renderEdgeConfig({
      ...options,
      backends: key.backends ?? options.backends,
      trust: [...options.trust, ...(key.trust ?? [])],
    });
  return key.roundRobin ? withoutStickiness(http) : http;
}

async function startPooled(
  key: PoolKey,
  signal: AbortSignal | undefined,
): Promise<PooledTopology> {
  if (key.roundRobin && (key.sticky !== 'ip_hash' || key.naive))
    throw new Error(
      'a round-robin topology is the ip_hash config without ip_hash',
    );
  const removed = new Set<string>();
  const topology = await startTopology({
    lb: key.lb,
    sticky: key.sticky,
    naive: key.naive,
    backends: key.backends ? 1 : undefined,
    // Sized and logging as shipped: one worker per core, buffered access log (the bench reads no log).
    nginxWorkers: 'auto',
    bufferAccessLog: true,
    signal,
    nodeConfig: (_index, rendered, options) =>
      nodeConfigFor(key, removed, rendered, options),
  });
  const addressOf = (index: number) =>
    topology.renderOptions.backends[index]?.address;
  return {
    topology,
    liveBackendNames: () =>
      topology.backendNames.filter(
        (_, i) =>
          !removed.has(topology.renderOptions.backends[i]?.address ?? ''),
      ),
    async removeBackend(index) {
      const address = addressOf(index);
      if (key.naive || key.roundRobin || key.backends || address === undefined)
        throw new Error(
          `cannot remove backend ${index} from ${key.naive ? 'the seed' : 'this topology'}`,
        );
      removed.add(address);
      // Reloads every node with the re-rendered config; the count stays, so no backend starts.
      await topology.scaleBackends(topology.backendNames.length);
    },
  };
}
