/**
 * The pure half of the nginx tier (no CDK imports): how settings and the edge's addresses become the
 * renderer's options and the nginx.conf the user data writes. The local topology calls the same functions,
 * so the config it proves locally is the config the instances run.
 */
import { renderEdgeConfig, renderMainConfig } from '../nginx/render';
import type { BackendSpec, EdgeRenderOptions } from '../nginx/render-options';
import type { EdgeSettings } from '../settings';

/** The port the load balancer sends traffic and health checks to (PROXY v2 for nlb, HTTP for alb). */
export const NGINX_TRAFFIC_PORT = 80;
/** A plain-HTTP status listener for on-instance checks (user data waits for it; Session Manager users curl it). */
export const NGINX_STATUS_LISTEN = '127.0.0.1:8081';
/** The workers' user of Amazon Linux 2023's nginx package. */
const NGINX_USER = 'nginx';

export interface EdgeAddresses {
  /** The load balancer's source CIDRs (the subnets it sits in): the only peers whose client address nginx believes. */
  readonly trust: readonly string[];
  readonly backends: readonly BackendSpec[];
  /** @default NGINX_TRAFFIC_PORT on every address */
  readonly listen?: string;
  /** @default NGINX_STATUS_LISTEN */
  readonly statusListen?: string;
}

/** The renderer's options for one nginx edge node. TLS is on exactly when a certificate is configured. */
export function nginxRenderOptions(
  settings: Pick<
    EdgeSettings,
    'lb' | 'sticky' | 'certificateArn' | 'cookieTtlSeconds'
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
  };
}

/** The whole /etc/nginx/nginx.conf of an Amazon Linux 2023 edge node (package paths, `nginx` workers). */
export function amazonLinuxNginxConf(options: EdgeRenderOptions): string {
  return renderMainConfig({
    http: renderEdgeConfig(options),
    user: NGINX_USER,
  });
}
