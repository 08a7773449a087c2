/**
 * An app embedded cross-site: a page on one site (https://app.embedder.test) shows the edge (another site) in
 * an iframe, in headless Chromium, behind TLS on the local topology. With `cookieSameSite=None` the routing
 * cookie comes back on every framed request and the visitor stays on one backend through both nginx nodes;
 * with `Lax` (the negative control, same TLS and topology otherwise) the browser never sends it back, so
 * every framed request is balanced like a first one and the visitor changes backend.
 *
 * Chromium trusts the two certificates the test makes by their public keys
 * (`--ignore-certificate-errors-spki-list`): the connections verify as valid, so nothing about certificate
 * errors can change how Chromium treats `Secure` or `SameSite`. Host names reach 127.x addresses through
 * `--host-resolver-rules`; no DNS and no other network.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { makeCertificate } from '../../lib/local/certificate';
import { startTopology } from '../../lib/local/topology';
import type { Topology } from '../../lib/local/topology-contract';
import { parseAccessLog } from '../../lib/nginx/access-log';
import type { CookieSameSite } from '../../lib/settings';
import { chromiumPath } from './browser';
import { startAll, stopAll } from './topologies';

jest.setTimeout(60_000);

const EMBEDDER = 'app.embedder.test';
const EMBEDDER_ADDRESS = '127.0.0.1';
const COOKIE = 'embedded_route';
const LOADS = 5;
const edgeHost = (sameSite: CookieSameSite) =>
  `${sameSite.toLowerCase()}.edge.test`;

const topologies = startAll(
  (['None', 'Lax'] as const).map(
    (sameSite) =>
      [
        sameSite,
        () =>
          startTopology({
            lb: 'nlb',
            sticky: 'cookie',
            tls: { hostnames: [edgeHost(sameSite)] },
            cookieName: COOKIE,
            cookieSameSite: sameSite,
          }),
      ] as const,
  ),
);

let dir: string;
let embedder: https.Server;
let browser: Browser;

/** The embedding page: nothing but an iframe of the edge, whose address the query names. */
function embeddingPage(url: URL): string {
  const src = url.searchParams.get('src') ?? '';
  return `<!doctype html><title>embedder</title><iframe id="edge" src="${src.replace(/[^a-z0-9.:/-]/g, '')}"></iframe>`;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sticky-edge-embedded-'));
  const certificate = await makeCertificate(dir, 'embedder', [EMBEDDER]);
  embedder = https.createServer(
    {
      cert: await readFile(certificate.certFile),
      key: await readFile(certificate.keyFile),
    },
    (req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(embeddingPage(new URL(req.url ?? '/', `https://${EMBEDDER}`)));
    },
  );
  await new Promise<void>((resolve) =>
    embedder.listen(0, EMBEDDER_ADDRESS, resolve),
  );
  const none = await topologies.get('None')!;
  const lax = await topologies.get('Lax')!;
  const rules = [
    `MAP ${EMBEDDER} ${EMBEDDER_ADDRESS}`,
    `MAP ${edgeHost('None')} ${none.lbAddress}`,
    `MAP ${edgeHost('Lax')} ${lax.lbAddress}`,
  ];
  const spkis = [certificate, none.certificate!, lax.certificate!].map(
    (c) => c.spkiSha256,
  );
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      `--host-resolver-rules=${rules.join(', ')}`,
      `--ignore-certificate-errors-spki-list=${spkis.join(',')}`,
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => embedder?.close(resolve));
  await stopAll(topologies);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * `page.goto`, again when Chromium reports ERR_NETWORK_CHANGED: it watches the host's interfaces, and other
 * processes on a shared machine add and remove network namespaces and links; the load never reached here.
 */
async function load(page: Page, url: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(url);
      return;
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('ERR_NETWORK_CHANGED'))
        throw err;
    }
  }
}

