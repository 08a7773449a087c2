/** What preflight counts comes from the stage's own template, synthesized offline for the given settings. */
import { quotaFootprint, subnetZones } from '../../lib/preflight/footprint';
import { stageNeed } from '../../lib/preflight/stage-need';
import { parseSettings, SettingsError } from '../../lib/settings';
import { cdkJsonContext, synthesize } from '../cdk/synth';

jest.setTimeout(180_000);

test('synthesizes the stage and counts its template as the template test does', () => {
  const context: Record<string, unknown> = {
    ...cdkJsonContext(),
    stage: 'alice',
  };
  const need = stageNeed(
    parseSettings((key) => context[key]),
    context,
  );
  const template = synthesize({ stage: 'alice' }).template.toJSON();
  expect(need.stackName).toBe('alice-StickyEdge');
  expect(need.footprint).toEqual(quotaFootprint(template));
  expect(need.zones).toEqual(subnetZones(template));
  expect(need.zones.length).toBeGreaterThanOrEqual(2);
  // Modern synthesis's CheckBootstrapVersion rule rejects versions 1-5.
  expect(need.bootstrapVersion).toBe(6);
});

test('fails with a SettingsError when the stack refuses the settings (one pinned image, two architectures)', () => {
  const context: Record<string, unknown> = {
    ...cdkJsonContext(),
    amiId: 'ami-0123456789abcdef0',
    appInstanceType: 't4g.micro',
  };
  expect(() =>
    stageNeed(
      parseSettings((key) => context[key]),
      context,
    ),
  ).toThrow(SettingsError);
});
