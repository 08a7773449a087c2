#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { EdgeSettings, parseSettings, SettingsError } from '../lib/settings';
import { addStickyEdge } from '../lib/stacks/sticky-edge-app';

/** The one place that reads context. A bad setting ends synth with one line naming it, not a stack trace. */
function readSettings(app: App): EdgeSettings {
  try {
    return parseSettings((key) => app.node.tryGetContext(key));
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    process.stderr.write(`sticky-edge: ${error.message}\n`);
    process.exit(1);
  }
}

const app = new App();
addStickyEdge(app, readSettings(app));
