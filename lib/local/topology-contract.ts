import type { EdgeRenderOptions } from '../nginx/render-options';
import type { CookieSameSite, LbKind, StickyStrategy } from '../settings';
import type { LocalCertificate } from './certificate';

/**
 * What the local topology offers its users (the `local` command, the behaviour tests, the verifier's tests
 * and the benchmarks). Kept as a separate contract so those can be written against it.
 */
export interface TopologyOptions {
  readonly lb: LbKind;
  readonly sticky: StickyStrategy;
  /** Render the seed's configuration (`render --naive`) instead of the project's. */
  readonly naive?: boolean;
  /**
   * End TLS at the load-balancer stand-in, as the NLB's TLS listener or the ALB's HTTPS listener does with
   * `certificateArn`: HAProxy serves a certificate the topology makes at start for its own address and
   * `hostnames`, and nginx renders as behind TLS (`Secure` cookie, `X-Forwarded-Proto: https`).
   * @default - plain HTTP
   */
  readonly tls?: { readonly hostnames?: readonly string[] };
  /**
   * The routing cookie's name (`cookieName`).
   * @default 'sticky_edge_route'
   */
  readonly cookieName?: string;
  /**
   * The routing cookie's `SameSite` (`cookieSameSite`); `None` needs `tls`.
   * @default 'Lax'
   */
  readonly cookieSameSite?: CookieSameSite;
  /** How many demo backends to start. @default 2 */
  readonly backends?: number;
  /**
   * Backends to drain from the start, by name (`app-b`) or `HOST:PORT`, as `-c drain=` names app servers.
   * @default - none drained
   */
  readonly drain?: readonly string[];
  /** How many nginx nodes behind the load-balancer stand-in. @default 2 */
  readonly nginxNodes?: number;
  /**
   * Each nginx node's `worker_processes` (`auto`: one per core, as shipped).
   * @default 1 - several nodes share the machine, so each gets one worker
   */
  readonly nginxWorkers?: number | 'auto';
  /**
   * Buffer the nodes' access logs as the shipped config does (lines reach the file within a second).
   * @default false - one write per request, so a request's log line is there when its answer arrives
   */
  readonly bufferAccessLog?: boolean;
  /**
   * Fault injection for tests and demos: the http config node `index` runs instead of the rendered one
   * (e.g. a config that trusts every address, or nodes that disagree on the mapping).
   * @default - every node runs exactly what the renderer produces for `options`
   */
  readonly nodeConfig?: (
    index: number,
    rendered: string,
    options: EdgeRenderOptions,
  ) => string;
  /**
   * Run the health agent beside each nginx node, as every instance does: it probes each backend's health path
   * and marks a backend that stops answering `down` (with `nginx -t` and a graceful reload).
   * @default true
   */
  readonly healthAgent?: boolean;
  /**
   * The directory the topology's own temporary directory is created in (every config, log and pid file is
   * under it, and so is every path on its processes' command lines).
   * @default - the OS temp directory
   */
  readonly tempParent?: string;
  /**
   * Stops the topology when it aborts (Ctrl-C): every process it started or is still starting, and its
   * directory.
   * @default - stopped only by `stop()`
   */
  readonly signal?: AbortSignal;
}

