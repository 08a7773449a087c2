/**
 * The topologies a benchmark run uses, started on first use and all stopped at the end (or on Ctrl-C).
 * Figures that need the same configuration share one topology, so a run starts as few processes as it can.
 */
import { renderEdgeConfig } from '../nginx/render';
import { startTopology } from '../local/topology';
import type { Topology } from '../local/topology-contract';
import type { LbKind, StickyStrategy } from '../settings';

export interface PoolKey {
  readonly lb: LbKind;
  readonly sticky: StickyStrategy;
  /** The seed's configuration instead of the project's. */
  readonly naive?: boolean;
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

  constructor(private readonly onStart: (key: PoolKey) => void) {}

  get(key: PoolKey): Promise<PooledTopology> {
    if (this.closed)
      return Promise.reject(
        new Error('the benchmark is stopping: no new topology'),
      );
    const id = `${key.lb}/${key.sticky}/${key.naive ? 'seed' : 'project'}`;
    let pooled = this.started.get(id);
    if (!pooled) {
      this.onStart(key);
      pooled = startPooled(key);
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

async function startPooled(key: PoolKey): Promise<PooledTopology> {
  const removed = new Set<string>();
  const topology = await startTopology({
    lb: key.lb,
    sticky: key.sticky,
    naive: key.naive,
    // Sized and logging as shipped: one worker per core, buffered access log (the bench reads no log).
    nginxWorkers: 'auto',
    bufferAccessLog: true,
    nodeConfig: (_index, rendered, options) =>
      removed.size === 0 || key.naive
        ? rendered
        : renderEdgeConfig({
            ...options,
            backends: options.backends.filter((b) => !removed.has(b.address)),
          }),
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
      if (key.naive || address === undefined)
        throw new Error(
          `cannot remove backend ${index} from ${key.naive ? 'the seed' : 'this topology'}`,
        );
      removed.add(address);
      // Reloads every node with the re-rendered config; the count stays, so no backend starts.
      await topology.scaleBackends(topology.backendNames.length);
    },
  };
}
