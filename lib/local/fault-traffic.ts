/**
 * Timed requests for fault runs (the behaviour tests and the bench's faults figure): when each was sent, how
 * long it took, which backend answered, and the tag in its query string that finds it in an access log.
 */
import { ROUTE_COOKIE } from '../nginx/render';
import { inPool } from '../verify/pool';
import type { Client } from './clients';
import type { Topology } from './topology-contract';

export interface Timed {
  readonly client: Client;
  /** `/?t=<tag>` was requested, when a tag was given. */
  readonly tag?: string;
  readonly sentAt: number;
  readonly tookMs: number;
  readonly backend?: string;
  readonly error?: string;
}

/** Longer than upstreamTimeout (10 s) plus a retry, so a request held by a hung backend still comes back. */
export const FAULT_REQUEST_TIMEOUT_MS = 25_000;

export async function timedRequest(
  url: string,
  client: Client,
  tag?: string,
): Promise<Timed> {
  const sentAt = Date.now();
  const seen = await client.visit(
    tag === undefined ? `${url}/` : `${url}/?t=${tag}`,
    { timeoutMs: FAULT_REQUEST_TIMEOUT_MS, routeCookieName: ROUTE_COOKIE },
  );
  const tookMs = Date.now() - sentAt;
  return seen.result.ok
    ? { client, tag, sentAt, tookMs, backend: seen.result.answer.backend }
    : { client, tag, sentAt, tookMs, error: seen.result.error };
}

/** Every client sends one request, 16 at a time. */
export async function oneRound(
  url: string,
  clients: readonly Client[],
): Promise<Timed[]> {
  const all: Timed[] = [];
  await inPool([...clients], 16, async (client) => {
    all.push(await timedRequest(url, client));
  });
  return all;
}

/**
 * Every client sends requests one after the other (20 ms apart) until `until` has passed, each client on its
 * own, so a client held by a hung backend does not hold up the others.
 */
export async function trafficUntil(
  url: string,
  clients: readonly Client[],
  until: number,
): Promise<Timed[]> {
  const all: Timed[] = [];
  await Promise.all(
    clients.map(async (client) => {
      while (Date.now() < until) {
        all.push(await timedRequest(url, client));
        await new Promise((r) => setTimeout(r, 20));
      }
    }),
  );
  return all;
}

/** Each client's answering backends, in order of first answer. */
export function backendsOf(requests: readonly Timed[]): Map<number, string[]> {
  const by = new Map<number, string[]>();
  for (const r of requests) {
    if (r.backend === undefined) continue;
    const seen = by.get(r.client.id) ?? [];
    if (!seen.includes(r.backend)) seen.push(r.backend);
    by.set(r.client.id, seen);
  }
  return by;
}

/** Resolves once every node's health agent has logged a line matching `pattern` (or throws after `ms`). */
export async function agentsSay(
  topology: Pick<Topology, 'healthAgentOutput'>,
  pattern: RegExp,
  ms: number,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!topology.healthAgentOutput().every((o) => pattern.test(o))) {
    if (Date.now() > deadline)
      throw new Error(
        `agents did not log ${pattern}:\n${topology.healthAgentOutput().join('\n---\n')}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
