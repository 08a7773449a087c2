/**
 * The drain figure: on each strategy's topology, clients open sessions, one backend is drained the way a
 * deploy applies it (nginx node by node, with traffic while the nodes disagree), then the same clients carry
 * on while as many new clients arrive. Counted: new sessions that reach the drained backend, sessions moved
 * off it, clients of other backends moved, failed requests. The drain is lifted afterwards, so the topology
 * serves the next figure as before.
 */
import { measureDrain } from '../local/drain';
import { STICKY_STRATEGIES } from '../settings';
import type { DrainRow } from './results';
import type { TopologyPool } from './topology-pool';

export interface DrainSettings {
  /** Clients with a session before the drain; as many new clients arrive during the roll and after it. */
  readonly clients: number;
  /** Requests per client in each phase. */
  readonly rounds: number;
}

/** The backend drained: the second of the topology's two. */
export const DRAINED_BACKEND = 'app-b';

export async function measureDrainFigure(
  pool: TopologyPool,
  settings: DrainSettings,
  progress: (message: string) => void,
  signal: AbortSignal,
): Promise<DrainRow[]> {
  const rows: DrainRow[] = [];
  for (const strategy of STICKY_STRATEGIES) {
    signal.throwIfAborted();
    progress(
      `drain ${strategy}: ${settings.clients} clients with sessions, ${DRAINED_BACKEND} drained node by node, ${settings.clients} new clients during the roll and after it`,
    );
    const { topology } = await pool.get({ lb: 'nlb', sticky: strategy });
    try {
      const r = await measureDrain(topology, strategy, {
        drain: [DRAINED_BACKEND],
        clients: settings.clients,
        rounds: settings.rounds,
      });
      const midRoll = r.midRoll!;
      rows.push({
        strategy,
        backends: topology.backendNames.length,
        drained: r.drained,
        nodes: topology.nginxUrls.length,
        clients: r.pinned,
        pinnedOnDrained: r.pinnedOnDrained,
        rollNewClients: midRoll.newClients,
        rollNewOnDrained: midRoll.newOnDrained,
        rollPinnedMoved: midRoll.pinnedMoved,
        newClients: r.after.newClients,
        newOnDrained: r.after.newOnDrained,
        pinnedMoved: r.after.pinnedMoved,
        othersMoved: midRoll.othersMoved + r.after.othersMoved,
        agentDownMarks: r.agentDownMarks,
        requests: r.requestsBefore + midRoll.requests + r.after.requests,
        failed: r.failedBefore + midRoll.failed + r.after.failed,
      });
    } finally {
      await topology.drain([]);
    }
  }
  return rows;
}
