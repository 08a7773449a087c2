import { setMaxListeners } from 'node:events';
import { parseStrictArgs } from './args';
import { runDemo } from '../local/demo';
import { measureDrain, type DrainResult } from '../local/drain';
import { formatDrainReport } from '../local/drain-report';
import { formatReport } from '../local/report';
import { startTopology } from '../local/topology';
import {
  COOKIE_SAME_SITE,
  CookieSameSite,
  DEFAULT_COOKIE_NAME,
  isCookieName,
  isSameSite,
  LB_KINDS,
  LbKind,
  MAX_APP_SERVERS,
  SAME_SITE_NONE_NEEDS_TLS,
  SETTING_KEYS,
  STICKY_STRATEGIES,
  StickyStrategy,
} from '../settings';
import { UserError } from '../errors';

const DEFAULT_CLIENTS = 300;
const MAX_CLIENTS = 5000;

const HELP = `usage: sticky-edge local [options]

Runs the seed article's nginx configuration and this project's side by side on real nginx and HAProxy on
this machine, drives traffic from many client addresses (127.x.y.z, no root needed) and prints one table:
per configuration, each backend's share of clients, how many clients stayed on one backend, and which
address the backend saw (the client's, or the load balancer's). Needs nginx and haproxy (\`npm run setup\`).

  clients ──► HAProxy (the NLB or ALB) ──► 2 nginx nodes ──► 2 demo backends (--app-count)

options:
  --lb nlb|alb             the load balancer HAProxy stands in for (default nlb). nlb: TCP with PROXY
                           protocol v2; alb: HTTP, appending X-Forwarded-For
  --sticky ip_hash|hash|cookie|all
                           the strategies to run beside the seed (default all)
  --clients N              simulated clients, 10-${MAX_CLIENTS} (default ${DEFAULT_CLIENTS}); one in ten share a carrier-NAT /24,
                           one in ten forge X-Forwarded-For and X-Real-IP
  --drain NAME|HOST:PORT   instead of the seed comparison, show draining a backend (repeatable; the
                           backends are app-a and app-b): per strategy, clients open sessions, the
                           drain rolls over the nginx nodes one at a time, then the same clients and
                           as many new ones carry on; prints who reached the drained backend and who moved
  --app-count N            demo backends app-a, app-b, …, 1-${MAX_APP_SERVERS} (default 2), as -c appCount for the stack
  --keep                   afterwards, leave one topology running (the first strategy) and print its URL
                           and a curl line; Ctrl-C stops it
  --tls                    with --keep: the topology left running ends TLS at the load-balancer stand-in,
                           as -c certificateArn does, with a throwaway self-signed certificate (the curl
                           line trusts it with --cacert); nginx then marks the cookie Secure
  --cookie-name NAME       with --keep: the routing cookie's name, as -c cookieName (default ${DEFAULT_COOKIE_NAME})
  --cookie-same-site Lax|Strict|None
                           with --keep: the routing cookie's SameSite, as -c cookieSameSite (default
                           Lax); None needs --tls
  -h, --help               show this help
`;

interface LocalOptions {
  readonly lb: LbKind;
  readonly strategies: readonly StickyStrategy[];
  readonly clients: number;
  readonly appCount: number;
  readonly keep: boolean;
  readonly drain: readonly string[];
  /** What the topology `--keep` leaves running renders with. */
  readonly tls: boolean;
  readonly cookieName: string;
  readonly cookieSameSite: CookieSameSite;
}

