/**
 * Driving traffic through a topology: rounds in which every client sends one GET, a bounded number at a time,
 * each request tagged so it can be found in the nginx nodes' access logs afterwards.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { RequestFacts } from '../backend/page';
import { Client, fetchAs } from './clients';
import type { Topology } from './topology-contract';

/** One request and what came back. */
export interface Exchange {
  readonly client: Client;
  /** The client's source address when it sent this request. */
  readonly source: string;
  readonly round: number;
  /** Unique per request; in the request's query string, hence in the nginx access log. */
  readonly tag: string;
  /** A 2xx answer from a backend. */
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: string;
  readonly facts?: RequestFacts;
  /** Headers the client added (e.g. a forged X-Forwarded-For). */
  readonly sentHeaders: Readonly<Record<string, string>>;
}

export interface TrafficOptions {
  /** How many requests each client sends, one after the other. @default 4 */
  readonly rounds?: number;
  /** Requests in flight at once. @default 32 */
  readonly concurrency?: number;
  /** Extra headers for one client's request, e.g. forged forwarding headers. @default - none */
  readonly headers?: (client: Client, round: number) => Record<string, string>;
  /** Called after every request with the number done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export async function driveTraffic(
  url: string,
  clients: readonly Client[],
  options: TrafficOptions = {},
): Promise<Exchange[]> {
  const rounds = options.rounds ?? 4;
  const total = rounds * clients.length;
  const run = randomBytes(4).toString('hex');
  const exchanges: Exchange[] = [];
  for (let round = 0; round < rounds; round++) {
    // A new order each round, so a client's place in the load balancer's rotation (and its nginx node) changes.
    await inPool(
      shuffled(clients),
      options.concurrency ?? 32,
      async (client) => {
        exchanges.push(
          await exchange(
            url,
            client,
            round,
            `${run}.${client.id}.${round}`,
            options.headers?.(client, round) ?? {},
          ),
        );
        options.onProgress?.(exchanges.length, total);
      },
    );
  }
  return exchanges;
}

async function exchange(
  url: string,
  client: Client,
  round: number,
  tag: string,
  sentHeaders: Record<string, string>,
): Promise<Exchange> {
  const source = client.address;
  const base = { client, source, round, tag, sentHeaders };
  try {
    const answer = await fetchAs(client, `${url}/?t=${tag}`, sentHeaders);
    const ok =
      answer.status >= 200 && answer.status < 300 && answer.facts !== undefined;
    return {
      ...base,
      ok,
      status: answer.status,
      facts: answer.facts,
      error: ok ? undefined : `HTTP ${answer.status}`,
    };
  } catch (err) {
    return { ...base, ok: false, error: (err as Error).message };
  }
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/** Runs `work` for every item with at most `limit` at a time. */
export async function inPool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, worker),
  );
}

/**
 * Which nginx node served each tagged request, from the nodes' access logs. nginx writes the log line once
 * the response is sent, so a line may lag the answer a little: missing tags are looked for again briefly.
 */
export async function nodesServing(
  topology: Pick<Topology, 'accessLogs'>,
  exchanges: readonly Exchange[],
): Promise<Map<string, number>> {
  const wanted = new Set(exchanges.map((e) => e.tag));
  let found = new Map<string, number>();
  for (let attempt = 0; attempt < 20; attempt++) {
    found = await readTags(topology.accessLogs);
    if ([...wanted].every((tag) => found.has(tag))) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return found;
}

async function readTags(
  accessLogs: readonly string[],
): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  await Promise.all(
    accessLogs.map(async (file, node) => {
      const text = await readFile(file, 'utf8').catch(() => '');
      for (const match of text.matchAll(
        /"GET \/\?t=([0-9a-f]+\.\d+\.\d+) HTTP/g,
      ))
        found.set(match[1], node);
    }),
  );
  return found;
}
