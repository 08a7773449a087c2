import { parseStrictArgs } from './args';
import { formatReport, LIMITS, verifyEndpoint, VerifyReport } from '../verify';
import {
  isCookieName,
  SETTING_KEYS,
  STICKY_STRATEGIES,
  StickyStrategy,
} from '../settings';
import { UserError } from '../errors';

const HELP = `usage: sticky-edge verify <url> [options]

Plays many visitors against a deployed edge (the load balancer's URL) and checks that each session stays
on one backend, that sessions are spread over the backends, that the backends see the caller's own
address (not the load balancer's, nginx's or a NAT's), and that forged X-Forwarded-For / X-Real-IP
headers change neither the address nor the backend. The URL must serve the sticky-edge demo backend.

options:
  --sessions N             simulated visitors, ${LIMITS.sessions.min}-${LIMITS.sessions.max} (default 20)
  --requests N             plain requests per visitor, ${LIMITS.requestsPerSession.min}-${LIMITS.requestsPerSession.max} (default 4); each also sends 2
                           with forged forwarding headers
  --sticky ip_hash|hash|cookie|auto
                           the edge's strategy (default auto: cookie when the edge sets its routing
                           cookie). From one machine, ip_hash and hash send every visitor to one backend,
                           so the spread check is reported as not applicable for them
  --cookie-name NAME       the edge's routing cookie, when cookieName renamed it (default
                           sticky_edge_route)
  --backend URL            a backend's own URL, skipping nginx (repeatable): proves each backend is up
  --client-ip ADDR         the address the backends must report for you, e.g. your public IP
                           (repeatable). Default: the address each request leaves from when the URL is
                           loopback or private; otherwise any public address that is not the load balancer's
  --json                   print the report as JSON instead of text
  -h, --help               show this help

Progress goes to stderr. Exit status: 0 every check passed, 1 a check failed, 2 bad input.

example:
  npx sticky-edge verify http://sticky-edge-nlb-0123456789.elb.eu-west-1.amazonaws.com --sessions 30
`;

function parse(argv: string[]) {
  return parseStrictArgs({
    args: argv,
    options: {
      sessions: { type: 'string' },
      requests: { type: 'string' },
      sticky: { type: 'string', default: 'auto' },
      'cookie-name': { type: 'string' },
      backend: { type: 'string', multiple: true, default: [] },
      'client-ip': { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UserError(
      `verify takes exactly one URL, got ${positionals.length === 0 ? 'none' : positionals.map((p) => JSON.stringify(p)).join(' ')}`,
    );
  }
  const progress = progressLine();
  let report: VerifyReport;
  try {
    report = await verifyEndpoint({
      url: positionals[0],
      sticky: sticky(values.sticky),
      routeCookieName: cookieName(values['cookie-name']),
      sessions: count('--sessions', values.sessions, 20, LIMITS.sessions),
      requestsPerSession: count(
        '--requests',
        values.requests,
        4,
        LIMITS.requestsPerSession,
      ),
      backendUrls: values.backend,
      expectedClientIps: values['client-ip'],
      onProgress: progress.update,
    });
  } finally {
    progress.end();
  }
  process.stdout.write(
    values.json
      ? JSON.stringify(report, null, 2) + '\n'
      : formatReport(report) + '\n',
  );
  return report.ok ? 0 : 1;
}

function sticky(value: string): StickyStrategy | 'auto' {
  if (
    value === 'auto' ||
    (STICKY_STRATEGIES as readonly string[]).includes(value)
  )
    return value as StickyStrategy | 'auto';
  throw new UserError(
    `--sticky must be ip_hash, hash, cookie or auto, got ${JSON.stringify(value)}`,
  );
}

function cookieName(value: string | undefined): string | undefined {
  if (value === undefined || isCookieName(value)) return value;
  throw new UserError(
    `--cookie-name must be ${SETTING_KEYS.cookieName}, got ${JSON.stringify(value)}`,
  );
}

function count(
  flag: string,
  value: string | undefined,
  fallback: number,
  range: { min: number; max: number },
): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw new UserError(
      `${flag} must be a whole number from ${range.min} to ${range.max}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/** On a terminal one line rewritten in place; otherwise a line at each quarter, so logs stay short. */
function progressLine(): {
  update: (done: number, total: number) => void;
  end: () => void;
} {
  const tty = process.stderr.isTTY === true;
  let lastQuarter = 0;
  let drawn = false;
  return {
    update(done, total) {
      if (tty) {
        process.stderr.write(`\rverify: ${done}/${total} requests`);
        drawn = true;
        return;
      }
      const quarter = Math.floor((done / total) * 4);
      if (quarter > lastQuarter) {
        lastQuarter = quarter;
        process.stderr.write(`verify: ${done}/${total} requests\n`);
      }
    },
    end() {
      if (drawn) process.stderr.write('\n');
    },
  };
}