interface FramedVisit {
  /** The backend each framed load was served by. */
  readonly backends: string[];
  /** The routing cookie's Set-Cookie on each framed response. */
  readonly setCookies: string[];
  /** What the nginx nodes logged for the browser's framed requests: the route each carried, per node. */
  readonly logged: { node: number; route: string }[];
}

/** Loads the embedding page LOADS times in one browser context; each load fetches the framed edge anew. */
async function visitEmbedded(
  sameSite: CookieSameSite,
  topology: Topology,
): Promise<FramedVisit> {
  const port = new URL(topology.url).port;
  const edgeUrl = `https://${edgeHost(sameSite)}:${port}/`;
  const embeddingUrl = `https://${EMBEDDER}:${(embedder.address() as AddressInfo).port}/?src=${encodeURIComponent(edgeUrl)}`;
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    // A new connection per request, so the load balancer picks an nginx node again each time.
    await page.setExtraHTTPHeaders({ connection: 'close' });
    const setCookies: Promise<string>[] = [];
    page.on('response', (response) => {
      if (response.url() !== edgeUrl) return;
      setCookies.push(
        response
          .headerValues('set-cookie')
          .then(
            (values) => values.find((c) => c.startsWith(`${COOKIE}=`)) ?? '',
          ),
      );
    });
    const backends: string[] = [];
    for (let i = 0; i < LOADS; i++) {
      await load(page, embeddingUrl);
      const frame = await (await page.waitForSelector('#edge')).contentFrame();
      backends.push((await frame!.textContent('#backend')) ?? '');
    }
    const logs = await Promise.all(
      topology.accessLogs.map((file) => readFile(file, 'utf8')),
    );
    const logged = logs.flatMap((log, node) =>
      parseAccessLog(log)
        .filter((e) => e.uri === '/' && e.client === '127.0.0.1')
        .map((e) => ({ node, route: e.route })),
    );
    return { backends, setCookies: await Promise.all(setCookies), logged };
  } finally {
    await context.close();
  }
}

test('SameSite=None behind TLS: the framed edge keeps its backend across loads, through both nginx nodes', async () => {
  const topology = await topologies.get('None')!;
  const visit = await visitEmbedded('None', topology);
  expect(visit.setCookies).toHaveLength(LOADS);
  for (const setCookie of visit.setCookies)
    expect(setCookie).toMatch(
      /; HttpOnly; SameSite=None; Secure; Partitioned$/,
    );
  expect(new Set(visit.backends).size).toBe(1);
  expect(topology.backendNames).toContain(visit.backends[0]);
  // Only the first framed request came without the cookie; every later one carried the route of that backend
  // (a load retried after ERR_NETWORK_CHANGED may add one), and both nodes served some.
  const routes = visit.logged.map((l) => l.route);
  expect(routes.filter((r) => r === '')).toHaveLength(1);
  expect(routes.filter((r) => r !== '').length).toBeGreaterThanOrEqual(
    LOADS - 1,
  );
  expect(new Set(routes.filter((r) => r !== ''))).toEqual(
    new Set([visit.backends[0]]),
  );
  expect(new Set(visit.logged.map((l) => l.node)).size).toBe(2);
});

test('SameSite=Lax (negative control): the framed edge never gets its cookie back and changes backend', async () => {
  const topology = await topologies.get('Lax')!;
  const visit = await visitEmbedded('Lax', topology);
  // nginx did set it, on every answer: the browser is what kept it out of the cross-site frame.
  expect(visit.setCookies).toHaveLength(LOADS);
  for (const setCookie of visit.setCookies)
    expect(setCookie).toMatch(/; HttpOnly; SameSite=Lax; Secure$/);
  expect(visit.logged.length).toBeGreaterThanOrEqual(LOADS);
  expect(new Set(visit.logged.map((l) => l.route))).toEqual(new Set(['']));
  expect(new Set(visit.backends).size).toBe(2);
});
