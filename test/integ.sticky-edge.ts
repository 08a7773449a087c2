/**
 * Integration test: deploys the whole edge (its post-deploy check included) to a sandbox account and
 * asserts over HTTP against the load balancer. Run live with integ-runner (an extra install, see the
 * README); `npm test` re-synthesizes it and compares with the committed snapshot offline
 * (test/verify/integ-snapshot.test.ts).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Duration } from 'aws-cdk-lib';
import { parseSettings } from '../lib/settings';
import { addStickyEdge } from '../lib/stacks/sticky-edge-app';

/** Documentation address (RFC 5737) the assertions forge: no real client has it. */
const FORGED = '203.0.113.9';

/** A public IPv4 address: not RFC 1918, CGNAT or link-local, which would be the NLB's, nginx's or a NAT's view. */
const PUBLIC_IPV4 =
  '^(?!10\\.|172\\.(1[6-9]|2\\d|3[01])\\.|192\\.168\\.|100\\.(6[4-9]|[7-9]\\d|1[01]\\d|12[0-7])\\.|169\\.254\\.)\\d{1,3}(\\.\\d{1,3}){3}$';

/** The integ app: cdk.json's feature flags (integ-runner runs the app from test/), stage `integ`, defaults otherwise. */
export function buildIntegApp(outdir?: string): App {
  const context = JSON.parse(
    readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8'),
  ).context;
  const app = new App({ outdir, context: { ...context, stage: 'integ' } });
  const stack = addStickyEdge(
    app,
    parseSettings((key) => app.node.tryGetContext(key)),
  );
  const integ = new IntegTest(app, 'StickyEdgeInteg', {
    testCases: [stack],
    // The app servers' user data embeds the backend bundle; its hash changes with every backend edit.
    diffAssets: false,
    cdkCommandOptions: { destroy: { args: { force: true } } },
  });
  const served = {
    backend: Match.stringLikeRegexp('^app-[ab]$'),
    clientIp: Match.stringLikeRegexp(PUBLIC_IPV4),
    headers: Match.objectLike({
      'x-real-ip': Match.stringLikeRegexp(PUBLIC_IPV4),
      'x-forwarded-proto': 'http',
    }),
    session: Match.objectLike({ hits: 1 }),
  };
  integ.assertions
    .httpApiCall(`${stack.url}/`, { headers: { accept: 'application/json' } })
    .expect(ExpectedResult.objectLike({ status: 200, body: served }))
    .waitForAssertions({
      totalTimeout: Duration.minutes(5),
      interval: Duration.seconds(15),
    });
  // A forged X-Forwarded-For / X-Real-IP must change neither the reported address nor the first XFF entry.
  integ.assertions
    .httpApiCall(`${stack.url}/`, {
      headers: {
        accept: 'application/json',
        'x-forwarded-for': FORGED,
        'x-real-ip': FORGED,
      },
    })
    .expect(
      ExpectedResult.objectLike({
        status: 200,
        body: {
          ...served,
          clientIp: Match.stringLikeRegexp(
            `^(?!${FORGED.replace(/\./g, '\\.')}$)${PUBLIC_IPV4.slice(1)}`,
          ),
          headers: Match.objectLike({
            'x-forwarded-for': Match.stringLikeRegexp(
              `^(?!${FORGED.replace(/\./g, '\\.')})`,
            ),
          }),
        },
      }),
    )
    .waitForAssertions({
      totalTimeout: Duration.minutes(5),
      interval: Duration.seconds(15),
    });
  integ.assertions
    .httpApiCall(`${stack.url}/healthz`)
    .expect(ExpectedResult.objectLike({ status: 200 }))
    .waitForAssertions({
      totalTimeout: Duration.minutes(5),
      interval: Duration.seconds(15),
    });
  return app;
}

if (require.main === module) buildIntegApp().synth();
