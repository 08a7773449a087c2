#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { parseSettings, SettingsError } from '../lib/settings';
import { addStickyEdge } from '../lib/stacks/sticky-edge-app';

// The one place that reads context. A bad setting, alone or in combination, ends synth with one line naming
// it rather than a stack trace.
const app = new App();
try {
  addStickyEdge(
    app,
    parseSettings((key) => app.node.tryGetContext(key)),
  );
} catch (error) {
  if (!(error instanceof SettingsError)) throw error;
  process.stderr.write(`sticky-edge: ${error.message}\n`);
  process.exit(1);
}
