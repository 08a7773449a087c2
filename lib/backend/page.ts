/** What the backend tells a visitor about their request, as JSON or as a page. */
export interface RequestFacts {
  readonly backend: string;
  readonly peer: string;
  readonly clientIp: string;
  readonly headers: {
    readonly 'x-real-ip': string | null;
    readonly 'x-forwarded-for': string | null;
    readonly 'x-forwarded-proto': string | null;
  };
  readonly session: { readonly id: string; readonly hits: number };
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A page for someone reloading the load balancer's URL: the backend and hit count first, the evidence below. */
export function renderPage(facts: RequestFacts): string {
  const e = escapeHtml;
  const rows: [string, string | null][] = [
    ['your address, as this backend sees it', facts.clientIp],
    ['TCP peer (the last hop: nginx, or its NAT)', facts.peer],
    ['session id', facts.session.id],
    ...Object.entries(facts.headers),
  ];
  const table = rows
    .map(
      ([k, v]) =>
        `<tr><th>${e(k)}</th><td>${v === null ? '<i>absent</i>' : e(v)}</td></tr>`,
    )
    .join('');
  const visits =
    facts.session.hits === 1
      ? 'new session (hit 1): reload to see if it sticks'
      : `hit ${facts.session.hits} of this session`;
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">' +
    `<title>backend ${e(facts.backend)}</title><style>body{font:16px system-ui,sans-serif;margin:2em auto;max-width:44em;padding:0 1em}` +
    'h1{font-size:2em;margin:0}th{text-align:left;padding-right:1em;font-weight:normal;color:#555}td{font-family:monospace;word-break:break-all}</style></head>' +
    `<body><p>served by</p><h1 id="backend">${e(facts.backend)}</h1><p id="hits">${e(visits)}</p><table>${table}</table></body></html>\n`
  );
}
