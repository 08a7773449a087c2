import { downSet, observe, UNPROBED } from '../../lib/agent/health';

const t = { fall: 3, rise: 2 };
const run = (results: boolean[]) =>
  results.reduce((h, ok) => observe(h, ok, t), UNPROBED);

test('a backend is up until `fall` probes in a row fail', () => {
  expect(run([false, false]).up).toBe(true);
  expect(run([false, false, true, false, false]).up).toBe(true);
  expect(run([false, false, false]).up).toBe(false);
});

test('a down backend is up again after `rise` good probes in a row', () => {
  expect(run([false, false, false, true]).up).toBe(false);
  expect(run([false, false, false, true, false, true]).up).toBe(false);
  expect(run([false, false, false, true, true]).up).toBe(true);
});

test('marks down what is down, but never every backend', () => {
  const down = { up: false, streak: 0 };
  const health = new Map([
    ['a', down],
    ['b', UNPROBED],
  ]);
  expect(downSet(['a', 'b'], health)).toEqual(new Set(['a']));
  expect(downSet(['a', 'b', 'c'], health)).toEqual(new Set(['a']));
  health.set('b', down);
  expect(downSet(['a', 'b'], health)).toEqual(new Set());
});
