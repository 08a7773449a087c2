/** The `availabilityZones` setting preflight reads (comma-separated from -c, a list from cdk.json). */
import { parseSettings } from '../../lib/settings';

const parse = (value: unknown) =>
  parseSettings((key) => (key === 'availabilityZones' ? value : undefined))
    .availabilityZones;

test('is unset by default: the stack takes the region first two zones', () => {
  expect(parse(undefined)).toBeUndefined();
});

test('reads a comma-separated list and a cdk.json list', () => {
  expect(parse('us-east-1b,us-east-1c')).toEqual(['us-east-1b', 'us-east-1c']);
  expect(parse(['eu-west-1a', 'eu-west-1b', 'eu-west-1c'])).toEqual([
    'eu-west-1a',
    'eu-west-1b',
    'eu-west-1c',
  ]);
});

test.each([
  ['us-east-1a'],
  ['us-east-1a,us-east-1a'],
  ['us-east-1a,use1-az3'],
  ['us-east-1a,'],
  [42],
])('fails when availabilityZones is %j', (value) => {
  expect(() => parse(value)).toThrow(
    `availabilityZones must be two or more distinct availability zone names, comma-separated, such as us-east-1a,us-east-1b, got ${JSON.stringify(value)}`,
  );
});
