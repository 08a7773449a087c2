import { UserError } from '../errors';
import { INSTANCE_ACCESS_LOG, logFormat } from './access-log';
import type { MainConfigOptions } from './render-options';

/** A path nginx reads unquoted: no spaces, quotes, `;`, braces, `$` (variables) or backslashes. */
function path(name: string, value: string): string {
  if (!/^[^\s;"'{}$\\]+$/.test(value))
    throw new UserError(
      `${name} must be a path without spaces, quotes, ;, {}, $ or \\, got ${JSON.stringify(value)}`,
    );
  return value;
}

function workers(value: MainConfigOptions['workerProcesses']): string {
  if (value === undefined || value === 'auto') return 'auto';
  if (Number.isInteger(value) && value >= 1 && value <= 256)
    return String(value);
  throw new UserError(
    `workerProcesses must be auto or a whole number from 1 to 256, got ${JSON.stringify(value)}`,
  );
}

/**
 * The access log is JSON (`access-log.ts`): the client address after realip and the peer it came through, the
 * backend that answered and the routes, what stickiness problems are diagnosed from and the dashboard counts.
 */
const LOG_FORMAT = logFormat('sticky_edge');

/** One write per 64 KB of log lines instead of one per request; a line is on disk within a second. */
const LOG_BUFFER = ' buffer=64k flush=1s';

function accessLogLine(file: string, buffered: boolean): string {
  if (file === 'off') return 'access_log off;';
  return `access_log ${file} sticky_edge${buffered ? LOG_BUFFER : ''};`;
}

const TEMP_PATHS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];

/**
 * A whole nginx.conf: the http-context config inlined in an `http` block with its own pid file, logs and
 * temp paths. It replaces the distribution's nginx.conf, whose default server on :80 would clash with the
 * edge listener and open a port the options did not name.
 */
export function renderMainConfig(options: MainConfigOptions): string {
  const tempDir = path('tempDir', options.tempDir ?? '/var/lib/nginx/tmp');
  const accessLog = path('accessLog', options.accessLog ?? INSTANCE_ACCESS_LOG);
  const http = options.http.trimEnd().split('\n');
  const lines = [
    '# sticky-edge nginx.conf. Rendered by sticky-edge; edit the options, not this file.',
    ...(options.user === undefined
      ? []
      : [`user ${path('user', options.user)};`]),
    `worker_processes ${workers(options.workerProcesses)};`,
    // Each proxied request holds two connections; raising the file limit here keeps nginx from warning
    // that worker_connections exceeds a systemd unit's default soft limit of 1024.
    'worker_rlimit_nofile 8192;',
    `pid ${path('pidFile', options.pidFile ?? '/run/nginx.pid')};`,
    `error_log ${path('errorLog', options.errorLog ?? '/var/log/nginx/error.log')};`,
    // The cookie strategy's maps run regular expressions on every response; compiled, they cost less.
    'pcre_jit on;',
    '',
    'events {',
    '    worker_connections 4096;',
    '}',
    '',
    'http {',
    ...TEMP_PATHS.map((kind) => `    ${kind}_temp_path ${tempDir}/${kind};`),
    '    server_tokens off;',
    '    default_type application/octet-stream;',
    ...LOG_FORMAT.map((l) => `    ${l}`),
    `    ${accessLogLine(accessLog, options.bufferAccessLog ?? true)}`,
    '',
    ...http.map((l) => (l === '' ? l : `    ${l}`)),
    '}',
  ];
  return lines.join('\n') + '\n';
}
