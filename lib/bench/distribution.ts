/**
 * The balance and remap figures: which backend each of many clients lands on, per strategy, and how
 * many land elsewhere after the backends change.
 */
import {
  allocateBlock,
  releaseBlock,
  type AddressBlock,
} from '../local/addresses';
import type { Client } from '../local/clients';
import { inPool } from '../verify/pool';
import { answerOf } from '../verify/visitor';
import { STICKY_STRATEGIES, type StickyStrategy } from '../settings';
import { blocksNeeded, makeMixClients } from './client-mixes';
import {
  CLIENT_MIXES,
  type BalanceRow,
  type ClientMix,
  type RemapRow,
} from './results';
import { countPerBackend, countRemap } from './statistics';
import type { TopologyPool } from './topology-pool';

export interface DistributionSettings {
  readonly clients: number;
  readonly concurrency: number;
  readonly balance: boolean;
  readonly remap: boolean;
}

/** One answer per client, in client order: the backend's name, or undefined when the request failed. */
async function askAll(
  url: string,
  clients: readonly Client[],
  concurrency: number,
): Promise<(string | undefined)[]> {
  const answers: (string | undefined)[] = new Array(clients.length);
  await inPool(clients, concurrency, async (client) => {
    try {
      const seen = await client.visit(url, { timeoutMs: 10_000 });
      answers[client.id] = answerOf(seen)?.backend;
    } catch {
      answers[client.id] = undefined;
    }
  });
  return answers;
}

/** Compares the clients that got an answer both times. */
function remapRow(
  strategy: StickyStrategy,
  before: (string | undefined)[],
  after: (string | undefined)[],
  backendsBefore: string[],
  backendsAfter: string[],
): RemapRow {
  const answeredBoth = before
    .map((b, i) => (b !== undefined && after[i] !== undefined ? i : -1))
    .filter((i) => i >= 0);
  const count = countRemap(
    answeredBoth.map((i) => before[i] as string),
    answeredBoth.map((i) => after[i] as string),
    backendsBefore,
    backendsAfter,
  );
  return {
    strategy,
    from: backendsBefore.length,
    to: backendsAfter.length,
    ...count,
    failed: before.length - answeredBoth.length,
  };
}

function balanceRow(
  strategy: StickyStrategy,
  mix: ClientMix,
  answers: (string | undefined)[],
  backends: string[],
): BalanceRow {
  const answered = answers.filter((a): a is string => a !== undefined);
  return {
    strategy,
    mix,
    clients: answers.length,
    backends,
    counts: countPerBackend(answered, backends),
    failed: answers.length - answered.length,
  };
}

export async function measureDistribution(
  pool: TopologyPool,
  settings: DistributionSettings,
  progress: (message: string) => void,
  signal: AbortSignal,
): Promise<{ balance: BalanceRow[]; remap: RemapRow[] }> {
  const blocks: AddressBlock[] = Array.from(
    {
      length: Math.max(
        ...CLIENT_MIXES.map((m) => blocksNeeded(m, settings.clients)),
      ),
    },
    allocateBlock,
  );
  const balance: BalanceRow[] = [];
  const remap: RemapRow[] = [];
  try {
    for (const strategy of STICKY_STRATEGIES) {
      signal.throwIfAborted();
      const pooled = await pool.get({ lb: 'nlb', sticky: strategy });
      const url = pooled.topology.url;
      // Fresh clients per strategy: the cookie strategy's clients must start without a cookie.
      const distinct = makeMixClients('distinct-24', settings.clients, blocks);
      const ipv6 = makeMixClients('distinct-64', settings.clients, blocks);
      const url6 = pooled.topology.ipv6Url;
      progress(
        `${strategy}: ${settings.clients} clients from distinct /24s and ${settings.clients} IPv6 clients from distinct /64s`,
      );
      const onTwo = await askAll(url, distinct, settings.concurrency);
      const onTwo6 = await askAll(url6, ipv6, settings.concurrency);
      if (settings.balance) {
        balance.push(
          balanceRow(strategy, 'distinct-24', onTwo, pooled.liveBackendNames()),
        );
        progress(
          `${strategy}: ${settings.clients} clients behind a carrier NAT`,
        );
        const behindNat = makeMixClients(
          'carrier-nat',
          settings.clients,
          blocks,
        );
        balance.push(
          balanceRow(
            strategy,
            'carrier-nat',
            await askAll(url, behindNat, settings.concurrency),
            pooled.liveBackendNames(),
          ),
        );
        balance.push(
          balanceRow(
            strategy,
            'distinct-64',
            onTwo6,
            pooled.liveBackendNames(),
          ),
        );
      }
      if (settings.remap) {
        progress(`${strategy}: scaling out 2 → 3`);
        const two = pooled.liveBackendNames();
        await pooled.topology.scaleBackends(3);
        const onThree = await askAll(url, distinct, settings.concurrency);
        const onThree6 = await askAll(url6, ipv6, settings.concurrency);
        const three = pooled.liveBackendNames();
        remap.push(remapRow(strategy, onTwo, onThree, two, three));
        remap.push({
          ...remapRow(strategy, onTwo6, onThree6, two, three),
          ipv6: true,
        });
        // Cookie clients stay where they were pinned, so none of them is on the new backend: scaling in
        // is measured with clients that arrived while there were three.
        const arrivedOnThree = makeMixClients(
          'distinct-24',
          settings.clients,
          blocks,
        );
        const arrivedOnThree6 = makeMixClients(
          'distinct-64',
          settings.clients,
          blocks,
        );
        const beforeScaleIn = await askAll(
          url,
          arrivedOnThree,
          settings.concurrency,
        );
        const beforeScaleIn6 = await askAll(
          url6,
          arrivedOnThree6,
          settings.concurrency,
        );
        progress(`${strategy}: scaling in 3 → 2`);
        await pooled.removeBackend(2);
        const afterScaleIn = await askAll(
          url,
          arrivedOnThree,
          settings.concurrency,
        );
        const afterScaleIn6 = await askAll(
          url6,
          arrivedOnThree6,
          settings.concurrency,
        );
        const after = pooled.liveBackendNames();
        remap.push(
          remapRow(strategy, beforeScaleIn, afterScaleIn, three, after),
        );
        remap.push({
          ...remapRow(strategy, beforeScaleIn6, afterScaleIn6, three, after),
          ipv6: true,
        });
      }
    }
  } finally {
    blocks.forEach(releaseBlock);
  }
  return { balance, remap };
}
