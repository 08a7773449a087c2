import * as path from 'node:path';
import { bundleNodeScript } from '../backend/bundle';

/** The post-deploy Lambda's entry point, which wraps this verifier. */
export const VERIFY_LAMBDA_ENTRY = path.resolve(
  __dirname,
  '../../lambda/verify/index.ts',
);

/** The Lambda runtime DeployCheck runs the bundle on, as esbuild names it. */
export const VERIFY_LAMBDA_TARGET = 'node24';

/**
 * The post-deploy Lambda as DeployCheck deploys it: one minified CommonJS file for the Node.js 24 runtime,
 * with the AWS SDK v3 left to the runtime (which ships it; bundling it would only add megabytes).
 */
export function bundleVerifyLambda(): string {
  return bundleNodeScript(VERIFY_LAMBDA_ENTRY, {
    target: VERIFY_LAMBDA_TARGET,
    external: ['@aws-sdk/*'],
  });
}
