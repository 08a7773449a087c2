/**
 * The side-by-side demonstration behind `sticky-edge local`: the seed's configuration and the project's, each
 * on its own topology, under the same client population, summarized for one table.
 */
import type { LbKind, StickyStrategy } from '../settings';
import type { Forgery } from '../verify/visitor';
import { Client, makeClients } from './clients';
import { RunSummary, summarize } from './measure';
import { startTopology } from './topology';
import { driveTraffic, nodesServing } from './traffic';

export interface ScenarioOptions {
  readonly lb: LbKind;
  readonly sticky: StickyStrategy;
  /** The seed's configuration (`render --naive`, always ip_hash) instead of the project's. */
  readonly naive: boolean;
  readonly clients: number;
  /** Demo backends (app-a, app-b, …), as `appCount` sets them for the stack. @default 2 */
  readonly appCount?: number;
  /** Requests per client. @default 4 */
  readonly rounds?: number;
  readonly onProgress?: (done: number, total: number) => void;
  /** Stops the scenario's topology when it aborts. */
  readonly signal?: AbortSignal;
}

export interface ScenarioResult {
  /** `seed (render --naive)` or `sticky-edge` */
  readonly label: string;
  readonly lb: LbKind;
  readonly sticky: StickyStrategy;
  readonly naive: boolean;
  readonly backendNames: readonly string[];
  readonly summary: RunSummary;
}

/** Documentation ranges (RFC 5737): headers only, never a destination. */
const FORGED_FOR = (client: Client) => `203.0.113.${1 + (client.id % 250)}`;
const FORGED_REAL_IP = (client: Client) =>
  `198.51.100.${1 + (client.id % 250)}`;

/** One client in ten forges X-Forwarded-For and X-Real-IP on every request, as anyone can. */
export function forgery(client: Client): Forgery | undefined {
  return client.id % 10 === 5
    ? { forwardedFor: FORGED_FOR(client), realIp: FORGED_REAL_IP(client) }
    : undefined;
}

export async function runScenario(
  options: ScenarioOptions,
): Promise<ScenarioResult> {
  const topology = await startTopology({
    lb: options.lb,
    sticky: options.sticky,
    naive: options.naive,
    backends: options.appCount,
    signal: options.signal,
  });
  try {
    const clients = makeClients(topology, options.clients);
    const exchanges = await driveTraffic(topology.url, clients, {
      rounds: options.rounds ?? 4,
      forge: forgery,
      onProgress: options.onProgress,
    });
    const nodes = await nodesServing(topology, exchanges);
    return {
      label: options.naive ? 'seed (render --naive)' : 'sticky-edge',
      lb: options.lb,
      sticky: options.naive ? 'ip_hash' : options.sticky,
      naive: options.naive,
      backendNames: topology.backendNames,
      summary: summarize(
        exchanges,
        topology.backendNames,
        topology.lbAddress,
        nodes,
      ),
    };
  } finally {
    await topology.stop();
  }
}

export interface DemoOptions {
  readonly lb: LbKind;
  readonly strategies: readonly StickyStrategy[];
  readonly clients: number;
  /** Demo backends per topology. @default 2 */
  readonly appCount?: number;
  readonly rounds?: number;
  /** Called when a scenario starts and after every request. */
  readonly onProgress?: (scenario: string, done: number, total: number) => void;
  /** Ctrl-C: stops the running scenario's topology. */
  readonly signal?: AbortSignal;
}

/** The seed first, then each strategy of the project, one after the other (the machine may be small). */
export async function runDemo(options: DemoOptions): Promise<ScenarioResult[]> {
  const scenarios = [
    { sticky: 'ip_hash' as StickyStrategy, naive: true },
    ...options.strategies.map((sticky) => ({ sticky, naive: false })),
  ];
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    const name = scenario.naive
      ? `seed ${options.lb}`
      : `${options.lb} ${scenario.sticky}`;
    results.push(
      await runScenario({
        ...scenario,
        lb: options.lb,
        clients: options.clients,
        appCount: options.appCount,
        rounds: options.rounds,
        signal: options.signal,
        onProgress: (done, total) => options.onProgress?.(name, done, total),
      }),
    );
  }
  return results;
}
