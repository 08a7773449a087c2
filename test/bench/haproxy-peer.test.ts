import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  PEER_THREADS,
  renderPeerConfig,
  startPeer,
} from '../../lib/bench/haproxy-peer';
import { freePort } from '../../lib/local/addresses';
import { findHaproxy } from '../../lib/local/binaries';
import { sampleCpu } from '../../lib/local/cpu-time';

// `haproxy -c` binds nothing, but the addresses are still random so they can never meet a real listener.
const octet = () => 2 + Math.floor(Math.random() * 250);
const net = `127.${octet()}.${octet()}`;
const port = () => 20000 + Math.floor(Math.random() * 30000);
const backends = [`${net}.2:${port()}`, `${net}.3:${port()}`];
const config = renderPeerConfig({ listen: `${net}.1:${port()}`, backends });

test('the peer pins with an inserted cookie and redispatches away from a dead server', () => {
  expect(config).toContain('cookie SRV insert indirect nocache');
  expect(config).toContain('option redispatch');
  expect(config).toContain(`nbthread ${availableParallelism()}\n`);
  expect(config).toContain(`server app0 ${backends[0]} cookie app0\n`);
  expect(config).toContain(`server app1 ${backends[1]} cookie app1\n`);
});

test('the instructions figure runs the peer on the threads it asks for', () => {
  const oneThread = renderPeerConfig({
    listen: `${net}.1:1`,
    backends,
    threads: 1,
  });
  expect(oneThread).toContain('  nbthread 1\n');
  expect(
    oneThread.replace('nbthread 1', `nbthread ${availableParallelism()}`),
  ).toBe(renderPeerConfig({ listen: `${net}.1:1`, backends }));
});

test('the peer logs nothing by default, and every request into a ring when nginx logs too', () => {
  expect(config).not.toMatch(/\blog\b/);
  const logging = renderPeerConfig({
    listen: `${net}.1:1`,
    backends,
    log: true,
  });
  expect(logging).toContain('ring requests\n');
  expect(logging).toContain('  log ring@requests local0\n  option httplog\n');
});

test.each([false, true])(
  'HAProxy accepts the peer config with log=%s (haproxy -c)',
  async (log) => {
    const config = renderPeerConfig({
      listen: `${net}.1:${port()}`,
      backends,
      log,
    });
    const dir = await mkdtemp(path.join(tmpdir(), 'sticky-edge-peer-test-'));
    try {
      const file = path.join(dir, 'haproxy.cfg');
      await writeFile(file, config);
      const result = await new Promise<{ code: number; output: string }>(
        (resolve) =>
          execFile(findHaproxy(), ['-c', '-f', file], (err, stdout, stderr) =>
            resolve({
              code: err ? Number(err.code) : 0,
              output: stdout + stderr,
            }),
          ),
      );
      expect(result).toEqual({
        code: 0,
        output: expect.stringContaining('Configuration file is valid'),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test("the running peer's pid is HAProxy's, with one thread per core (the overhead figure reads their CPU time)", async () => {
  const host = '127.0.0.1';
  const peer = await startPeer({
    listen: `${host}:${await freePort(host)}`,
    backends,
  });
  try {
    expect((await readFile(`/proc/${peer.pid}/comm`, 'utf8')).trim()).toBe(
      'haproxy',
    );
    expect((await sampleCpu([peer.pid])).size).toBe(PEER_THREADS);
  } finally {
    await peer.stop();
  }
});
