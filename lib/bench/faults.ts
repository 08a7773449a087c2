/**
 * The faults figure (issue 11): a fixed set of sessions keeps sending GETs through the load-balancer stand-in
 * while a backend crashes and comes back, hangs, is black-holed, an nginx node dies, and the tier reloads; for
 * `ip_hash`, `hash` and `cookie` (nginx with the health agent) and for the HAProxy peer (HAProxy with its own
 * health checks). Each fault gets its own sessions (new visitors, empty cookie jars), pinned before the fault.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AGENT_DEFAULTS } from '../agent/agent';
import {
  allocateBlock,
  freePort,
  freePorts,
  releaseBlock,
} from '../local/addresses';
import {
  startBackendProcess,
  writeBackendBundle,
  type BackendProcess,
} from '../local/backend-process';
import { Client } from '../local/clients';
import { FAULT_REQUEST_TIMEOUT_MS, timedRequest } from '../local/fault-traffic';
import {
  startFaultyBackend,
  type FaultyBackend,
  type FaultyBackendPlace,
} from '../local/faulty-backend';
import { startLoadBalancer } from '../local/haproxy';
import { netnsUnavailable } from '../local/netns';
import { NAT_ADDRESS, startTopology } from '../local/topology';
import { parseAccessLog } from '../nginx/access-log';
import { LB_HEALTH_CHECK } from '../nginx/nginx-options';
import type { StickyStrategy } from '../settings';
import { startPeerNode, touched, type PeerNode } from './faults-peer';
import {
  FAULT_CONFIGS,
  type FaultConfig,
  type FaultKind,
  type FaultRow,
  type FaultsResult,
} from './results';
import { percentile } from './statistics';
import { FAULT_TARGETS } from './targets';

export interface FaultSettings {
  /** Looping sessions per fault. */
  readonly sessions: number;
  /** Load before each fault, so every session is pinned. */
  readonly settleMs: number;
  /** How long requests are counted after a fault; more than the 3 s detection target, so the cut shows. */
  readonly windowMs: number;
  /** Pause between one session's requests. */
  readonly paceMs: number;
  /**
   * During each fault a new session (first request, no cookie) starts this often: the ones a strategy sends to
   * the faulty backend show when it stopped sending there, and during a return whether it takes new sessions.
   */
  readonly newcomerEveryMs: number;
}

/** Issue 11: within 3 s of a backend failing, no new request is sent to it. */
const DETECTION_TARGET_MS = FAULT_TARGETS.detectionMs;
/** A request slower than this counts as slow: a user notices it. */
export const SLOW_MS = 1_000;
/** The backend the faults hit (backend 0, `app-a`) and the one that stays (`app-b`). */
export const FAULTY_NAME = 'app-a';
const LIVE_NAME = 'app-b';

/**
 * Node loss is counted until the stand-in's checks must have taken the node out: `unhealthyThreshold` failed
 * checks `intervalSeconds` apart (the target group's), plus a margin.
 */
export const NODE_LOSS_WINDOW_MS =
  LB_HEALTH_CHECK.unhealthyThreshold * LB_HEALTH_CHECK.intervalSeconds * 1000 +
  3_000;

/** One request of one session. */
export interface FaultObservation {
  readonly session: number;
  readonly tag: string;
  readonly sentAt: number;
  readonly doneAt: number;
  /** The backend that answered; absent when the request failed. */
  readonly backend?: string;
  /** A session's first request during a return (not one of the looping sessions). */
  readonly newcomer?: boolean;
}

/** How often the nodes' health-check state is read while a fault runs. */
const CHECK_WATCH_MS = 200;

/** The longest one request can take: the visitors' own timeout. */
const REQUEST_BOUND_MS = FAULT_REQUEST_TIMEOUT_MS;

/** From `at` on, node `node`'s health checks held these backends down (by name; empty: none). */
export interface DownMark {
  readonly at: number;
  readonly node: number;
  readonly down: readonly string[];
}

/**
 * How many times inside the window a node's checks marked down a backend that was not faulty: the live one
 * (any fault), or any backend during a reload or a node loss, when no backend is faulty. A busy node's probes
 * can time out on a healthy backend; this says when they did.
 */
