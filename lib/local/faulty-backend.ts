/**
 * A demo backend to inject faults into: crash it (SIGKILL) and start it again on the same address, freeze it
 * (SIGSTOP: a hang), and, when it runs in a network namespace of its own, black-hole it (nftables drops its
 * packets). A topology routes to it instead of its own backend 0 through `nodeConfig`, so the faults are the
 * bench's and the tests', and the topology stays as it is.
 */
import { freePort } from './addresses';
import { ManagedProcess, spawnManaged } from './processes';
import {
  deleteNamespace,
  dropTcp,
  inNamespace,
  makeNamespace,
  Namespace,
  undropTcp,
} from './netns';
import { backendArgs } from './backend-process';

export interface FaultyBackend {
  readonly name: string;
  /** `ADDR:PORT`, as an nginx config names it. */
  readonly address: string;
  /** Whether `blackHole` can drop its packets (it runs in a namespace of its own). */
  readonly canBlackHole: boolean;
  /** SIGKILL: the kernel then refuses its connections. */
  crash(): Promise<void>;
  /** Starts the process again on the same address after `crash`; resolves once it listens. */
  restart(): Promise<void>;
  /** SIGSTOP: the kernel still accepts connections, nothing answers. */
  freeze(): void;
  thaw(): void;
  /** Drops every packet to its port (needs `canBlackHole`). */
  blackHole(): void;
  /** Ends the black hole. */
  heal(): void;
  /** Stops the process and deletes its namespace. */
  stop(): Promise<void>;
}

export type FaultyBackendPlace =
  /** On a loopback address: crash and hang only. */
  | { readonly kind: 'loopback'; readonly host: string; readonly nat: string }
  /** In namespace `name` on the /30 `subnet.0/30`, interfaces named from `ifPrefix` (see `makeNamespace`). */
  | {
      readonly kind: 'namespace';
      readonly name: string;
      readonly subnet: string;
      readonly ifPrefix: string;
    };

const NAMESPACE_PORT = 3000;

/**
 * Starts demo backend `name` from `bundle` (the backend's esbuild bundle). On loopback it trusts `nat` as its
 * proxy; in a namespace it trusts the host side of the veth pair, the address the host's connections come from.
 */
export async function startFaultyBackend(
  bundle: string,
  name: string,
  place: FaultyBackendPlace,
  signal?: AbortSignal,
): Promise<FaultyBackend> {
  const ns: Namespace | undefined =
    place.kind === 'namespace'
      ? makeNamespace(place.name, place.subnet, place.ifPrefix)
      : undefined;
  try {
    const host = ns ? ns.address : place.kind === 'loopback' ? place.host : '';
    const port = ns ? NAMESPACE_PORT : await freePort(host);
    const trust = ns
      ? ns.hostAddress
      : place.kind === 'loopback'
        ? place.nat
        : '';
    const args = backendArgs(bundle, name, `${host}:${port}`, trust);
    const [command, argv] = ns
      ? inNamespace(ns, process.execPath, args)
      : [process.execPath, args];
    const launch = async () => {
      const p = spawnManaged(`backend ${name}`, command, argv, signal);
      try {
        // Generous: a busy machine can take a while to start Node.js.
        await p.waitForLine(/^listening on /, 30_000);
      } catch (err) {
        await p.stop();
        throw err;
      }
      return p;
    };
    let running: ManagedProcess = await launch();
    let holed = false;
    return {
      name,
      address: `${host}:${port}`,
      canBlackHole: ns !== undefined,
      crash: () => running.kill(),
      async restart() {
        running = await launch();
      },
      freeze: () => void running.child.kill('SIGSTOP'),
      thaw: () => void running.child.kill('SIGCONT'),
      blackHole() {
        if (!ns) throw new Error(`${name} runs on loopback: no black hole`);
        dropTcp(ns, port);
        holed = true;
      },
      heal() {
        if (ns && holed) undropTcp(ns);
        holed = false;
      },
      async stop() {
        // A frozen process would not act on SIGTERM until the grace period's SIGKILL.
        running.child.kill('SIGCONT');
        await running.stop();
        if (ns) deleteNamespace(ns.name);
      },
    };
  } catch (err) {
    if (ns) deleteNamespace(ns.name);
    throw err;
  }
}
