/** The `drain` setting: app server names from `-c drain=a,b` or a cdk.json list, each once. */
import { parseSettings, SettingKey, SettingsError } from '../lib/settings';

const from = (values: Partial<Record<SettingKey, unknown>>) =>
  parseSettings((key) => values[key]);

test('drains nothing by default', () => {
  expect(from({}).drain).toEqual([]);
});

test.each<[unknown, string[]]>([
  ['app-b', ['app-b']],
  ['app-b,app-c', ['app-b', 'app-c']],
  [' app-b , app-c ', ['app-b', 'app-c']],
  [['app-a'], ['app-a']],
  ['198.51.100.7:8080', ['198.51.100.7:8080']],
  ['[2001:db8::7]:8080', ['[2001:db8::7]:8080']],
])('reads drain=%j', (value, names) => {
  expect(from({ drain: value }).drain).toEqual(names);
});

test.each<[string, unknown]>([
  ['it is empty', ''],
  ['a name is empty', 'app-b,'],
  ['a name has capitals', 'App-B'],
  ['a name has a space inside', 'app b'],
  ['a name is repeated', 'app-b,app-b'],
  ['a name is not text', [7]],
  ['it is a number', 3],
])('fails when %s', (_name, value) => {
  const attempt = () => from({ drain: value });
  expect(attempt).toThrow(SettingsError);
  expect(attempt).toThrow(
    `drain must be app server names (or HOST:PORT), comma-separated, each once, such as app-b or app-b,app-c, got ${JSON.stringify(value)}`,
  );
});