export function wronglyDown(
  marks: readonly DownMark[],
  fault: FaultKind,
  from: number,
  to: number,
): number {
  const faultyMayBeDown = fault !== 'reload' && fault !== 'node-loss';
  return marks.filter(
    (m) =>
      m.at >= from &&
      m.at < to &&
      m.down.some((name) => !(faultyMayBeDown && name === FAULTY_NAME)),
  ).length;
}

const latencyOf = (o: FaultObservation) => o.doneAt - o.sentAt;

/** Each looping session's last answering backend among requests sent before `at`. */
function pinsBefore(
  observations: readonly FaultObservation[],
  at: number,
): Map<number, string> {
  const pins = new Map<number, string>();
  for (const o of [...observations].sort((a, b) => a.sentAt - b.sentAt))
    if (!o.newcomer && o.sentAt < at && o.backend !== undefined)
      pins.set(o.session, o.backend);
  return pins;
}

/** Requests sent inside [from, to): the window's requests. */
const sentIn = (
  observations: readonly FaultObservation[],
  from: number,
  to: number,
) => observations.filter((o) => o.sentAt >= from && o.sentAt < to);

function loadFigures(inWindow: readonly FaultObservation[], faultAt: number) {
  const failed = inWindow.filter((o) => o.backend === undefined);
  return {
    requests: inWindow.length,
    failed: failed.length,
    failedAfterDetection: failed.filter(
      (o) => o.sentAt >= faultAt + DETECTION_TARGET_MS,
    ).length,
    slow: inWindow.filter((o) => latencyOf(o) > SLOW_MS).length,
    p99Ms: percentile(inWindow.map(latencyOf), 99),
  };
}

/**
 * Sums up a crash, hang, black hole, node loss or reload from the phase's observations. `reachedDead` holds the
 * tags of the requests that reached the faulty backend (from the proxies' logs); for node loss a failed request
 * is one the stand-in sent to the dead node.
 */
export function summariseFault(
  config: FaultConfig,
  fault: Exclude<FaultKind, 'return'>,
  observations: readonly FaultObservation[],
  window: {
    readonly faultAt: number;
    readonly end: number;
    /** Where a session ends up is read from its requests sent before this. @default - all after the fault */
    readonly repinUntil?: number;
  },
  reachedDead: ReadonlySet<string>,
  marks: readonly DownMark[] = [],
): FaultRow {
  // Newcomers are users too, and the ones a strategy would send to the faulty backend show when it stopped.
  const inWindow = sentIn(observations, window.faultAt, window.end);
  const pins = pinsBefore(observations, window.faultAt);
  const base = {
    config,
    fault,
    ...loadFigures(inWindow, window.faultAt),
    wronglyDown: wronglyDown(marks, fault, window.faultAt, window.end),
  };
  // A session held by the fault may send its next request only after the window: where it lands counts too.
  const after = sentIn(
    observations,
    window.faultAt,
    window.repinUntil ?? Infinity,
  ).filter((o) => !o.newcomer);
  const answersOf = (session: number) =>
    after
      .filter((o) => o.session === session)
      .sort((a, b) => a.sentAt - b.sentAt);
  if (fault === 'node-loss' || fault === 'reload') {
    const moved = [...pins].filter(([session, pin]) =>
      answersOf(session).some(
        (o) => o.backend !== undefined && o.backend !== pin,
      ),
    );
    const dead = inWindow.filter((o) => o.backend === undefined);
    return {
      ...base,
      lastToDeadMs:
        fault === 'node-loss' ? lastAfter(dead, window.faultAt) : undefined,
      affected: pins.size,
      repinned: moved.length,
    };
  }
  const affected = [...pins].filter(([, pin]) => pin === FAULTY_NAME);
  const repinned = affected.filter(([session]) => {
    const answered = answersOf(session).filter((o) => o.backend !== undefined);
    const last = answered[answered.length - 1];
    return last !== undefined && last.backend !== FAULTY_NAME;
  });
  return {
    ...base,
    lastToDeadMs: lastAfter(
      inWindow.filter((o) => reachedDead.has(o.tag)),
      window.faultAt,
    ),
    affected: affected.length,
    repinned: repinned.length,
  };
}

