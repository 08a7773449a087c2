import { inPool, mapInPool } from '../../lib/verify/pool';

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('mapInPool: results in the order of the items, never more than the limit at work at once', async () => {
  let running = 0;
  let most = 0;
  const results = await mapInPool([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
    running++;
    most = Math.max(most, running);
    for (let i = 0; i < n; i++) await tick();
    running--;
    return n * 10;
  });
  expect(results).toEqual([50, 10, 40, 20, 30, 0, 60]);
  expect(most).toBe(3);
});

test('inPool: every item once; no items, no work', async () => {
  const seen: number[] = [];
  await inPool([1, 2, 3], 8, async (n) => void seen.push(n));
  expect(seen.sort()).toEqual([1, 2, 3]);
  await expect(mapInPool([], 4, async () => 1)).resolves.toEqual([]);
});

test('a failing item rejects the whole run', async () => {
  await expect(
    mapInPool([1, 2], 2, async (n) => {
      if (n === 2) throw new Error('item 2 failed');
      return n;
    }),
  ).rejects.toThrow('item 2 failed');
});
