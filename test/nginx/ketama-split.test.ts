import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import {
  ketamaRing,
  POINTS_PER_WEIGHT,
  tableCrc32,
} from '../../lib/nginx/ketama';
import { HASH_RING_WEIGHT } from '../../lib/nginx/render';
import { between, seededRandom } from '../seeded-random';

/**
 * What `HASH_RING_WEIGHT` buys, on the ring model that test/nginx/ketama.test.ts proves against real nginx:
 * over seeded random backend address sets of the shapes the app uses, every backend's share of the ring stays
 * near an even split with the weight, and not without it.
 *
 * The bound. A server holds P = 160 × weight points of a ring of M = N × P points. Taken as M uniform random
 * points, the arcs are exchangeable and a server's share, the sum of P of them, is Beta(P, M − P): mean 1/N,
 * relative standard deviation sqrt((N − 1) / (N × P)) (for weight 20: 1.25 % with two servers, 1.65 % with
 * eight). The test checks that CRC32's points behave so (the deviations' spread is that figure, within 10 %),
 * then bounds the largest deviation of a set at k of those deviations, with k chosen so that a fresh draw of
 * all the sets here would exceed it with a chance of about 2.5 %: two servers' deviations mirror each other
 * (one draw per set, 400 sets: k = 4, so 5.0 %, the benchmark's and issue 14's "within 10 % of ideal" with
 * room to spare); eight servers give eight draws per set (3,200: k = 4.47, so 7.4 %). At nginx's default
 * weight the same bounds are 0.9 and 1.1 deviations, which most sets exceed.
 */

type Shape = (next: () => number, count: number) => string[];

/** The local topology's backends: 127.R.0.20, .21, … in a random /16, on ports Linux hands out for port 0. */
const localTopology: Shape = (next, count) => {
  const second = between(next, 2, 254);
  const ports = new Set<number>();
  while (ports.size < count) ports.add(between(next, 32768, 60999));
  return [...ports].map((port, i) => `127.${second}.0.${20 + i}:${port}`);
};

/** App servers in a VPC on the default app port (AWS keeps .0-.3 and .255 of each subnet for itself). */
const vpc: Shape = (next, count) => {
  const addresses = new Set<string>();
  while (addresses.size < count)
    addresses.add(
      `10.0.${between(next, 0, 255)}.${between(next, 4, 254)}:3000`,
    );
  return [...addresses];
};

const SETS_PER_SHAPE = 200;
const SHAPES = { 'local topology': localTopology, vpc } as const;

/** Each server's relative deviation from an even split, `share × N − 1`, for every seeded set. */
function deviations(count: number, weight: number): number[][] {
  return Object.values(SHAPES).flatMap((shape, s) => {
    const next = seededRandom(100 * count + s);
    return Array.from({ length: SETS_PER_SHAPE }, () => {
      const ring = ketamaRing(
        shape(next, count).map((address) => ({ address, weight })),
      );
      return [...ring.shares().values()].map((share) => share * count - 1);
    });
  });
}

const worst = (set: readonly number[]) => Math.max(...set.map(Math.abs));
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const spread = (sets: readonly number[][]) => {
  const all = sets.flat();
  return Math.sqrt(all.reduce((sum, d) => sum + d * d, 0) / all.length);
};
/** Relative standard deviation of a server's share: sqrt((N − 1) / (N × P)). */
const expectedSpread = (count: number, weight: number) =>
  Math.sqrt((count - 1) / (count * POINTS_PER_WEIGHT * weight));
/** k deviations at the ring weight (see above). */
const K = { 2: 4, 8: 4.47 } as const;
const bound = (count: 2 | 8) =>
  K[count] * expectedSpread(count, HASH_RING_WEIGHT);

/** The deviations of every set, with and without the weight, computed once per backend count. */
const computed = new Map<
  number,
  { weighted: number[][]; unweighted: number[][] }
>();
function sets(count: 2 | 8) {
  if (!computed.has(count))
    computed.set(count, {
      weighted: deviations(count, HASH_RING_WEIGHT),
      unweighted: deviations(count, 1),
    });
  return computed.get(count)!;
}

describe.each([2, 8] as const)('%i backends', (count) => {
  test('the shares spread as the derivation says, with and without the weight', () => {
    const { weighted, unweighted } = sets(count);
    expect(weighted).toHaveLength(2 * SETS_PER_SHAPE);
    for (const [all, weight] of [
      [weighted, HASH_RING_WEIGHT],
      [unweighted, 1],
    ] as const) {
      const ratio = spread(all) / expectedSpread(count, weight);
      expect(ratio).toBeGreaterThan(0.9);
      expect(ratio).toBeLessThan(1.1);
    }
  });

  test(`with weight=${HASH_RING_WEIGHT} every backend of all ${2 * SETS_PER_SHAPE} sets is within the bound of even`, () => {
    expect(bound(count)).toBeCloseTo(count === 2 ? 0.05 : 0.074, 3);
    const outside = sets(count).weighted.filter(
      (set) => worst(set) > bound(count),
    );
    expect(outside).toEqual([]);
  });

  test("with nginx's default weight of 1, a quarter of the same sets or more are outside it", () => {
    const { unweighted } = sets(count);
    const outside = unweighted.filter((set) => worst(set) > bound(count));
    expect(outside.length).toBeGreaterThan(unweighted.length / 4);
  });
});

describe('README', () => {
  test('"An even split for `hash`" quotes the figures computed here', () => {
    const readme = readFileSync(
      path.resolve(__dirname, '../../README.md'),
      'utf8',
    );
    const start = readme.indexOf('**An even split for `hash`.**');
    expect(start).toBeGreaterThan(0);
    const paragraph = readme.slice(start, readme.indexOf('\n\n', start));
    const percent = (x: number) => (100 * x).toFixed(1);
    const quoted = [...paragraph.matchAll(/(\d+\.\d) %/g)].map((m) => m[1]);
    const figures = (all: number[][]) => [
      percent(median(all.map(worst))),
      percent(Math.max(...all.map(worst))),
    ];
    expect(quoted).toEqual([
      ...figures(sets(2).unweighted),
      ...figures(sets(8).unweighted),
      ...figures(sets(2).weighted),
      ...figures(sets(8).weighted),
    ]);
    const heaviest = 50 * (1 + Math.max(...sets(2).unweighted.map(worst)));
    expect(paragraph).toContain(
      `${Math.round(100 - heaviest)} % and ${Math.round(heaviest)} % of the users`,
    );
    expect(paragraph).toContain(`${2 * SETS_PER_SHAPE} seeded`);
    expect(paragraph).toContain('test/nginx/ketama.test.ts');
  });
});

test('the table CRC32 used on Node before 20.15 agrees with zlib, continuation included', () => {
  const random = seededRandom(7);
  for (let i = 0; i < 500; i++) {
    const a = Buffer.from(
      Array.from({ length: between(random, 0, 40) }, () =>
        between(random, 0, 255),
      ),
    );
    const b = Buffer.from(
      Array.from({ length: between(random, 1, 8) }, () =>
        between(random, 0, 255),
      ),
    );
    expect(tableCrc32(a)).toBe(crc32(a));
    expect(tableCrc32(b, tableCrc32(a))).toBe(crc32(b, crc32(a)));
  }
  expect(tableCrc32('123456789')).toBe(0xcbf43926);
});
