import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { EdgeSettings } from '../settings';
import { StickyEdgeStack } from './sticky-edge-stack';

/**
 * Adds the stage's stack to the app and runs cdk-nag's AwsSolutions pack over the whole app. The stack's ID
 * (and so its name) carries the stage: names CDK derives from construct paths, such as the app instances'
 * launch templates, must differ between stages living side by side in one account.
 */
export function addStickyEdge(
  app: App,
  settings: EdgeSettings,
): StickyEdgeStack {
  const stack = new StickyEdgeStack(app, `${settings.stage}-StickyEdge`, {
    description: `sticky-edge (${settings.stage}): nginx sticky sessions behind an ${settings.lb.toUpperCase()} and NAT`,
    settings,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
