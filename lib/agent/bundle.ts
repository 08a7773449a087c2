import * as path from 'node:path';
import { bundleNodeScript } from '../backend/bundle';

let cached: string | undefined;

/**
 * The health agent as one dependency-free script for `node`, inlined in the nginx nodes' user data (16 KB
 * limit, shared with nginx.conf), hence minified. Built once per process.
 */
export function bundleAgent(): string {
  cached ??= bundleNodeScript(path.join(__dirname, 'main.ts'));
  return cached;
}
