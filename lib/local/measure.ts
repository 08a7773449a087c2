/**
 * What a run of traffic showed: the figures the `sticky-edge local` table prints and the behaviour tests
 * assert on, computed from the same observations (lib/verify's `Observation`) the verifier's checks read.
 */
import { answerOf, claimedBy, Observation } from '../verify/visitor';

export type AddressSeen = 'client' | 'load-balancer' | 'forged' | 'other';

/** An observation as the local topology records it: whose it is, and its tag in the access logs. */
export interface ClientObservation extends Observation {
  readonly client: { readonly id: number };
  readonly tag: string;
}

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
  observations: readonly ClientObservation[],
): Map<number, string[]> {
  const byClient = new Map<number, string[]>();
  for (const o of observations) {
    const answer = answerOf(o);
    if (!answer) continue;
    const seen = byClient.get(o.client.id) ?? [];
    if (!seen.includes(answer.backend)) seen.push(answer.backend);
    byClient.set(o.client.id, seen);
  }
  return byClient;
}

/** Which of the four the backend's `clientIp` is for this observation. */
export function addressSeen(
  o: Observation,
  lbAddress: string,
): AddressSeen | undefined {
  const answer = answerOf(o);
  if (!answer) return undefined;
  const ip = answer.clientIp;
  if (ip === o.source) return 'client';
  if (ip === lbAddress) return 'load-balancer';
  if (claimedBy(o.forged, ip)) return 'forged';
  return 'other';
}

export function summarize(
  observations: readonly ClientObservation[],
  backendNames: readonly string[],
  lbAddress: string,
  nodeOfTag?: ReadonlyMap<string, number>,
): RunSummary {
  const byClient = backendsByClient(observations);
  const clients = new Set(observations.map((o) => o.client.id)).size;
  const firsts = [...byClient.values()].map((backends) => backends[0]);
  const share = new Map(
    backendNames.map((name) => [
      name,
      ratio(firsts.filter((b) => b === name).length, firsts.length),
    ]),
  );
  const answered = observations.filter((o) => answerOf(o));
  const kinds: AddressSeen[] = ['client', 'load-balancer', 'forged', 'other'];
  const seenKinds = answered.map((o) => addressSeen(o, lbAddress));
  const seen = new Map(
    kinds.map((kind) => [
      kind,
      ratio(seenKinds.filter((k) => k === kind).length, answered.length),
    ]),
  );
  const forging = answered.filter((o) => o.forged !== undefined);
  return {
    clients,
    requests: observations.length,
    failed: observations.filter((o) => !o.result.ok).length,
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
            forging.filter((o) => addressSeen(o, lbAddress) === 'forged')
              .length,
            forging.length,
          ),
    onSeveralNodes:
      nodeOfTag === undefined
        ? undefined
        : ratio(clientsOnSeveralNodes(observations, nodeOfTag), clients),
  };
}

function clientsOnSeveralNodes(
  observations: readonly ClientObservation[],
  nodeOfTag: ReadonlyMap<string, number>,
): number {
  const nodes = new Map<number, Set<number>>();
  for (const o of observations) {
    const node = nodeOfTag.get(o.tag);
    if (node === undefined) continue;
    nodes.set(o.client.id, (nodes.get(o.client.id) ?? new Set()).add(node));
  }
  return [...nodes.values()].filter((set) => set.size > 1).length;
}

function ratio(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}