/** ms from `at` to the latest of these requests' sending; 0 for none. */
function lastAfter(requests: readonly FaultObservation[], at: number): number {
  return requests.reduce((last, o) => Math.max(last, o.sentAt - at), 0);
}

/**
 * Sums up a return: the backend crashed at `crashAt` and listens again from `returnAt`. The sessions that had
 * moved away (pinned to it before the crash, to a live one just before the return) flap back when it answers
 * them again; newcomers show whether it takes new sessions.
 */
export function summariseReturn(
  config: FaultConfig,
  observations: readonly FaultObservation[],
  times: {
    readonly crashAt: number;
    readonly returnAt: number;
    readonly end: number;
  },
  marks: readonly DownMark[] = [],
): FaultRow {
  const inWindow = sentIn(observations, times.returnAt, times.end);
  const before = pinsBefore(observations, times.crashAt);
  const beforeReturn = pinsBefore(observations, times.returnAt);
  const moved = [...before]
    .filter(([session, pin]) => {
      const now = beforeReturn.get(session);
      return pin === FAULTY_NAME && now !== undefined && now !== FAULTY_NAME;
    })
    .map(([session]) => session);
  const flapped = moved.filter((session) =>
    inWindow.some(
      (o) => !o.newcomer && o.session === session && o.backend === FAULTY_NAME,
    ),
  );
  const newcomers = inWindow.filter((o) => o.newcomer);
  const firstAnswer = inWindow
    .filter((o) => o.backend === FAULTY_NAME)
    .reduce((first, o) => Math.min(first, o.doneAt - times.returnAt), Infinity);
  return {
    config,
    fault: 'return',
    ...loadFigures(inWindow, times.returnAt),
    wronglyDown: wronglyDown(marks, 'return', times.returnAt, times.end),
    // A return has no detection to wait for: every failure counts.
    failedAfterDetection: inWindow.filter((o) => o.backend === undefined)
      .length,
    affected: moved.length,
    flappedBack: flapped.length,
    newSessions: newcomers.length,
    newOnReturned: newcomers.filter((o) => o.backend === FAULTY_NAME).length,
    firstAnswerMs: Number.isFinite(firstAnswer) ? firstAnswer : undefined,
  };
}