export interface Topology {
  /** The load-balancer stand-in's URL (HAProxy), e.g. http://127.77.0.1:41234, or https:// with `tls`. */
  readonly url: string;
  /**
   * Where IPv6 clients reach the load-balancer stand-in: a connection that opens with a PROXY header naming an
   * IPv6 client (`Visitor` with `'announce'`) is carried on as that client's, as a dual-stack load balancer
   * carries one (see `LoadBalancerConfig.ipv6ClientListen`).
   */
  readonly ipv6Url: string;
  /** The certificate HAProxy serves with `tls` (for the LB's address and the hostnames asked for). */
  readonly certificate?: LocalCertificate;
  /** Each nginx node's own URL, bypassing the load balancer (a host that skips the LB). */
  readonly nginxUrls: readonly string[];
  /** Each backend's direct URL. */
  readonly backendUrls: readonly string[];
  /** Each backend's pid, in the order of `backendUrls`. */
  readonly backendPids: readonly number[];
  /** Each nginx node's master pid (its workers are its children), in the order of `nginxUrls`. */
  readonly nginxPids: readonly number[];
  /** The load-balancer stand-in's master pid (HAProxy in master-worker mode: its worker is its child). */
  readonly lbPid: number;
  /** The address the load-balancer stand-in connects to nginx from (the only address nginx trusts). */
  readonly lbAddress: string;
  /** The backends' names, in the order of `backendUrls` (what the backend reports as `backend`). */
  readonly backendNames: readonly string[];
  /**
   * The options node 0's config was rendered from. Nodes differ only in `listen` and `statusListen` (each node
   * has its own address).
   */
  readonly renderOptions: EdgeRenderOptions;
  /** The options each nginx node's config was rendered from, in the order of `nginxUrls`. */
  readonly nodeRenderOptions: readonly EdgeRenderOptions[];
  /**
   * The address nginx connects to the backends from (the local stand-in for the NAT gateway's address):
   * the only proxy address the backends trust.
   */
  readonly natAddress: string;
  /** Each nginx node's whole nginx.conf, in the order of `nginxUrls`. */
  readonly nginxConfigFiles: readonly string[];
  /** Each nginx node's status listener (`/healthz`, `/nginx_status`), as on an instance at 127.0.0.1:8081; none for `naive`. */
  readonly statusUrls: readonly string[];
  /** Each nginx node's JSON access log (`parseAccessLog` reads it), in the order of `nginxUrls`. */
  readonly accessLogs: readonly string[];
  /**
   * A client address in this topology's own block: `network` 1-255 picks a /24 (ip_hash looks at the first
   * three octets), `host` 1-254 the address in it. Distinct from every server address of the topology.
   */
  clientAddress(network: number, host: number): string;
  /**
   * An IPv6 client address in fd00::/8, for `ipv6Url`: `network` 1-65535 picks a /64 of this topology's own
   * (ip_hash and hash key IPv6 clients on it), `host` 1-4294967295 the interface id in it (a temporary address
   * rotating inside its /64 keeps the network and changes the host).
   */
  ipv6ClientAddress(network: number, host: number): string;
  /**
   * Starts backends until there are `count`, or removes the last ones down to `count`, and reloads every nginx
   * node with the re-rendered config (`nginx -t` first, then SIGHUP; resolves once the old workers are gone).
   * Removed backends are stopped only after the reload, once no worker routes to them (scale-in).
   */
  scaleBackends(count: number): Promise<void>;
  /**
   * Grows or shrinks the nginx tier to `count` nodes (1-9) while it serves, as the Auto Scaling group does:
   * new nodes start with the same rendered config, then the load balancer sends to them; leaving nodes are
   * taken out of the load balancer first, keep their connections for up to `drainMs` (the deregistration
   * delay; default 5000), then stop.
   */
  scaleNginx(count: number, drainMs?: number): Promise<void>;
  /**
   * Drains exactly these backends (by name or `HOST:PORT`; `[]` lifts every drain) on every nginx node at once:
   * re-rendered, `nginx -t`, reloaded (resolves once the old workers are gone). A bad name is refused before
   * any node changes. A deploy rolls the nodes one at a time instead; `drainNode` does one node.
   */
  drain(names: readonly string[]): Promise<void>;
  /** Drains exactly these backends on nginx node `index` only, as a rolling deploy does node by node. */
  drainNode(index: number, names: readonly string[]): Promise<void>;
  /** Kills backend `index` (SIGKILL: no goodbye). The nginx config still names it, as after a crash. */
  killBackend(index: number): Promise<void>;
  /** Kills nginx node `index` (master and workers, SIGKILL): the load-balancer stand-in must notice by its health checks. */
  killNginxNode(index: number): Promise<void>;
  /** Freezes backend `index` (SIGSTOP): it accepts connections and never answers, as a hung app does. */
  freezeBackend(index: number): void;
  /** Lets a frozen backend run again (SIGCONT). */
  thawBackend(index: number): void;
  /** Each node's health agent's recent output (empty when `healthAgent` is off), in the order of `nginxUrls`. */
  healthAgentOutput(): string[];
  /** Stops everything this topology started and removes its temporary directory. */
  stop(): Promise<void>;
}
