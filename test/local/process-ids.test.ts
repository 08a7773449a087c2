/**
 * The pids the local topology exposes are its own processes (the overhead figure charges their CPU time to
 * the paths): nginx's master with its workers as children, the backend, the load-balancer stand-in.
 */
import { readFile } from 'node:fs/promises';
import { cpuSpentNs, sampleCpu } from '../../lib/local/cpu-time';
import { startTopology } from '../../lib/local/topology';
import type { Topology } from '../../lib/local/topology-contract';

jest.setTimeout(60_000);

const command = async (pid: number) =>
  (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();

let topology: Topology;
beforeAll(async () => {
  topology = await startTopology({
    lb: 'alb',
    sticky: 'cookie',
    nginxNodes: 1,
    backends: 1,
    nginxWorkers: 2,
    healthAgent: false,
  });
});
afterAll(() => topology?.stop());

test('names the nginx master, the backend and the stand-in by their pids', async () => {
  expect(await command(topology.nginxPids[0])).toBe('nginx');
  expect(await command(topology.backendPids[0])).toBe('node');
  expect(await command(topology.lbPid)).toBe('haproxy');
});

test('requests through the edge cost CPU time in each of them, the nginx workers counted under the master', async () => {
  const pids = [topology.nginxPids[0], topology.backendPids[0], topology.lbPid];
  const before = await Promise.all(pids.map((p) => sampleCpu([p])));
  for (let i = 0; i < 50; i++) {
    const answer = await fetch(topology.url);
    expect(answer.status).toBe(200);
    await answer.arrayBuffer();
  }
  const after = await Promise.all(pids.map((p) => sampleCpu([p])));
  // The master and its two workers (nginx runs one thread per process).
  expect(after[0].size).toBe(3);
  for (const [i, sample] of after.entries())
    expect(cpuSpentNs(before[i], sample)).toBeGreaterThan(0);
  // The master only supervises: the workers did the requests' work.
  const master = topology.nginxPids[0];
  expect(
    (after[0].get(master) ?? 0) - (before[0].get(master) ?? 0),
  ).toBeLessThan(cpuSpentNs(before[0], after[0]));
});
