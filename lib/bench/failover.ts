/**
 * The failover figure: sessions keep sending GETs while the backend most of them are pinned to is
 * killed, and we count what failed and how long each session took to land for good on a live backend.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { allocateBlock, releaseBlock } from '../local/addresses';
import { Client } from '../local/clients';
import { answerOf } from '../verify/visitor';
import { STICKY_STRATEGIES } from '../settings';
import { clientAddresses } from './client-mixes';
import type { FailoverRow } from './results';
import { percentile, repinnedAtMs, type SessionEvent } from './statistics';
import type { PoolKey, TopologyPool } from './topology-pool';

export interface FailoverSettings {
  readonly sessions: number;
  /** Load before the kill, so every session is pinned. */
  readonly beforeMs: number;
  /** Load after the kill. */
  readonly afterMs: number;
  /** Pause between one session's requests. */
  readonly paceMs: number;
}

const CONFIGS: { config: FailoverRow['config']; key: PoolKey }[] = [
  ...STICKY_STRATEGIES.map((sticky) => ({
    config: sticky,
    key: { lb: 'nlb' as const, sticky },
  })),
  // The seed trusts X-Forwarded-For from anyone, so behind the ALB stand-in it sees the real clients.
  { config: 'seed', key: { lb: 'alb', sticky: 'ip_hash', naive: true } },
];

export interface Timed {
  readonly at: number;
  readonly backend: string | undefined;
}

/** One session's requests until `stopped()`, each stamped with the time its answer (or failure) arrived. */
async function drive(
  client: Client,
  url: string,
  paceMs: number,
  stopped: () => boolean,
  log: Timed[],
): Promise<void> {
  while (!stopped()) {
    let backend: string | undefined;
    try {
      backend = answerOf(await client.visit(url, { timeoutMs: 5000 }))?.backend;
    } catch {
      backend = undefined;
    }
    log.push({ at: Date.now(), backend });
    await sleep(paceMs);
  }
}

/** The backend most sessions are on. */
function busiest(pinned: readonly (string | undefined)[]): string | undefined {
  const tally = new Map<string, number>();
  for (const b of pinned)
    if (b !== undefined) tally.set(b, (tally.get(b) ?? 0) + 1);
  return [...tally].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** Sums up the sessions' logs around the kill. */
export function summariseFailover(
  config: FailoverRow['config'],
  logs: readonly (readonly Timed[])[],
  dead: string,
  killedAt: number,
  endedAt: number,
): FailoverRow {
  const all = logs.flat();
  const onDead = logs.filter(
    (log) => log.filter((e) => e.at < killedAt).pop()?.backend === dead,
  );
  const repinTimes = onDead
    .map((log) =>
      repinnedAtMs(
        log
          .filter((e) => e.at >= killedAt)
          .map((e): SessionEvent => ({
            atMs: e.at - killedAt,
            backend: e.backend,
          })),
        dead,
      ),
    )
    .filter((t): t is number => t !== undefined);
  return {
    config,
    sessions: logs.length,
    sessionsOnDeadBackend: onDead.length,
    requests: all.length,
    failed: all.filter((e) => e.backend === undefined).length,
    repinned: repinTimes.length,
    repinP50Ms: percentile(repinTimes, 50),
    repinMaxMs: repinTimes.length ? Math.max(...repinTimes) : NaN,
    observedMs: endedAt - killedAt,
  };
}

async function measureOne(
  pool: TopologyPool,
  config: FailoverRow['config'],
  key: PoolKey,
  settings: FailoverSettings,
  signal: AbortSignal,
): Promise<FailoverRow> {
  const { topology } = await pool.get(key);
  const block = allocateBlock();
  let stop = false;
  const logs: Timed[][] = Array.from({ length: settings.sessions }, () => []);
  // One /24 per session, so even ip_hash spreads the sessions over the backends.
  const addresses = clientAddresses('distinct-24', settings.sessions, [block]);
  const runs = logs.map((log, i) =>
    drive(
      new Client(i, addresses[i], 'own-network'),
      topology.url,
      settings.paceMs,
      () => stop || signal.aborted,
      log,
    ),
  );
  try {
    await sleep(settings.beforeMs, undefined, { signal });
    const dead = busiest(logs.map((log) => log[log.length - 1]?.backend));
    if (dead === undefined)
      throw new Error(
        `failover ${config}: no session got an answer before the kill`,
      );
    const killedAt = Date.now();
    await topology.killBackend(topology.backendNames.indexOf(dead));
    await sleep(settings.afterMs, undefined, { signal });
    stop = true;
    await Promise.all(runs);
    return summariseFailover(config, logs, dead, killedAt, Date.now());
  } finally {
    stop = true;
    await Promise.all(runs);
    releaseBlock(block);
  }
}

export async function measureFailover(
  pool: TopologyPool,
  settings: FailoverSettings,
  progress: (message: string) => void,
  signal: AbortSignal,
): Promise<FailoverRow[]> {
  const rows: FailoverRow[] = [];
  for (const { config, key } of CONFIGS) {
    progress(
      `failover ${config}: ${settings.sessions} sessions, killing the busiest backend after ${settings.beforeMs} ms`,
    );
    rows.push(await measureOne(pool, config, key, settings, signal));
  }
  return rows;
}
