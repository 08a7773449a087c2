#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { UserError } from '../lib/errors';
import { parseSettings } from '../lib/settings';
import { addStickyEdge } from '../lib/stacks/sticky-edge-app';

// The one place that reads context. A bad setting, alone or in combination, or a value the renderer refuses,
// ends synth with one line naming it rather than a stack trace.
const app = new App();
try {
  addStickyEdge(
    app,
    parseSettings((key) => app.node.tryGetContext(key)),
  );
} catch (error) {
  if (!(error instanceof UserError)) throw error;
  process.stderr.write(`sticky-edge: ${error.message}\n`);
  process.exit(1);
}
