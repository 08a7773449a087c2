/**
 * The scale figure: clients keep sending GETs through the load-balancer stand-in while the nginx tier grows
 * from 2 to 4 nodes and shrinks back (as the Auto Scaling group would), and we count failed requests,
 * clients whose backend changed, and requests the joining nodes served (read from their access logs).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { allocateBlock, releaseBlock } from '../local/addresses';
import { Client } from '../local/clients';
import { nodesServing } from '../local/traffic';
import { ROUTE_COOKIE } from '../nginx/render';
import { answerOf } from '../verify/visitor';
import { STICKY_STRATEGIES, type StickyStrategy } from '../settings';
import { blocksNeeded, clientAddresses } from './client-mixes';
import type { ScaleRow } from './results';
import type { TopologyPool } from './topology-pool';

export interface ScaleSettings {
  readonly clients: number;
  /** Load on 2 nodes before the join, on 4 nodes between join and leave, and on 2 nodes after the leave. */
  readonly phaseMs: number;
  /** How long leaving nodes keep their connections (the target group's deregistration delay). */
  readonly drainMs: number;
  /** Pause between one client's requests. */
  readonly paceMs: number;
}

export const FROM_NODES = 2;
export const TO_NODES = 4;

/** One request of one client: when it was sent and answered, the backend that answered (none: it failed). */
export interface ScaleObservation {
  readonly client: number;
  /** `run.client.seq`: the request's query string, so `nodesServing` finds it in the access logs. */
  readonly tag: string;
  readonly sentAt: number;
  readonly doneAt: number;
  readonly backend: string | undefined;
}

export interface Window {
  readonly start: number;
  readonly end: number;
}

export interface ScaleTimes {
  readonly join: Window;
  readonly leave: Window;
}

const overlaps = (o: ScaleObservation, w: Window) =>
  o.sentAt <= w.end && o.doneAt >= w.start;

/**
 * Sums up one strategy's run. `nodeOfTag` maps a request's tag to the index of the nginx node whose access log
 * holds it; nodes `FROM_NODES` and up are the ones that joined.
 */
export function summariseScale(
  strategy: StickyStrategy,
  observations: readonly ScaleObservation[],
  nodeOfTag: ReadonlyMap<string, number>,
  times: ScaleTimes,
  settings: Pick<ScaleSettings, 'phaseMs' | 'drainMs'>,
): ScaleRow {
  const backendsOf = new Map<number, Set<string>>();
  for (const o of observations) {
    const seen = backendsOf.get(o.client) ?? new Set<string>();
    if (o.backend !== undefined) seen.add(o.backend);
    backendsOf.set(o.client, seen);
  }
  const answered = observations.filter((o) => o.backend !== undefined);
  return {
    strategy,
    fromNodes: FROM_NODES,
    toNodes: TO_NODES,
    clients: backendsOf.size,
    requests: observations.length,
    failed: observations.length - answered.length,
    duringJoin: observations.filter((o) => overlaps(o, times.join)).length,
    duringLeave: observations.filter((o) => overlaps(o, times.leave)).length,
    moved: [...backendsOf.values()].filter((b) => b.size > 1).length,
    servedByJoined: answered.filter(
      (o) => (nodeOfTag.get(o.tag) ?? -1) >= FROM_NODES,
    ).length,
    unlogged: answered.filter((o) => !nodeOfTag.has(o.tag)).length,
    phaseMs: settings.phaseMs,
    drainMs: settings.drainMs,
    joinMs: times.join.end - times.join.start,
    leaveMs: times.leave.end - times.leave.start,
  };
}

/** One client's requests until `stopped()`; a new connection each (the visitor's), so the LB picks a node each time. */
async function drive(
  client: Client,
  url: string,
  run: string,
  paceMs: number,
  stopped: () => boolean,
  log: ScaleObservation[],
): Promise<void> {
  for (let seq = 0; !stopped(); seq++) {
    const tag = `${run}.${client.id}.${seq}`;
    const sentAt = Date.now();
    let backend: string | undefined;
    try {
      backend = answerOf(
        await client.visit(`${url}/?t=${tag}`, {
          timeoutMs: 5000,
          routeCookieName: ROUTE_COOKIE,
        }),
      )?.backend;
    } catch {
      backend = undefined;
    }
    log.push({ client: client.id, tag, sentAt, doneAt: Date.now(), backend });
    await sleep(paceMs);
  }
}

async function timed(action: () => Promise<void>): Promise<Window> {
  const start = Date.now();
  await action();
  return { start, end: Date.now() };
}

async function measureOne(
  pool: TopologyPool,
  strategy: StickyStrategy,
  settings: ScaleSettings,
  signal: AbortSignal,
): Promise<ScaleRow> {
  const { topology } = await pool.get({ lb: 'nlb', sticky: strategy });
  if (topology.nginxUrls.length !== FROM_NODES)
    throw new Error(
      `scale ${strategy}: the topology has ${topology.nginxUrls.length} nginx nodes, expected ${FROM_NODES}`,
    );
  const blocks = Array.from(
    { length: blocksNeeded('distinct-24', settings.clients) },
    allocateBlock,
  );
  const run = randomBytes(4).toString('hex');
  const log: ScaleObservation[] = [];
  let stop = false;
  // One /24 per client, so ip_hash spreads them over the backends too; fresh cookie jars.
  const runs = clientAddresses('distinct-24', settings.clients, blocks).map(
    (address, i) =>
      drive(
        new Client(i, address, 'own-network'),
        topology.url,
        run,
        settings.paceMs,
        () => stop || signal.aborted,
        log,
      ),
  );
  try {
    await sleep(settings.phaseMs, undefined, { signal });
    const join = await timed(() => topology.scaleNginx(TO_NODES));
    await sleep(settings.phaseMs, undefined, { signal });
    // The leaving nodes' logs, before the topology forgets them (the files stay until it stops).
    const accessLogs = [...topology.accessLogs];
    const leave = await timed(() =>
      topology.scaleNginx(FROM_NODES, settings.drainMs),
    );
    await sleep(settings.phaseMs, undefined, { signal });
    stop = true;
    await Promise.all(runs);
    const nodeOfTag = await nodesServing({ accessLogs }, log);
    return summariseScale(strategy, log, nodeOfTag, { join, leave }, settings);
  } finally {
    stop = true;
    await Promise.all(runs);
    blocks.forEach(releaseBlock);
  }
}

export async function measureScale(
  pool: TopologyPool,
  settings: ScaleSettings,
  progress: (message: string) => void,
  signal: AbortSignal,
): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const strategy of STICKY_STRATEGIES) {
    signal.throwIfAborted();
    progress(
      `scale ${strategy}: ${settings.clients} clients while the nginx tier goes ${FROM_NODES} → ${TO_NODES} → ${FROM_NODES} nodes`,
    );
    rows.push(await measureOne(pool, strategy, settings, signal));
  }
  return rows;
}
