/**
 * BENCHMARKS.md, written from a run's results. Targets are shown as met or missed, never hidden.
 */
import {
  LOAD_PATHS,
  MIX_LABELS,
  type BenchResults,
  type BuildResult,
  type FailoverRow,
  type OverheadResult,
} from './results';
import {
  idealRemap,
  ratio,
  shares,
  worstDeviationFromIdeal,
} from './statistics';
import { checkTargets, type TargetCheck } from './targets';

/** Where the charts go, relative to the report. */
export const CHART_DIR = 'docs/benchmarks';
export const CHART_FILES = {
  overhead: 'overhead.svg',
  balance: 'balance.svg',
  remap: 'remap.svg',
} as const;

const pct = (x: number) =>
  Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : 'n/a';
const times = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');
const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x)} ms` : 'n/a');
/** Latencies of a local hop are often below a millisecond: keep two decimals there. */
export const latency = (x: number) =>
  Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : Math.round(x)} ms` : 'n/a';

function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join(
    '\n',
  );
}

function verdict(check: TargetCheck): string {
  if (check.met === undefined) return 'not measured';
  return check.met ? 'met' : '**missed**';
}

export function renderReport(results: BenchResults): string {
  const sections = [
    header(results),
    machine(results),
    targets(results),
    results.overhead && overhead(results.overhead),
    results.balance && balance(results),
    results.remap && remap(results),
    results.failover && failover(results.failover),
    results.build && build(results.build),
  ];
  return sections.filter((s): s is string => Boolean(s)).join('\n\n') + '\n';
}

function header(r: BenchResults): string {
  return [
    '# Benchmarks',
    '',
    `Measured on ${r.date} in ${r.mode} mode (${r.scenarios.join(', ')}; the run took ${Math.round(r.wallSeconds)} s), every figure side by side in one run on the local topology (real nginx, HAProxy and demo backends on 127.0.0.0/8).`,
    '',
    'Reproduce with:',
    '',
    '```sh',
    r.command,
    '```',
    '',
    '`npm run bench` is the quick mode; `npm run bench -- --full` runs longer load rounds; `--json` prints these results as JSON; `--only overhead,balance,remap,failover,build` picks figures.',
  ].join('\n');
}

function machine({ machine: m }: BenchResults): string {
  const loads = [
    m.loadAverageAtStart,
    ...(m.loadAverageAtEnd === undefined ? [] : [m.loadAverageAtEnd]),
  ];
  const busy = m.loadAverageAtStart >= m.cores / 2;
  return [
    '## Machine',
    '',
    table(
      [
        'CPU',
        'cores',
        'memory',
        'OS',
        'Node.js',
        'nginx',
        'HAProxy',
        'load average at start / end',
      ],
      [
        [
          m.cpuModel,
          String(m.cores),
          `${m.memoryGiB} GiB`,
          m.os,
          m.node,
          m.nginx,
          m.haproxy,
          loads.map((l) => l.toFixed(2)).join(' / '),
        ],
      ],
    ),
    '',
    `The load generator (autocannon, in the benchmark's own Node.js process), the proxies and the backends share these ${m.cores} cores, so absolute throughput says more about the machine than about the proxies; compare rows of one run with each other, and the nginx hop with the HAProxy peer. The load average at the end includes the benchmark's own load.` +
      (busy
        ? ` **Caveat:** other work was running on the machine when the run started (1-minute load average ${m.loadAverageAtStart.toFixed(2)} on ${m.cores} cores), so throughput and latency figures are noisy and lower than on an idle machine.`
        : ''),
  ].join('\n');
}

function targets(r: BenchResults): string {
  const checks = checkTargets(r);
  const missed = checks.filter((c) => c.met === false).length;
  return [
    '## Targets',
    '',
    checks.length === 0
      ? 'No figure with a target was measured in this run.'
      : `${checks.length - missed} of ${checks.length} targets met${missed ? `, ${missed} missed` : ''}.`,
    '',
    table(
      ['target', 'measured', 'verdict'],
      checks.map((c) => [c.target, c.measured, verdict(c)]),
    ),
  ].join('\n');
}

