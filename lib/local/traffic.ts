/**
 * Driving traffic through a topology: rounds in which every client sends one GET, a bounded number at a time,
 * each request tagged so it can be found in the nginx nodes' access logs afterwards. The requests are
 * lib/verify's visits, and each exchange is its observation with the demo's bookkeeping added.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseAccessLog } from '../nginx/access-log';
import { ROUTE_COOKIE } from '../nginx/render';
import { inPool } from '../verify/pool';
import type { BackendAnswer } from '../verify/probe';
import type { Forgery, Observation } from '../verify/visitor';
import type { Client } from './clients';
import type { Topology } from './topology-contract';

/** One request and what came back: a visitor's observation, and who sent it in which round. */
export interface Exchange extends Observation {
  readonly client: Client;
  /** The client's source address when it sent this request. */
  readonly source: string;
  readonly round: number;
  /** Unique per request; in the request's query string, hence in the nginx access log. */
  readonly tag: string;
  /** A 2xx answer from the demo backend (`result.ok`). */
  readonly ok: boolean;
  readonly error?: string;
  /** The backend's answer, when `ok`. */
  readonly facts?: BackendAnswer;
}

export interface TrafficOptions {
  /** How many requests each client sends, one after the other. @default 4 */
  readonly rounds?: number;
  /** Requests in flight at once. @default 32 */
  readonly concurrency?: number;
  /** The forwarding headers one client forges on one request. @default - none */
  readonly forge?: (client: Client, round: number) => Forgery | undefined;
  /** Called after every request with the number done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Per request; the local topology answers in milliseconds, so this only bounds a hung run. */
const TIMEOUT_MS = 10_000;

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
        const tag = `${run}.${client.id}.${round}`;
        const source = client.address;
        const seen = await client.visit(`${url}/?t=${tag}`, {
          timeoutMs: TIMEOUT_MS,
          forged: options.forge?.(client, round),
          routeCookieName: ROUTE_COOKIE,
        });
        const { result } = seen;
        exchanges.push({
          ...seen,
          client,
          source,
          round,
          tag,
          ok: result.ok,
          error: result.ok ? undefined : result.error,
          facts: result.ok ? result.answer : undefined,
        });
        options.onProgress?.(exchanges.length, total);
      },
    );
  }
  return exchanges;
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/**
 * Which nginx node served each tagged request, from the nodes' access logs. nginx writes the log line once
 * the response is sent, so a line may lag the answer a little: missing tags are looked for again briefly.
 */
export async function nodesServing(
  topology: Pick<Topology, 'accessLogs'>,
  exchanges: readonly Pick<Exchange, 'tag'>[],
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
      for (const entry of parseAccessLog(text)) {
        const match = /^\/\?t=([0-9a-f]+\.\d+\.\d+)$/.exec(entry.uri);
        if (entry.method === 'GET' && match) found.set(match[1], node);
      }
    }),
  );
  return found;
}
