import type { LbKind, StickyStrategy } from '../settings';

/** One upstream app server. */
export interface BackendSpec {
  /** `host:port`. In the CDK app the host is an Elastic IP token, resolved by CloudFormation. */
  readonly address: string;
  /**
   * Opaque, stable route id carried in the `cookie` strategy's cookie. Must not change when other
   * backends are added or removed.
   * @default - derived from a hash of `address` (the CDK app passes one derived from the construct path,
   *   because a token's text is not its deployed value)
   */
  readonly id?: string;
}

/** Everything the edge renderer needs; the CDK app and `sticky-edge render` build this the same way. */
export interface EdgeRenderOptions {
  readonly lb: LbKind;
  readonly sticky: StickyStrategy;
  /** `ADDR:PORT` or `PORT` the load balancer sends to (PROXY v2 for nlb, X-Forwarded-For for alb). */
  readonly listen: string;
  /** CIDRs whose PROXY header / X-Forwarded-For nginx believes: the load balancer's addresses only. */
  readonly trust: readonly string[];
  readonly backends: readonly BackendSpec[];
  /**
   * `ADDR:PORT` of a plain-HTTP status listener for on-instance checks.
   * @default - none: the config opens no listener its options did not name
   */
  readonly statusListen?: string;
  /**
   * The load balancer terminates TLS in front of this listener.
   * @default false - cookies are not `Secure` and `X-Forwarded-Proto` is `http`
   */
  readonly tls?: boolean;
  /**
   * Lifetime of the `cookie` strategy's routing cookie, in seconds.
   * @default 3600
   */
  readonly cookieTtlSeconds?: number;
}
