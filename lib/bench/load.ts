/**
 * Load through one path with wrk (C, from the OS packages), as a client that already holds its sticky
 * cookie. A compiled generator, so the generator is not what caps the figure (autocannon, in Node.js on
 * the same cores, reached barely more than the proxies it measured).
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { findExecutable } from '../os/find-executable';
import type { LoadRow } from './results';

export interface LoadSettings {
  readonly connections: number;
  readonly durationSeconds: number;
  /** wrk threads: one is enough for a few tens of thousands of requests/s and leaves the other cores to the path. */
  readonly threads: number;
}

/** wrk from PATH, or a one-line error naming the package: only the benchmark needs it, never `npm test`. */
export function findWrk(): string {
  return findExecutable(
    'wrk',
    'the overhead figure needs it; run `npm run setup` or `sudo apt-get install wrk`',
  );
}

/** What the `done` hook prints, so the figures come in microseconds rather than from wrk's rounded text. */
export const WRK_MARKER = 'sticky-edge-wrk';

/**
 * wrk's Lua `done` hook: requests, duration, errors and the latency percentiles as one JSON line. wrk
 * counts an answer outside 2xx/3xx in `errors.status`.
 */
export const WRK_DONE_SCRIPT = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '${WRK_MARKER} {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

/** The arguments of one wrk run against `url` sending `headers`, its `done` hook in `scriptFile`. */
export function wrkArgs(
  url: string,
  headers: Readonly<Record<string, string>>,
  settings: LoadSettings,
  scriptFile: string,
): string[] {
  return [
    `-t${settings.threads}`,
    `-c${settings.connections}`,
    `-d${settings.durationSeconds}s`,
    '--latency',
    '-s',
    scriptFile,
    ...Object.entries(headers).flatMap(([name, value]) => [
      '-H',
      `${name}: ${value}`,
    ]),
    url,
  ];
}

/** One wrk run's figures. */
export type WrkFigures = Omit<LoadRow, 'path'>;

/** Reads the `done` hook's line from wrk's output; a clear error when it is missing or malformed. */
export function parseWrkOutput(output: string): WrkFigures {
  const line = output.split('\n').find((l) => l.startsWith(`${WRK_MARKER} `));
  if (!line)
    throw new Error(
      `wrk printed no "${WRK_MARKER}" line: ${output.trim().split('\n').pop() || '(no output)'}`,
    );
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line.slice(WRK_MARKER.length + 1));
  } catch {
    throw new Error(`wrk's "${WRK_MARKER}" line is not JSON: ${line}`);
  }
  const keys = [
    'requests',
    'durationUs',
    'connect',
    'read',
    'write',
    'status',
    'timeout',
    'p50Us',
    'p99Us',
  ] as const;
  const n = {} as Record<(typeof keys)[number], number>;
  for (const key of keys) {
    const value = raw[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      throw new Error(`wrk's "${key}" is not a count: ${line}`);
    n[key] = value;
  }
  if (n.durationUs === 0) throw new Error(`wrk ran for 0 µs: ${line}`);
  return {
    requestsPerSecond: n.requests / (n.durationUs / 1e6),
    p50Ms: n.p50Us / 1000,
    p99Ms: n.p99Us / 1000,
    requests: n.requests,
    failed: n.connect + n.read + n.write + n.status + n.timeout,
  };
}

/** What a first request (no cookies) got: the backend that answered (the demo backend says) and its cookies. */
export interface FirstVisit {
  /** The demo backend's name from the JSON answer, if the answer was one. */
  readonly backend?: string;
  /** The cookies it was given (the proxy's routing cookie and the backend's session), as a `Cookie` header. */
  readonly cookies: string;
}

/** One first request to `url` with `headers`. */
export function firstVisit(
  url: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<FirstVisit> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent: false,
        timeout: 5000,
        headers: { accept: 'application/json', ...headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          if (res.statusCode !== 200)
            return reject(
              new Error(
                `${url} answered HTTP ${res.statusCode} to the first request`,
              ),
            );
          let backend: string | undefined;
          try {
            const answer: unknown = JSON.parse(body);
            if (
              typeof answer === 'object' &&
              answer !== null &&
              typeof (answer as { backend?: unknown }).backend === 'string'
            )
              backend = (answer as { backend: string }).backend;
          } catch {
            backend = undefined;
          }
          resolve({
            backend,
            cookies: (res.headers['set-cookie'] ?? [])
              .map((line) => line.split(';')[0].trim())
              .join('; '),
          });
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

/** Where wrk runs: `taskset -c CPU wrk …` when a core is set aside for it. */
export interface WrkPlacement {
  /** The core wrk is pinned to, or undefined to leave it to the scheduler. */
  readonly cpu?: number;
  /** The `done` hook's file (WRK_DONE_SCRIPT written out). */
  readonly scriptFile: string;
}

/** Runs wrk once; the abort signal kills it (and the run rejects with the signal's reason). */
export function runWrk(
  url: string,
  headers: Readonly<Record<string, string>>,
  settings: LoadSettings,
  placement: WrkPlacement,
  signal: AbortSignal,
): Promise<WrkFigures> {
  const wrk = findWrk();
  const args = wrkArgs(url, headers, settings, placement.scriptFile);
  const [command, argv] =
    placement.cpu === undefined
      ? [wrk, args]
      : ['taskset', ['-c', String(placement.cpu), wrk, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
    });
    let output = '';
    const keep = (chunk: Buffer) => (output += chunk.toString());
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) =>
      reject(signal.aborted ? signal.reason : new Error(`wrk: ${err.message}`)),
    );
    child.on('close', (code) => {
      if (signal.aborted) return reject(signal.reason);
      if (code !== 0)
        return reject(
          new Error(
            `wrk exited with ${code} against ${url}: ${output.trim().split('\n').pop() ?? ''}`,
          ),
        );
      try {
        resolve(parseWrkOutput(output));
      } catch (err) {
        reject(err);
      }
    });
  });
}
