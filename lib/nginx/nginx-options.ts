/**
 * How settings and the edge's addresses become the renderer's options, and the whole nginx.conf around them.
 * The nginx tier's user data, `sticky-edge render --main` and the local topology call the same functions, so
 * the config proved locally and printed by the CLI is the config the instances run.
 */
import * as path from 'node:path';
import { renderEdgeConfig, renderMainConfig } from './render';
import type {
  BackendSpec,
  EdgeRenderOptions,
  MainConfigOptions,
} from './render-options';
import type { EdgeSettings } from '../settings';

/** The port the load balancer sends traffic and health checks to (PROXY v2 for nlb, HTTP for alb). */
export const NGINX_TRAFFIC_PORT = 80;
/** A plain-HTTP status listener for on-instance checks (user data waits for it; Session Manager users curl it). */
export const NGINX_STATUS_LISTEN = '127.0.0.1:8081';
/**
 * How the load balancer's target group checks the nginx nodes (on the traffic port, the health path): the CDK
 * app's target group and the local topology's stand-in use the same numbers, so a lost node costs the same
 * detection window in both. Short, as nothing here holds long requests and sandbox deploys replace nodes often.
 */
export const LB_HEALTH_CHECK = {
  intervalSeconds: 10,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
} as const;
/** The workers' user of Amazon Linux 2023's nginx package. */
const NGINX_USER = 'nginx';

export interface EdgeAddresses {
  /** The load balancer's source CIDRs (the subnets it sits in): the only peers whose client address nginx believes. */
  readonly trust: readonly string[];
  /** The app servers nginx proxies to. */
  readonly backends: readonly BackendSpec[];
  /** @default NGINX_TRAFFIC_PORT on every address */
  readonly listen?: string;
  /** @default NGINX_STATUS_LISTEN */
  readonly statusListen?: string;
  /** @default - none (see `EdgeRenderOptions.revealBackendTo`) */
  readonly revealBackendTo?: readonly string[];
}

/** The renderer's options for one nginx edge node. TLS is on exactly when a certificate is configured. */
export function nginxRenderOptions(
  settings: Pick<
    EdgeSettings,
    | 'lb'
    | 'sticky'
    | 'certificateArn'
    | 'cookieTtlSeconds'
    | 'cookieName'
    | 'cookieSameSite'
    | 'upstreamTimeoutSeconds'
    | 'drain'
    | 'hashIpv6Prefix'
  >,
  edge: EdgeAddresses,
): EdgeRenderOptions {
  return {
    lb: settings.lb,
    sticky: settings.sticky,
    listen: edge.listen ?? String(NGINX_TRAFFIC_PORT),
    trust: edge.trust,
    backends: edge.backends,
    statusListen: edge.statusListen ?? NGINX_STATUS_LISTEN,
    tls: settings.certificateArn !== undefined,
    cookieTtlSeconds: settings.cookieTtlSeconds,
    cookieName: settings.cookieName,
    cookieSameSite: settings.cookieSameSite,
    upstreamTimeoutSeconds: settings.upstreamTimeoutSeconds,
    drain: settings.drain,
    ...(settings.sticky === 'hash'
      ? { hashIpv6Prefix: settings.hashIpv6Prefix }
      : {}),
    ...(edge.revealBackendTo === undefined
      ? {}
      : { revealBackendTo: edge.revealBackendTo }),
  };
}

/** Where a whole nginx.conf runs: an Amazon Linux 2023 instance, or a node of the local topology. */
export type NginxHost =
  | { readonly kind: 'amazon-linux' }
  | {
      readonly kind: 'local';
      /** The node's own directory: config, pid file, logs and temp files (`nginx -p DIR`). */
      readonly dir: string;
      /** nginx worker processes (`auto`: one per core). */
      readonly workerProcesses: number | 'auto';
      /** Buffer the access log as shipped, instead of one write per request (tests read it right away). */
      readonly bufferAccessLog: boolean;
    };

/**
 * Everything in which a node's nginx.conf differs by host, in one place. An instance uses the package's
 * paths and runs its workers as the package's `nginx` user; a local node keeps every file in its own
 * directory and runs its workers as the current user (or `nobody` when started as root), as it runs
 * unprivileged and no `nginx` user need exist. Everything else is the same text.
 */
function hostOptions(host: NginxHost): Omit<MainConfigOptions, 'http'> {
  if (host.kind === 'amazon-linux') return { user: NGINX_USER };
  return {
    pidFile: path.join(host.dir, 'nginx.pid'),
    errorLog: path.join(host.dir, 'error.log'),
    accessLog: path.join(host.dir, 'access.log'),
    tempDir: path.join(host.dir, 'tmp'),
    workerProcesses: host.workerProcesses,
    bufferAccessLog: host.bufferAccessLog,
  };
}

/**
 * The whole nginx.conf around an http-context config: what the nginx tier's user data writes to
 * /etc/nginx/nginx.conf and `sticky-edge render --main` prints (host `amazon-linux`), or what a local node runs.
 */
export function nginxConf(http: string, host: NginxHost): string {
  return renderMainConfig({ http, ...hostOptions(host) });
}

/**
 * The whole /etc/nginx/nginx.conf of an Amazon Linux 2023 edge node (package paths, `nginx` workers), as the
 * nginx tier's user data writes it: the CDK path, so whole CDK tokens (subnet CIDRs, app server addresses)
 * may stand for values CloudFormation resolves.
 */
export function amazonLinuxNginxConf(options: EdgeRenderOptions): string {
  return nginxConf(renderEdgeConfig(options, { allowTokens: true }), {
    kind: 'amazon-linux',
  });
}