function overhead(o: OverheadResult): string {
  const direct = o.rows.find((row) => row.path === 'direct');
  return [
    '## 1. Overhead',
    '',
    `autocannon, ${o.connections} keep-alive connections, ${o.rounds} round${o.rounds === 1 ? '' : 's'} of ${o.durationSeconds} s per path, interleaved across the paths (a 1 s warm-up before each path's first round); the round with the median throughput is shown; latencies are per request at full resolution. Every request carries the cookies a first request was given (the routing cookie, where the path sets one), so each path does its sticky work and ends on one backend, like the direct path. The HAProxy peer is the bar for the nginx hop: both are one proxy doing the same sticky job in front of the same two backends. The nginx rows use the ALB-mode config (a plain HTTP listener, so the load generator can reach a node directly). Both proxies are sized for the machine: the nginx nodes run the shipped main config (\`worker_processes auto\`, one worker per core), the peer one thread per core (\`nbthread\` set to the core count). nginx writes an access-log line per request as shipped (buffered: 64 KB, flushed at least every second), the peer logs nothing. Both keep client and backend connections open: nginx for up to 10,000 requests each (\`keepalive_requests\`), HAProxy without a limit. The seed rows run the seed's http config inside the same main config. "failed" counts socket errors, timeouts and non-2xx answers; the few seen on nginx paths were connection resets (ECONNRESET), likely autocannon racing nginx closing a client keep-alive connection after its last allowed request.`,
    '',
    table(
      [
        'path',
        'what is in the way',
        'requests/s',
        '× direct',
        'p50',
        'p99',
        'p99 × direct',
        'failed',
      ],
      o.rows.map((row) => [
        `\`${row.path}\``,
        LOAD_PATHS[row.path],
        row.requestsPerSecond.toFixed(0),
        times(ratio(row.requestsPerSecond, direct?.requestsPerSecond ?? 0)),
        latency(row.p50Ms),
        latency(row.p99Ms),
        times(ratio(row.p99Ms, direct?.p99Ms ?? 0)),
        `${row.failed} of ${row.requests}`,
      ]),
    ),
    '',
    `![Throughput relative to direct](${CHART_DIR}/${CHART_FILES.overhead})`,
  ].join('\n');
}

function balance(r: BenchResults): string {
  const rows = r.balance ?? [];
  return [
    '## 2. Balance',
    '',
    '1,000 clients per strategy, each a first request (no cookie) from its own source address through the load-balancer stand-in (NLB mode: PROXY protocol v2) to two backends. **distinct /24s**: every client in its own /24 network, drawn at random from twice as many. **carrier NAT**: 1,000 clients behind 64 addresses in 4 /24 networks, about 16 clients per address, as behind a carrier-grade NAT. The /24s are picked at random each run, so `ip_hash`, which looks only at the /24, splits the carrier-NAT clients in whole quarters, differently from run to run. `hash $remote_addr consistent` places each backend’s 160 ring points by hashing the backend’s address, so with two backends its split depends on their addresses (random ports here) as well as on the clients, and moves by several percent from run to run. The ideal is an equal share.',
    '',
    table(
      [
        'strategy',
        'client mix',
        'share per backend',
        'ideal',
        'worst backend off ideal',
        'failed',
      ],
      rows.map((row) => {
        const s = shares(row.counts);
        return [
          row.strategy,
          MIX_LABELS[row.mix],
          s.map((share, i) => `${row.backends[i]} ${pct(share)}`).join(', '),
          pct(1 / row.counts.length),
          pct(worstDeviationFromIdeal(s)),
          String(row.failed),
        ];
      }),
    ),
    '',
    `![Share per backend per strategy](${CHART_DIR}/${CHART_FILES.balance})`,
  ].join('\n');
}