/** What the figure needs of an edge under test: nginx's topology or the HAProxy peer's. */
export interface Edge {
  readonly config: FaultConfig;
  readonly url: string;
  readonly faulty: FaultyBackend;
  clientAddress(network: number, host: number): string;
  /** The tags of the logged requests that reached the faulty backend. */
  reachedFaulty(): Promise<Set<string>>;
  /** Per node, the backends (by name) its health checks hold down now. */
  downNow(): Promise<string[][]>;
  /** Re-renders and reloads every node gracefully. */
  reload(): Promise<void>;
  /** Kills node 1 of the two behind the stand-in. */
  killNode(): Promise<void>;
  /** Resolves once every node routes to the faulty backend again after it healed. */
  recovered(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

/** How long a healed backend may take to be routed to again before the run gives up (a busy machine). */
const RECOVERY_LIMIT_MS = 30_000;

/**
 * A probe sent just before the heal can still fail and complete a `fall` count, marking the backend down after
 * it healed: wait until any such probe has ended (the checks' interval plus their timeout) before asking.
 */
const outlastPendingProbe = (signal: AbortSignal) =>
  sleep(AGENT_DEFAULTS.intervalMs + AGENT_DEFAULTS.timeoutMs, undefined, {
    signal,
  });

const tagOf = (uri: string) => /^\/\?t=([\w.-]+)$/.exec(uri)?.[1];

export async function startNginxEdge(
  sticky: StickyStrategy,
  faulty: FaultyBackend,
  signal: AbortSignal,
): Promise<Edge> {
  const topology = await startTopology({
    lb: 'nlb',
    sticky,
    signal,
    // Backend 0 is the faulty backend the bench controls (same name, same route id).
    nodeConfig: (_, rendered, options) =>
      rendered.replaceAll(options.backends[0].address, faulty.address),
  });
  return {
    config: sticky,
    url: topology.url,
    faulty,
    clientAddress: (n, h) => topology.clientAddress(n, h),
    async reachedFaulty() {
      const tags = new Set<string>();
      for (const file of topology.accessLogs)
        for (const entry of parseAccessLog(
          await readFile(file, 'utf8').catch(() => ''),
        )) {
          const tag = tagOf(entry.uri);
          if (tag && entry.upstream.includes(faulty.address)) tags.add(tag);
        }
      return tags;
    },
    downNow: async () =>
      topology.healthAgentOutput().map((output) => {
        const down =
          [...output.matchAll(/nginx reloaded; down: (.*)$/gm)].pop()?.[1] ??
          'none';
        return down === 'none'
          ? []
          : down
              .split(', ')
              .map((a) => (a === faulty.address ? FAULTY_NAME : LIVE_NAME));
      }),
    // The same config again: nginx -t, SIGHUP, done when the old workers have gone (a deploy's re-render).
    reload: () => topology.scaleBackends(topology.backendNames.length),
    killNode: () => topology.killNginxNode(1),
    async recovered(abort) {
      await outlastPendingProbe(abort);
      const deadline = Date.now() + RECOVERY_LIMIT_MS;
      // Each agent's last word on the backend is "up" (or it never had one), and its last reload left none down.
      const upAgain = (output: string) =>
        output.lastIndexOf(`${faulty.address} is up`) >=
          output.lastIndexOf(`${faulty.address} is down`) &&
        ([...output.matchAll(/nginx reloaded; down: (.*)$/gm)].pop()?.[1] ??
          'none') === 'none';
      while (!topology.healthAgentOutput().every(upAgain)) {
        if (Date.now() > deadline)
          throw new Error(
            `faults ${sticky}: the health agents did not take ${faulty.address} up again in ${RECOVERY_LIMIT_MS / 1000} s`,
          );
        await sleep(100, undefined, { signal: abort });
      }
    },
    stop: () => topology.stop(),
  };
}

export async function startPeerEdge(
  faulty: FaultyBackend,
  live: BackendProcess,
  dir: string,
  signal: AbortSignal,
): Promise<Edge> {
  const block = allocateBlock();
  const started: { stop(): Promise<void> }[] = [];
  try {
    const peers: PeerNode[] = [];
    for (const i of [0, 1]) {
      const host = block.address(0, 11 + i);
      const peer = await startPeerNode(
        {
          listen: `${host}:${await freePort(host)}`,
          backends: [faulty.address, live.address],
          dir: path.join(dir, `peer-${i}`),
        },
        signal,
      );
      started.push(peer);
      peers.push(peer);
    }
    const lbAddress = block.address(0, 1);
    const [lbPort] = await freePorts(lbAddress, 1);
    const lb = await startLoadBalancer(
      dir,
      {
        lb: 'nlb',
        listen: `${lbAddress}:${lbPort}`,
        source: lbAddress,
        nodes: peers.map((p) => `${p.host}:${p.port}`),
      },
      signal,
    );
    started.push(lb);
    return {
      config: 'haproxy-peer',
      url: `http://${lbAddress}:${lbPort}`,
      faulty,
      clientAddress: (n, h) => block.address(n, h),
      reachedFaulty: async () =>
        new Set(
          peers.flatMap((p) =>
            p.log
              .filter((line) => touched(line, 'app0'))
              .map((line) => tagOf(line.uri))
              .filter((t): t is string => t !== undefined),
          ),
        ),
      downNow: () =>
        Promise.all(
          peers.map(async (p) =>
            (await p.downServers().catch(() => [])).map((server) =>
              server === 'app0' ? FAULTY_NAME : LIVE_NAME,
            ),
          ),
        ),
      reload: async () => {
        await Promise.all(peers.map((p) => p.reload()));
      },
      killNode: () => peers[1].kill(),
      async recovered(abort) {
        await outlastPendingProbe(abort);
        const deadline = Date.now() + RECOVERY_LIMIT_MS;
        for (;;) {
          const up = await Promise.all(peers.map((p) => p.serverUp('app0')));
          if (up.every(Boolean)) return;
          if (Date.now() > deadline)
            throw new Error(
              `faults haproxy-peer: the checks did not take ${faulty.address} up again in ${RECOVERY_LIMIT_MS / 1000} s`,
            );
          await sleep(100, undefined, { signal: abort });
        }
      },
      async stop() {
        await Promise.all(started.map((s) => s.stop()));
        releaseBlock(block);
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    releaseBlock(block);
    throw err;
  }
}

/** Sessions looping until stopped, and newcomers on demand; every request is recorded. */
class Load {
  readonly observations: FaultObservation[] = [];
  private stopped = false;
  private readonly runs: Promise<void>[] = [];
  private readonly run = randomBytes(4).toString('hex');
  private newcomers = 0;

  constructor(
    private readonly edge: Edge,
    private readonly paceMs: number,
    private readonly newcomerEveryMs: number,
    private readonly signal: AbortSignal,
  ) {}

  private async request(client: Client, seq: number, newcomer: boolean) {
    const tag = `${this.run}.${newcomer ? 'n' : 's'}${client.id}.${seq}`;
    const t = await timedRequest(this.edge.url, client, tag);
    this.observations.push({
      session: client.id,
      tag,
      sentAt: t.sentAt,
      doneAt: t.sentAt + t.tookMs,
      backend: t.backend,
      newcomer: newcomer || undefined,
    });
  }

  private sessions = 0;
  /** What each node's checks held down, whenever it changed while the load ran. */
  readonly marks: DownMark[] = [];

  private watchChecks(): void {
    const last: string[] = [];
    this.runs.push(
      (async () => {
        while (!this.stopped && !this.signal.aborted) {
          const now = await this.edge.downNow();
          now.forEach((down, node) => {
            const key = [...down].sort().join(',');
            if (last[node] === key) return;
            last[node] = key;
            this.marks.push({ at: Date.now(), node, down });
          });
          await sleep(CHECK_WATCH_MS);
        }
      })(),
    );
  }

  /** `count` sessions, each from a /24 of its own (networks 1-count) and with an empty cookie jar. */
  start(count: number): void {
    this.sessions = count;
    this.watchChecks();
    for (let i = 0; i < count; i++) {
      const client = new Client(
        i,
        this.edge.clientAddress(1 + i, 1 + Math.floor(Math.random() * 254)),
        'own-network',
      );
      this.runs.push(
        (async () => {
          for (let seq = 0; !this.stopped && !this.signal.aborted; seq++) {
            await this.request(client, seq, false);
            await sleep(this.paceMs);
          }
        })(),
      );
    }
  }

  /** Until `end`, a new session starts every `newcomerEveryMs` (its first request only). */
  async newcomersUntil(end: number): Promise<void> {
    while (Date.now() < end) {
      this.newcomer();
      await sleep(
        Math.min(this.newcomerEveryMs, Math.max(0, end - Date.now())),
        undefined,
        { signal: this.signal },
      );
    }
  }

  /** A new session's first request, from a /24 no looping session uses (networks 128-250). */
  private newcomer(): void {
    const n = this.newcomers++;
    const client = new Client(
      n,
      this.edge.clientAddress(128 + (n % 123), 1 + Math.floor(n / 123)),
      'own-network',
    );
    this.runs.push(this.request(client, 0, true));
  }

  /**
   * Resolves once every looping session has had an answer (or a failure) to a request sent at `at` or later,
   * so a session held by a fault shows where it lands; gives up after `ms`.
   */
  async everySessionAfter(at: number, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    const done = () => {
      const seen = new Set(
        this.observations
          .filter((o) => !o.newcomer && o.sentAt >= at)
          .map((o) => o.session),
      );
      return seen.size >= this.sessions;
    };
    while (!done() && Date.now() < deadline && !this.signal.aborted)
      await sleep(50);
  }

  /** Stops sending and waits for every request in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.runs);
  }
}

/**
 * Resolves once new sessions reach the faulty backend again: the checks taking it up is not all, as nginx's
 * passive checks also skip a server for `fail_timeout` after its last failed request (the shared upstream zone
 * keeps that across reloads). Sends batches of first requests from fresh addresses until a few land on it.
 */
async function takesNewSessions(edge: Edge, signal: AbortSignal) {
  const deadline = Date.now() + RECOVERY_LIMIT_MS;
  for (let batch = 0; ; batch++) {
    const answers = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const client = new Client(
          i,
          edge.clientAddress(
            200 + Math.floor(Math.random() * 50),
            1 + Math.floor(Math.random() * 254),
          ),
          'own-network',
        );
        return (await timedRequest(edge.url, client)).backend;
      }),
    );
    if (answers.filter((b) => b === FAULTY_NAME).length >= 2) return;
    if (Date.now() > deadline)
      throw new Error(
        `faults ${edge.config}: new sessions did not reach ${FAULTY_NAME} again in ${RECOVERY_LIMIT_MS / 1000} s (${batch + 1} batches)`,
      );
    await sleep(250, undefined, { signal });
  }
}

/** Starts the load, lets every session pin, and returns it. */
async function pinnedLoad(
  edge: Edge,
  settings: FaultSettings,
  signal: AbortSignal,
): Promise<Load> {
  // The previous fault's backend must be routed to again, or no session would pin to it.
  await edge.recovered(signal);
  await takesNewSessions(edge, signal);
  const load = new Load(
    edge,
    settings.paceMs,
    settings.newcomerEveryMs,
    signal,
  );
  load.start(settings.sessions);
  await sleep(settings.settleMs, undefined, { signal });
  return load;
}

async function crashAndReturn(
  edge: Edge,
  settings: FaultSettings,
  signal: AbortSignal,
): Promise<FaultRow[]> {
  const load = await pinnedLoad(edge, settings, signal);
  try {
    const crashAt = Date.now();
    await edge.faulty.crash();
    await load.newcomersUntil(crashAt + settings.windowMs);
    await edge.faulty.restart();
    const returnAt = Date.now();
    const end = returnAt + settings.windowMs;
    await load.newcomersUntil(end);
    await load.everySessionAfter(end, REQUEST_BOUND_MS);
    await load.stop();
    const reached = await edge.reachedFaulty();
    return [
      summariseFault(
        edge.config,
        'crash',
        load.observations,
        { faultAt: crashAt, end: returnAt, repinUntil: returnAt },
        reached,
        load.marks,
      ),
      summariseReturn(
        edge.config,
        load.observations,
        { crashAt, returnAt, end },
        load.marks,
      ),
    ];
  } finally {
    await load.stop();
  }
}

/** A fault that lasts while `inject` holds, healed with `heal` once every request sent in the window is back. */
async function backendFault(
  edge: Edge,
  fault: 'hang' | 'black-hole',
  settings: FaultSettings,
  signal: AbortSignal,
): Promise<FaultRow> {
  const [inject, heal] =
    fault === 'hang'
      ? [() => edge.faulty.freeze(), () => edge.faulty.thaw()]
      : [() => edge.faulty.blackHole(), () => edge.faulty.heal()];
  const load = await pinnedLoad(edge, settings, signal);
  let healed = false;
  try {
    const faultAt = Date.now();
    inject();
    await load.newcomersUntil(faultAt + settings.windowMs);
    const end = Date.now();
    // Requests held by the fault come back after the upstream timeout; only then may the backend answer again.
    await load.everySessionAfter(end, REQUEST_BOUND_MS);
    await load.stop();
    heal();
    healed = true;
    return summariseFault(
      edge.config,
      fault,
      load.observations,
      { faultAt, end },
      await edge.reachedFaulty(),
      load.marks,
    );
  } finally {
    await load.stop();
    if (!healed) heal();
  }
}

async function nodeFault(
  edge: Edge,
  fault: 'reload' | 'node-loss',
  settings: FaultSettings,
  signal: AbortSignal,
): Promise<FaultRow> {
  const load = await pinnedLoad(edge, settings, signal);
  try {
    const faultAt = Date.now();
    await (fault === 'reload' ? edge.reload() : edge.killNode());
    const windowMs =
      fault === 'reload' ? settings.windowMs : NODE_LOSS_WINDOW_MS;
    await load.newcomersUntil(faultAt + windowMs);
    const end = Date.now();
    await load.everySessionAfter(end, REQUEST_BOUND_MS);
    await load.stop();
    return summariseFault(
      edge.config,
      fault,
      load.observations,
      { faultAt, end },
      new Set(),
      load.marks,
    );
  } finally {
    await load.stop();
  }
}

/** Where config `i`'s faulty backend runs: a namespace of the run's own when there can be one. */
function placeFor(
  i: number,
  canBlackHole: boolean,
  host: string,
): FaultyBackendPlace {
  const id = process.pid % 10_000;
  return canBlackHole
    ? {
        kind: 'namespace',
        name: `se-bench-${id}-${i}`,
        subnet: `10.214.${(id + i * 61) % 250}`,
        ifPrefix: `seb${id}${i}`,
      }
    : { kind: 'loopback', host, nat: NAT_ADDRESS };
}

export async function measureFaults(
  settings: FaultSettings,
  progress: (message: string) => void,
  signal: AbortSignal,
  configs: readonly FaultConfig[] = FAULT_CONFIGS,
): Promise<FaultsResult> {
  const noNetns = netnsUnavailable();
  if (noNetns)
    progress(
      `faults: no black hole in this run (${noNetns}); the other faults run`,
    );
  const dir = await mkdtemp(path.join(tmpdir(), 'sticky-edge-bench-faults-'));
  const block = allocateBlock();
  const stoppers: (() => Promise<void>)[] = [];
  try {
    const bundle = await writeBackendBundle(dir);
    progress(
      `faults: starting ${configs.join(', ')} (two nodes behind the stand-in, a backend to break each)`,
    );
    const starts = await Promise.allSettled(
      configs.map(async (config, i): Promise<Edge> => {
        const faulty = await startFaultyBackend(
          bundle,
          FAULTY_NAME,
          placeFor(i, !noNetns, block.address(0, 21 + i)),
          signal,
        );
        stoppers.push(() => faulty.stop());
        if (config !== 'haproxy-peer') {
          const edge = await startNginxEdge(config, faulty, signal);
          stoppers.push(() => edge.stop());
          return edge;
        }
        const host = block.address(0, 31);
        const live = await startBackendProcess(
          bundle,
          LIVE_NAME,
          host,
          await freePort(host),
          NAT_ADDRESS,
          signal,
        );
        stoppers.push(() => live.stop());
        const edge = await startPeerEdge(
          faulty,
          live,
          path.join(dir, 'peer'),
          signal,
        );
        stoppers.push(() => edge.stop());
        return edge;
      }),
    );
    // Every start has settled, so the clean-up below stops everything that started.
    const edges = starts.map((s) => {
      if (s.status === 'rejected') throw s.reason;
      return s.value;
    });
    const rows: FaultRow[] = [];
    for (const edge of edges) {
      progress(
        `faults ${edge.config}: crash and return, hang${noNetns ? '' : ', black hole'}, reload under ${settings.sessions} sessions`,
      );
      rows.push(...(await crashAndReturn(edge, settings, signal)));
      rows.push(await backendFault(edge, 'hang', settings, signal));
      if (!noNetns)
        rows.push(await backendFault(edge, 'black-hole', settings, signal));
      rows.push(await nodeFault(edge, 'reload', settings, signal));
    }
    progress(
      `faults: losing one of two nodes, every config at once, ${NODE_LOSS_WINDOW_MS / 1000} s each`,
    );
    rows.push(
      ...(await Promise.all(
        edges.map((edge) => nodeFault(edge, 'node-loss', settings, signal)),
      )),
    );
    return {
      sessions: settings.sessions,
      settleMs: settings.settleMs,
      windowMs: settings.windowMs,
      nodeLossWindowMs: NODE_LOSS_WINDOW_MS,
      blackHoleSkipped: noNetns,
      rows,
    };
  } finally {
    await Promise.all(stoppers.reverse().map((stop) => stop()));
    releaseBlock(block);
    await rm(dir, { recursive: true, force: true });
  }
}
