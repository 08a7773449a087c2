/** What a run of traffic showed: the figures the report prints and the behaviour tests assert on. */
import type { Exchange } from './traffic';

export type AddressSeen = 'client' | 'load-balancer' | 'forged' | 'other';

export interface RunSummary {
  readonly clients: number;
  readonly requests: number;
  readonly failed: number;
  /** Share of clients per backend name (each client counted on the backend of its first answer). */
  readonly share: ReadonlyMap<string, number>;
  /** Share of clients whose every answer came from one backend. */
  readonly stayed: number;
  /** Share of answers per address the backend believed was the client's. */
  readonly seen: ReadonlyMap<AddressSeen, number>;
  /** Among requests that carried forged forwarding headers, the share where the backend believed them. */
  readonly forgedBelieved: number | undefined;
  /** Share of clients whose requests were served by more than one nginx node (when nodes are known). */
  readonly onSeveralNodes: number | undefined;
}

/** The backends each client was answered by, in first-seen order. */
export function backendsByClient(
  exchanges: readonly Exchange[],
): Map<number, string[]> {
  const byClient = new Map<number, string[]>();
  for (const e of exchanges) {
    if (!e.facts) continue;
    const seen = byClient.get(e.client.id) ?? [];
    if (!seen.includes(e.facts.backend)) seen.push(e.facts.backend);
    byClient.set(e.client.id, seen);
  }
  return byClient;
}

/** Which of the four the backend's `clientIp` is for this exchange. */
export function addressSeen(
  e: Exchange,
  lbAddress: string,
): AddressSeen | undefined {
  if (!e.facts) return undefined;
  const ip = e.facts.clientIp;
  if (ip === e.source) return 'client';
  if (ip === lbAddress) return 'load-balancer';
  if (
    Object.values(e.sentHeaders).some((value) =>
      value.split(',').some((entry) => entry.trim() === ip),
    )
  )
    return 'forged';
  return 'other';
}

export function summarize(
  exchanges: readonly Exchange[],
  backendNames: readonly string[],
  lbAddress: string,
  nodeOfTag?: ReadonlyMap<string, number>,
): RunSummary {
  const byClient = backendsByClient(exchanges);
  const clients = new Set(exchanges.map((e) => e.client.id)).size;
  const firsts = [...byClient.values()].map((backends) => backends[0]);
  const share = new Map(
    backendNames.map((name) => [
      name,
      ratio(firsts.filter((b) => b === name).length, firsts.length),
    ]),
  );
  const answered = exchanges.filter((e) => e.facts);
  const kinds: AddressSeen[] = ['client', 'load-balancer', 'forged', 'other'];
  const seenKinds = answered.map((e) => addressSeen(e, lbAddress));
  const seen = new Map(
    kinds.map((kind) => [
      kind,
      ratio(seenKinds.filter((k) => k === kind).length, answered.length),
    ]),
  );
  const forging = answered.filter((e) => Object.keys(e.sentHeaders).length > 0);
  return {
    clients,
    requests: exchanges.length,
    failed: exchanges.filter((e) => !e.ok).length,
    share,
    stayed: ratio(
      [...byClient.values()].filter((b) => b.length === 1).length,
      byClient.size,
    ),
    seen,
    forgedBelieved:
      forging.length === 0
        ? undefined
        : ratio(
            forging.filter((e) => addressSeen(e, lbAddress) === 'forged')
              .length,
            forging.length,
          ),
    onSeveralNodes:
      nodeOfTag === undefined
        ? undefined
        : ratio(clientsOnSeveralNodes(exchanges, nodeOfTag), clients),
  };
}

function clientsOnSeveralNodes(
  exchanges: readonly Exchange[],
  nodeOfTag: ReadonlyMap<string, number>,
): number {
  const nodes = new Map<number, Set<number>>();
  for (const e of exchanges) {
    const node = nodeOfTag.get(e.tag);
    if (node === undefined) continue;
    nodes.set(e.client.id, (nodes.get(e.client.id) ?? new Set()).add(node));
  }
  return [...nodes.values()].filter((set) => set.size > 1).length;
}

function ratio(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}
