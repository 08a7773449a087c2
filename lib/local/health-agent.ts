/**
 * The health agent beside a local nginx node: the same bundled script the instances run as a systemd service,
 * as its own process, pointed at the node's nginx.conf and prefix.
 */
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { bundleAgent } from '../agent/bundle';
import { findNginx } from '../nginx/nginx-binary';
import { ManagedProcess, spawnManaged } from './processes';

/** Writes the agent bundle into `dir` (once per topology) and returns its path. */
export async function writeAgentBundle(dir: string): Promise<string> {
  const file = path.join(dir, 'health-agent.js');
  await writeFile(file, bundleAgent());
  return file;
}

export async function startHealthAgent(
  bundle: string,
  nodeDir: string,
  confFile: string,
  signal?: AbortSignal,
): Promise<ManagedProcess> {
  const args = [
    bundle,
    '--conf',
    confFile,
    '--prefix',
    nodeDir,
    '--nginx',
    findNginx(),
  ];
  const agent = spawnManaged(
    `health agent ${path.basename(nodeDir)}`,
    process.execPath,
    args,
    signal,
  );
  try {
    await agent.waitForLine(/^sticky-edge-health: watching /, 15_000);
  } catch (err) {
    await agent.stop();
    throw err;
  }
  return agent;
}
