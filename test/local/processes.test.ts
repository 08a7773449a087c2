import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  childPids,
  listeningOrStopped,
  spawnManaged,
} from '../../lib/local/processes';

test('listeningOrStopped: a process that never listens is stopped, and the error names it', async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  const sleeper = spawnManaged('sleeper', 'sleep', ['30']);
  await expect(
    listeningOrStopped(sleeper, '127.0.0.1', port, 300),
  ).rejects.toThrow(`sleeper did not listen on 127.0.0.1:${port} in 300 ms`);
  await sleeper.exited;
  expect(
    sleeper.child.exitCode !== null || sleeper.child.signalCode !== null,
  ).toBe(true);
});

test('childPids: the processes a process started, none for a process that is gone', async () => {
  const shell = spawnManaged('shell', 'sh', [
    '-c',
    'sleep 30 & sleep 30 & wait',
  ]);
  let children: number[] = [];
  for (let i = 0; i < 50 && children.length < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    children = await childPids(shell.child.pid as number);
  }
  expect(children).toHaveLength(2);
  for (const pid of children) process.kill(pid, 'SIGKILL');
  await shell.stop();
  expect(await childPids(shell.child.pid as number)).toEqual([]);
});
