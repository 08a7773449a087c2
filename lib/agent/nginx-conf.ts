/**
 * How the health agent reads and edits a rendered nginx.conf: the backends are the `server` lines of the
 * renderer's upstream blocks (`upstream sticky_edge…`), and a backend is taken out by adding nginx's own
 * `down` parameter to each of its lines. Pure text in, text out: the agent needs no renderer options and no
 * CDK tokens, because the file on the node already holds the deployed addresses.
 */

const UPSTREAM_HEAD = /^\s*upstream sticky_edge\S* \{$/;
const BLOCK_END = /^\s*\}$/;
/** `server ADDR PARAMS… [down];` as the renderer writes it. */
const SERVER_LINE = /^(\s*server )(\S+)((?: (?!down;)[^ ;]+)*)( down)?;$/;

interface ServerLine {
  readonly index: number;
  readonly address: string;
  readonly down: boolean;
  readonly rewrite: (down: boolean) => string;
}

function serverLines(lines: readonly string[]): ServerLine[] {
  const found: ServerLine[] = [];
  let inside = false;
  lines.forEach((line, index) => {
    if (!inside) {
      inside = UPSTREAM_HEAD.test(line);
      return;
    }
    if (BLOCK_END.test(line)) {
      inside = false;
      return;
    }
    const m = SERVER_LINE.exec(line);
    if (m === null) return;
    found.push({
      index,
      address: m[2],
      down: m[4] !== undefined,
      rewrite: (down) => `${m[1]}${m[2]}${m[3]}${down ? ' down' : ''};`,
    });
  });
  return found;
}

/** The backends the config proxies to, each once, in the order of their first `server` line. */
export function configBackends(conf: string): string[] {
  return [...new Set(serverLines(conf.split('\n')).map((s) => s.address))];
}

/** The backends the config marks `down` (on every one of their lines). */
export function downBackends(conf: string): string[] {
  const servers = serverLines(conf.split('\n'));
  return configBackends(conf).filter((address) =>
    servers.filter((s) => s.address === address).every((s) => s.down),
  );
}

/** The config with exactly the backends in `down` marked `down`, every other server line without it. */
export function withDown(conf: string, down: ReadonlySet<string>): string {
  const lines = conf.split('\n');
  for (const s of serverLines(lines))
    lines[s.index] = s.rewrite(down.has(s.address));
  return lines.join('\n');
}
