/**
 * What each local nginx node runs: the renderer's options built by the same function the CDK app's nginx tier
 * uses (`nginxRenderOptions`), with the topology's addresses, so the local config is the deployed config.
 */
import { EdgeAddresses, nginxRenderOptions } from '../nginx/nginx-options';
import { renderEdgeConfig, renderNaiveConfig } from '../nginx/render';
import type { EdgeRenderOptions } from '../nginx/render-options';
import { DEFAULT_SETTINGS } from '../settings';
import type { TopologyOptions } from './topology-contract';

/**
 * The settings a deployment would use for this lb, strategy, cookie and drain; everything else at its default. With
 * `tls` the stand-in's made certificate plays the ACM certificate: the renderer only asks whether there is one.
 */
export function nodeRenderOptions(
  options: Pick<
    TopologyOptions,
    'lb' | 'sticky' | 'tls' | 'cookieName' | 'cookieSameSite' | 'drain'
  >,
  addresses: EdgeAddresses,
): EdgeRenderOptions {
  const settings = {
    lb: options.lb,
    sticky: options.sticky,
    certificateArn: options.tls ? LOCAL_CERTIFICATE : undefined,
    cookieTtlSeconds: DEFAULT_SETTINGS.cookieTtlSeconds,
    cookieName: options.cookieName ?? DEFAULT_SETTINGS.cookieName,
    cookieSameSite: options.cookieSameSite ?? DEFAULT_SETTINGS.cookieSameSite,
    upstreamTimeoutSeconds: DEFAULT_SETTINGS.upstreamTimeoutSeconds,
    drain: options.drain ?? DEFAULT_SETTINGS.drain,
    hashIpv6Prefix: DEFAULT_SETTINGS.hashIpv6Prefix,
  };
  return nginxRenderOptions(settings, addresses);
}

/** Stands for `certificateArn` when the local topology serves TLS: the certificate it made at start. */
const LOCAL_CERTIFICATE = 'the local topology certificate';

/** The http-context config of node `index`: the project's, the seed's (`naive`), or the fault-injection hook's. */
export function nodeHttpConfig(
  options: TopologyOptions,
  index: number,
  renderOptions: EdgeRenderOptions,
): string {
  const rendered = options.naive
    ? renderNaiveConfig({
        listen: renderOptions.listen,
        backends: renderOptions.backends,
      })
    : renderEdgeConfig(renderOptions);
  return options.nodeConfig
    ? options.nodeConfig(index, rendered, renderOptions)
    : rendered;
}