function remap(r: BenchResults): string {
  const rows = r.remap ?? [];
  return [
    '## 3. Scale-out and scale-in remap',
    '',
    '2 → 3: the 1,000 distinct-/24 clients of the balance figure ask again after a third backend is added (every nginx node reloaded with the re-rendered config), cookie clients sending the cookie they were given. 3 → 2: 1,000 new clients (no cookies, their own random /24s) arrive while there are three backends (the earlier cookie clients never reach the new one), then the third backend is taken out of the config and they ask again. The ideal is the least possible: 1/(n+1) of the clients (the new backend’s share going out, the removed backend’s clients going in). Moving "needlessly" means moving from one backend to another although both were there before and after the change: neither the rebalancing onto a new backend nor leaving a removed one. With `hash … consistent` a client only ever moves onto the new backend or off the removed one; how many do is that backend’s share of the hash ring, which depends on the backends’ addresses (random ports here), so it scatters around 1/3 from run to run.',
    '',
    table(
      [
        'strategy',
        'change',
        'moved',
        'ideal',
        '× ideal',
        'moved needlessly',
        'failed',
      ],
      rows.map((row) => {
        const moved = row.moved / row.clients;
        const ideal = idealRemap(row.from, row.to);
        return [
          row.strategy,
          `${row.from} → ${row.to}`,
          pct(moved),
          pct(ideal),
          times(moved / ideal),
          pct(row.movedNeedlessly / row.clients),
          String(row.failed),
        ];
      }),
    ),
    '',
    `![Remap per strategy against the ideal](${CHART_DIR}/${CHART_FILES.remap})`,
  ].join('\n');
}

function failover(rows: readonly FailoverRow[]): string {
  return [
    '## 4. Failover',
    '',
    "Sessions (one source address in a /24 of its own and one cookie jar each, a new connection per request) send GETs in a loop through the load-balancer stand-in (NLB mode for the project's strategies; ALB mode for the seed, whose `set_real_ip_from 0.0.0.0/0` then sees each client); the backend most sessions are on is killed (SIGKILL) under that load and the sessions keep going. A session is re-pinned when its answers come from one live backend until the end. `seed` is the seed's configuration (`ip_hash`, `max_fails=5 fail_timeout=300`). A crashed process on the same host refuses connections at once, so every config retries the request on the other backend at once; what the seed's `fail_timeout=300` costs shows when the backend comes back (it stays benched for five minutes), and a backend that hangs instead of crashing costs timeouts: neither is measured here.",
    '',
    table(
      [
        'config',
        'sessions (on the dead backend)',
        'requests',
        'failed',
        're-pinned',
        'time to re-pin p50',
        'max',
        'observed after kill',
      ],
      rows.map((row) => [
        row.config,
        `${row.sessions} (${row.sessionsOnDeadBackend})`,
        String(row.requests),
        String(row.failed),
        `${row.repinned} of ${row.sessionsOnDeadBackend}`,
        ms(row.repinP50Ms),
        ms(row.repinMaxMs),
        ms(row.observedMs),
      ]),
    ),
  ].join('\n');
}

function build(b: BuildResult): string {
  const value = (x: number | undefined, text: (x: number) => string) =>
    x === undefined ? 'not measured' : text(x);
  return [
    '## 5. Build figures',
    '',
    table(
      ['figure', 'value', 'what it is'],
      [
        [
          '`cdk synth` of the whole app',
          value(b.synthSeconds, (s) => `${s.toFixed(1)} s`),
          '`npx cdk synth --quiet` into a temporary directory, wall time',
        ],
        [
          'unit tests (everything but the behaviour tests)',
          value(b.unitTestSeconds, (s) => `${s.toFixed(1)} s`),
          `\`${b.unitTestCommand}\`, wall time`,
        ],
        [
          'verification Lambda bundle',
          value(
            b.lambdaBundleBytes,
            (n) => `${(n / 1000).toFixed(1)} KB (${n} bytes)`,
          ),
          'esbuild bundle of `lambda/verify/index.ts` as the NodejsFunction builds it (minified, `@aws-sdk/*` external)',
        ],
      ],
    ),
    ...(b.problems.length ? ['', ...b.problems.map((p) => `- ${p}`)] : []),
  ].join('\n');
}
