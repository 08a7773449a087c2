/**
 * Load through one path with autocannon, as a client that already holds its sticky cookie.
 */
import autocannon from 'autocannon';
import { request } from 'node:http';
import type { LoadPath, LoadRow } from './results';
import { percentile } from './statistics';

export interface LoadSettings {
  readonly connections: number;
  readonly durationSeconds: number;
}

/**
 * The cookies a first request is given (the proxy's routing cookie and the backend's session), as a
 * `Cookie` header: the load then measures steady sticky traffic, not a stream of first visits.
 */
export function learnCookies(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent: false, timeout: 5000, headers: { accept: 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200)
            reject(
              new Error(
                `${url} answered HTTP ${res.statusCode} to the first request`,
              ),
            );
          else
            resolve(
              (res.headers['set-cookie'] ?? [])
                .map((line) => line.split(';')[0].trim())
                .join('; '),
            );
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${url} did not answer in 5 s`)),
    );
    req.on('error', (err) => reject(new Error(`${url}: ${err.message}`)));
    req.end();
  });
}

/** The autocannon runs in flight, so Ctrl-C can stop them. */
const running = new Set<autocannon.Instance>();

export function stopAllLoad(): void {
  for (const instance of running) instance.stop();
}

/**
 * One autocannon run. Its own percentiles come from a histogram of whole milliseconds, too coarse for
 * sub-millisecond hops, so the latency of every 2xx answer is also kept at full resolution.
 */
function cannon(
  options: autocannon.Options,
): Promise<{ result: autocannon.Result; latenciesMs: number[] }> {
  return new Promise((resolve, reject) => {
    const latenciesMs: number[] = [];
    const instance = autocannon(options, (err, result) => {
      running.delete(instance);
      if (err) reject(err);
      else resolve({ result, latenciesMs });
    });
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      if (statusCode >= 200 && statusCode < 300)
        latenciesMs.push(responseTimeMs);
    });
    running.add(instance);
  });
}

/** `warmUp`: first run a second of load unmeasured, to fill keep-alive pools and worker caches. */
export async function measureLoad(
  path: LoadPath,
  url: string,
  settings: LoadSettings,
  warmUp: boolean,
): Promise<LoadRow> {
  const cookie = await learnCookies(url);
  const headers = { accept: 'application/json', ...(cookie ? { cookie } : {}) };
  if (warmUp)
    await cannon({
      url,
      headers,
      connections: settings.connections,
      duration: 1,
    });
  const { result, latenciesMs } = await cannon({
    url,
    headers,
    connections: settings.connections,
    duration: settings.durationSeconds,
  });
  return {
    path,
    requestsPerSecond: result.requests.average,
    p50Ms: percentile(latenciesMs, 50),
    p99Ms: percentile(latenciesMs, 99),
    requests: result.requests.total,
    failed: result.errors + result.timeouts + result.non2xx,
  };
}