function parseOptions(argv: string[]): LocalOptions | 'help' {
  const { values } = parseStrictArgs({
    args: argv,
    options: {
      lb: { type: 'string', default: 'nlb' },
      sticky: { type: 'string', default: 'all' },
      clients: { type: 'string', default: String(DEFAULT_CLIENTS) },
      'app-count': { type: 'string', default: '2' },
      keep: { type: 'boolean', default: false },
      tls: { type: 'boolean', default: false },
      'cookie-name': { type: 'string', default: DEFAULT_COOKIE_NAME },
      'cookie-same-site': { type: 'string', default: 'Lax' },
      drain: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  if (!(LB_KINDS as readonly string[]).includes(values.lb))
    throw new UserError(
      `--lb must be ${LB_KINDS.join(' or ')}, got ${JSON.stringify(values.lb)}`,
    );
  if (
    values.sticky !== 'all' &&
    !(STICKY_STRATEGIES as readonly string[]).includes(values.sticky)
  ) {
    throw new UserError(
      `--sticky must be ${STICKY_STRATEGIES.join(', ')} or all, got ${JSON.stringify(values.sticky)}`,
    );
  }
  const clients = /^\d+$/.test(values.clients) ? Number(values.clients) : NaN;
  if (!(clients >= 10 && clients <= MAX_CLIENTS))
    throw new UserError(
      `--clients must be a whole number from 10 to ${MAX_CLIENTS}, got ${JSON.stringify(values.clients)}`,
    );
  const appCount = /^\d+$/.test(values['app-count'])
    ? Number(values['app-count'])
    : NaN;
  if (!(appCount >= 1 && appCount <= MAX_APP_SERVERS))
    throw new UserError(
      `--app-count must be a whole number from 1 to ${MAX_APP_SERVERS}, got ${JSON.stringify(values['app-count'])}`,
    );
  const cookieName = values['cookie-name'];
  if (!isCookieName(cookieName))
    throw new UserError(
      `--cookie-name must be ${SETTING_KEYS.cookieName}, got ${JSON.stringify(cookieName)}`,
    );
  const cookieSameSite = values['cookie-same-site'];
  if (!isSameSite(cookieSameSite))
    throw new UserError(
      `--cookie-same-site must be ${COOKIE_SAME_SITE.join(', ')}, got ${JSON.stringify(cookieSameSite)}`,
    );
  if (cookieSameSite === 'None' && !values.tls)
    throw new UserError(
      SAME_SITE_NONE_NEEDS_TLS('--cookie-same-site', '--tls'),
    );
  const keepOnly = [
    values.tls ? '--tls' : undefined,
    cookieName !== DEFAULT_COOKIE_NAME ? '--cookie-name' : undefined,
    cookieSameSite !== 'Lax' ? '--cookie-same-site' : undefined,
  ].filter((flag) => flag !== undefined);
  if (keepOnly.length > 0 && !values.keep)
    throw new UserError(
      `${keepOnly.join(', ')} ${keepOnly.length === 1 ? 'shapes' : 'shape'} the topology --keep leaves running (the comparison runs plain HTTP with the default cookie); add --keep`,
    );
  return {
    lb: values.lb as LbKind,
    strategies:
      values.sticky === 'all'
        ? STICKY_STRATEGIES
        : [values.sticky as StickyStrategy],
    clients,
    appCount,
    keep: values.keep,
    drain: values.drain,
    tls: values.tls,
    cookieName,
    cookieSameSite,
  };
}

/** A progress line that rewrites itself on a terminal, and a plain line per scenario otherwise. */
function progressReporter(): (
  scenario: string,
  done: number,
  total: number,
) => void {
  const tty = process.stderr.isTTY === true;
  return (scenario, done, total) => {
    if (tty)
      process.stderr.write(
        `\r${scenario}: ${done}/${total} requests${done === total ? '\n' : ''}`,
      );
    else if (done === total)
      process.stderr.write(`${scenario}: ${total} requests done\n`);
  };
}

/**
 * Ctrl-C or SIGTERM aborts the run: its topology stops every process it started, and the run returns once
 * that is done. A second Ctrl-C is Node's default: leave at once.
 */
function abortOnSignals(): {
  signal: AbortSignal;
  exitCode: () => number | undefined;
  release: () => void;
} {
  const controller = new AbortController();
  // Every process of the topology listens on the signal (and stops listening when it exits).
  setMaxListeners(0, controller.signal);
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    received = signal;
    process.stderr.write(`\n${signal}: stopping the local topology\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    exitCode: () =>
      received === undefined ? undefined : received === 'SIGINT' ? 130 : 143,
    release: () => process.off('SIGINT', onSignal).off('SIGTERM', onSignal),
  };
}

/** Serves until `signal` aborts, then stops the topology. */
async function keepRunning(
  options: LocalOptions,
  signal: AbortSignal,
): Promise<void> {
  const { lb, drain } = options;
  const sticky = options.strategies[0];
  const topology = await startTopology({
    lb,
    sticky,
    drain,
    backends: options.appCount,
    tls: options.tls ? {} : undefined,
    cookieName: options.cookieName,
    cookieSameSite: options.cookieSameSite,
    signal,
  });
  try {
    // The certificate's PEM file lives in the topology's directory and goes with it.
    const caFile = topology.certificate?.certFile;
    const client = topology.clientAddress(7, 7);
    const settings = [
      `lb=${lb}`,
      `sticky=${sticky}`,
      ...(drain.length > 0 ? [`drain=${drain.join(',')}`] : []),
      ...(options.tls ? ['tls'] : []),
      ...(options.cookieName !== DEFAULT_COOKIE_NAME
        ? [`cookieName=${options.cookieName}`]
        : []),
      ...(options.cookieSameSite !== 'Lax'
        ? [`cookieSameSite=${options.cookieSameSite}`]
        : []),
    ];
    process.stdout.write(
      [
        '',
        `running: ${settings.join(' ')} at ${topology.url} (nginx ${topology.nginxUrls.join(', ')})`,
        `try:     curl -s ${caFile ? `--cacert ${caFile} ` : ''}-c sticky-edge.jar -b sticky-edge.jar --interface ${client} ${topology.url}/`,
        '         (repeat it: same backend, rising hits; another 127.x --interface is another client)',
        'Ctrl-C stops it.',
        '',
      ].join('\n'),
    );
    if (!signal.aborted)
      await new Promise((resolve) =>
        signal.addEventListener('abort', resolve, { once: true }),
      );
  } finally {
    await topology.stop();
  }
}

export async function run(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (options === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const interrupt = abortOnSignals();
  try {
    if (options.drain.length > 0) {
      const drained = await runDrainDemo(options, interrupt.signal);
      if (interrupt.signal.aborted) return interrupt.exitCode() ?? 130;
      process.stdout.write(formatDrainReport(drained) + '\n');
    } else {
      const results = await runDemo({
        lb: options.lb,
        strategies: options.strategies,
        clients: options.clients,
        appCount: options.appCount,
        onProgress: progressReporter(),
        signal: interrupt.signal,
      });
      // Interrupted: the scenario ended early against stopped processes; its figures are not a result.
      if (interrupt.signal.aborted) return interrupt.exitCode() ?? 130;
      process.stdout.write(formatReport(results) + '\n');
    }
    // The drain (none without --drain) stays applied on the topology left running.
    if (options.keep) await keepRunning(options, interrupt.signal);
    return interrupt.exitCode() ?? 0;
  } catch (err) {
    // Interrupted: the run unwinds with errors from the processes it was using; they are not news.
    if (interrupt.signal.aborted) return interrupt.exitCode() ?? 130;
    throw err;
  } finally {
    interrupt.release();
  }
}

/** Each strategy in turn on a topology of its own: sessions, a rolling drain, sessions and new clients again. */
async function runDrainDemo(
  options: LocalOptions,
  signal: AbortSignal,
): Promise<DrainResult[]> {
  const progress = progressReporter();
  const results: DrainResult[] = [];
  for (const sticky of options.strategies) {
    const topology = await startTopology({
      lb: options.lb,
      sticky,
      backends: options.appCount,
      signal,
    });
    try {
      results.push(
        await measureDrain(topology, sticky, {
          drain: options.drain,
          clients: options.clients,
          onProgress: (phase, done, total) =>
            progress(`${options.lb} ${sticky} ${phase}`, done, total),
        }),
      );
    } finally {
      await topology.stop();
    }
    if (signal.aborted) break;
  }
  return results;
}
