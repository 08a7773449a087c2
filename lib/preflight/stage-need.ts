/**
 * What one stage needs from the region, read from the stage's own template: the app is synthesized in-process
 * for the given settings (offline, as `cdk synth` does), so the numbers never drift from what deploys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import type { EdgeSettings } from '../settings';
import { addStickyEdge } from '../stacks/sticky-edge-app';
import { quotaFootprint, QuotaFootprint, subnetZones } from './footprint';

export interface StageNeed {
  readonly stackName: string;
  readonly footprint: QuotaFootprint;
  /** The zones the stage's subnets use: literal names, or `GetAZs[i]` for the region's i-th zone. */
  readonly zones: readonly string[];
  /** The lowest CDK bootstrap stack version the synthesized assembly accepts. */
  readonly bootstrapVersion: number;
}

/**
 * Synthesizes the stage. `context` is the app's whole context (cdk.json's merged with `-c` flags); settings
 * errors raised while building the stack propagate as SettingsError.
 */
export function stageNeed(
  settings: EdgeSettings,
  context: Record<string, unknown>,
): StageNeed {
  const outdir = mkdtempSync(path.join(tmpdir(), 'sticky-edge-preflight-'));
  try {
    const app = new App({ outdir, context });
    const stack = addStickyEdge(app, settings);
    const assembly = app.synth();
    const artifact = assembly.getStackByName(stack.stackName);
    const versions = assembly.artifacts.map(
      (a) =>
        (a as { requiresBootstrapStackVersion?: number })
          .requiresBootstrapStackVersion ?? 0,
    );
    return {
      stackName: stack.stackName,
      footprint: quotaFootprint(artifact.template),
      zones: subnetZones(artifact.template),
      bootstrapVersion: Math.max(0, ...versions),
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
