/**
 * The verifier's own-app mode against a real local edge (HAProxy → two nginx nodes → three backends) whose
 * nginx names the answering backend only to some client addresses, as the stack names it to its NAT
 * addresses: from those the check proves every backend answers and sessions stick without reading the app's
 * answers; from any other address no answer names a backend, and the check says why.
 */
import * as http from 'node:http';
import { renderEdgeConfig } from '../../lib/nginx/render';
import { startTopology } from '../../lib/local/topology';
import type { Topology } from '../../lib/local/topology-contract';
import { VerifyReport, verifyEndpoint } from '../../lib/verify';

jest.setTimeout(120_000);

let topology: Topology;
/** The callers nginx names the backend to (the stack's NAT addresses), one /24 each so they spread. */
let revealed: string[];
let fromRevealed: VerifyReport;
let fromOthers: VerifyReport;

beforeAll(async () => {
  const reveal = (t: Topology) =>
    Array.from({ length: 12 }, (_, i) => t.clientAddress(i + 1, 9));
  topology = await startTopology({
    lb: 'nlb',
    sticky: 'cookie',
    backends: 3,
    healthAgent: false,
    nodeConfig: (_index, _rendered, options) =>
      renderEdgeConfig({ ...options, revealBackendTo: revealed }),
  });
  revealed = reveal(topology);
  // The hook reads `revealed` when a node renders: reload every node now that the addresses are known.
  await topology.scaleBackends(3);
  const run = (sources: string[]) =>
    verifyEndpoint({
      url: topology.url,
      app: 'own',
      sourceAddresses: sources,
      backendUrls: topology.backendUrls,
      backendNames: topology.backendNames,
      sessions: 12,
      requestsPerSession: 3,
    });
  [fromRevealed, fromOthers] = await Promise.all([
    run(revealed),
    run(
      Array.from({ length: 12 }, (_, i) => topology.clientAddress(100 + i, 9)),
    ),
  ]);
});

afterAll(() => topology?.stop());

const statuses = (report: VerifyReport) =>
  Object.fromEntries(report.checks.map((c) => [c.id, c.status]));

/** One GET through the edge from `source`: the backend header, if any. */
function backendHeader(source: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    http
      .get(topology.url, { localAddress: source, agent: false }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve(res.headers['x-sticky-edge-backend'] as string | undefined),
        );
      })
      .on('error', reject);
  });
}

test('from the named addresses: every backend answers through the edge, sessions stick, the address is not judged', () => {
  expect(statuses(fromRevealed)).toEqual({
    reachable: 'pass',
    sticky: 'pass',
    spread: 'pass',
    backends: 'pass',
    'client-address': 'not-applicable',
    'forged-headers': 'pass',
  });
  expect(Object.keys(fromRevealed.sessionsPerBackend).sort()).toEqual([
    'app-a',
    'app-b',
    'app-c',
  ]);
});

test('from any other address: no answer names a backend, and the check says so', () => {
  const reachable = fromOthers.checks.find((c) => c.id === 'reachable')!;
  expect(reachable.status).toBe('fail');
  expect(reachable.diagnosis).toMatch(
    /^the edge answers but names no backend \(X-Sticky-Edge-Backend\): nginx reveals the backend only to the addresses its revealBackendTo lists/,
  );
  expect(fromOthers.ok).toBe(false);
});

test('the header carries a route id, never an address, and only for the named callers', async () => {
  const [named, other] = await Promise.all([
    backendHeader(revealed[0]),
    backendHeader(topology.clientAddress(200, 9)),
  ]);
  expect(topology.backendNames).toContain(named);
  expect(named).not.toMatch(/\d+\.\d+/);
  expect(other).toBeUndefined();
});
