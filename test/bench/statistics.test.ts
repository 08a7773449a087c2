import {
  binomialHalfCdf,
  countPerBackend,
  countRemap,
  idealRemap,
  median,
  medianInterval,
  pairedRatios,
  percentile,
  perfectHashMissChance,
  ratio,
  repinnedAtMs,
  shares,
  spread,
  worstDeviationFromIdeal,
} from '../../lib/bench/statistics';

describe('percentile', () => {
  test('uses the nearest rank on unsorted values', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 90)).toBe(9);
    expect(percentile(values, 99)).toBe(10);
    expect(percentile(values, 0)).toBe(1);
  });

  test('p99 of 1..1000 is 990 and keeps fractions', () => {
    expect(
      percentile(
        Array.from({ length: 1000 }, (_, i) => i + 1),
        99,
      ),
    ).toBe(990);
    expect(percentile([0.25, 0.75], 50)).toBe(0.25);
  });

  test('is NaN without values', () => {
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('shares', () => {
  test('counts every backend, including one nobody reached', () => {
    expect(countPerBackend(['a', 'b', 'a', 'a'], ['a', 'b', 'c'])).toEqual([
      3, 1, 0,
    ]);
  });

  test('are fractions of the total', () => {
    expect(shares([3, 1, 0])).toEqual([0.75, 0.25, 0]);
    expect(shares([0, 0])).toEqual([0, 0]);
  });

  test('the worst deviation is relative to the equal share', () => {
    expect(worstDeviationFromIdeal([0.55, 0.45])).toBeCloseTo(0.1);
    expect(worstDeviationFromIdeal([0.5, 0.5])).toBe(0);
    expect(worstDeviationFromIdeal([1, 0])).toBe(1);
  });
});

describe('remap', () => {
  test('scaling in: leaving the removed backend is needed, moving between the others is not', () => {
    const before = ['a', 'b', 'c', 'c', 'a'];
    const after = ['a', 'a', 'a', 'b', 'b'];
    expect(countRemap(before, after, ['a', 'b', 'c'], ['a', 'b'])).toEqual({
      clients: 5,
      moved: 4,
      movedNeedlessly: 2,
    });
  });

  test('scaling out: moving onto the new backend is rebalancing, moving between the old ones is not', () => {
    const before = ['a', 'b', 'a', 'b'];
    const after = ['c', 'a', 'a', 'c'];
    expect(countRemap(before, after, ['a', 'b'], ['a', 'b', 'c'])).toEqual({
      clients: 4,
      moved: 3,
      movedNeedlessly: 1,
    });
  });

  test('rejects answers that do not pair up', () => {
    expect(() => countRemap(['a'], [], ['a'], ['a'])).toThrow(
      'one answer per client',
    );
  });

  test('the ideal is 1/(n+1) both ways', () => {
    expect(idealRemap(2, 3)).toBeCloseTo(1 / 3);
    expect(idealRemap(3, 2)).toBeCloseTo(1 / 3);
    expect(idealRemap(4, 5)).toBeCloseTo(1 / 5);
  });

  test('a ratio without a base is NaN', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(3, 0)).toBeNaN();
  });
});

describe('repinnedAtMs', () => {
  test('is the start of the final unbroken run on one live backend', () => {
    const events = [
      { atMs: 5, backend: 'a' },
      { atMs: 10, backend: undefined },
      { atMs: 20, backend: 'b' },
      { atMs: 30, backend: 'c' },
      { atMs: 40, backend: 'c' },
    ];
    expect(repinnedAtMs(events, 'a')).toBe(30);
  });

  test('is undefined while the session still fails or still lands on the dead backend', () => {
    expect(
      repinnedAtMs(
        [
          { atMs: 5, backend: 'b' },
          { atMs: 9, backend: undefined },
        ],
        'a',
      ),
    ).toBeUndefined();
    expect(repinnedAtMs([{ atMs: 5, backend: 'a' }], 'a')).toBeUndefined();
    expect(repinnedAtMs([], 'a')).toBeUndefined();
  });
});

describe('median and spread', () => {
  test('the middle value of an odd count, the mean of the middle two of an even one', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  test('spread is median, least and greatest', () => {
    expect(spread([5, 9, 7, 6])).toEqual({ median: 6.5, min: 5, max: 9 });
    expect(spread([])).toEqual({ median: NaN, min: NaN, max: NaN });
  });
});

describe('binomialHalfCdf', () => {
  test.each([
    [0, 1, 0.5],
    [0, 9, 1 / 512],
    [1, 9, 10 / 512],
    [2, 9, 46 / 512],
    [4, 8, 163 / 256],
    [9, 9, 1],
  ])('P(Bin(n, ½) ≤ %d) for n = %d is %f', (k, n, p) => {
    expect(binomialHalfCdf(k, n)).toBeCloseTo(p, 12);
  });
});

describe('medianInterval', () => {
  test('9 rounds: the 2nd least and 2nd greatest, with 96.1 % coverage', () => {
    const values = [1.04, 0.9, 0.97, 1.2, 0.99, 1.01, 0.95, 1.0, 0.5];
    expect(medianInterval(values)).toEqual({
      median: 0.99,
      low: 0.9,
      high: 1.04,
      confidence: 1 - (2 * 10) / 512,
    });
  });

  test('widens to keep the coverage: 8 rounds need the least and greatest (99.2 %)', () => {
    const r = medianInterval([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([r.low, r.high, r.median]).toEqual([1, 8, 4.5]);
    expect(r.confidence).toBeCloseTo(1 - 2 / 256, 12);
  });

  test('narrows as rounds are added: 15 rounds, the 4th from each end (96.5 %)', () => {
    const r = medianInterval(Array.from({ length: 15 }, (_, i) => 15 - i));
    expect([r.low, r.high, r.median]).toEqual([4, 12, 8]);
    expect(r.confidence).toBeGreaterThanOrEqual(0.95);
    expect(r.confidence).toBeCloseTo(1 - 2 * binomialHalfCdf(3, 15), 12);
  });

  test('says when too few rounds reach the wanted coverage (5 rounds: 93.75 %)', () => {
    const r = medianInterval([3, 1, 2, 5, 4]);
    expect([r.low, r.high, r.median]).toEqual([1, 5, 3]);
    expect(r.confidence).toBeCloseTo(0.9375, 12);
  });

  test('NaN for no values', () => {
    expect(medianInterval([])).toEqual({
      median: NaN,
      low: NaN,
      high: NaN,
      confidence: NaN,
    });
  });
});

describe('pairedRatios', () => {
  test('divides round by round, so a slow round on both sides cancels', () => {
    // Round 2 ran while the machine was busy: both paths slowed, their ratio did not.
    expect(pairedRatios([9500, 4750, 9400], [10000, 5000, 10000])).toEqual([
      0.95, 0.95, 0.94,
    ]);
  });

  test('fails when the rounds do not pair up', () => {
    expect(() => pairedRatios([1, 2], [1])).toThrow(
      'paired ratios need one base per round, got 2 values and 1 bases',
    );
  });
});

describe('perfectHashMissChance', () => {
  test('is the two tails of Binomial(keys, ½) beyond the bound', () => {
    // 64 keys, 10 %: a share below 28.8 of 64 or above 35.2, i.e. ≤ 28 or ≥ 36.
    expect(perfectHashMissChance(64, 0.1)).toBeCloseTo(
      2 * binomialHalfCdf(28, 64),
      12,
    );
    expect(perfectHashMissChance(64, 0.1)).toBeGreaterThan(0.35);
    expect(perfectHashMissChance(64, 0.1)).toBeLessThan(0.4);
  });

  test('a count exactly on the bound is within it', () => {
    // 20 keys, 10 %: 9 and 11 of 20 are exactly 10 % off, which the bound allows; 8 and 12 miss it.
    expect(perfectHashMissChance(20, 0.1)).toBeCloseTo(
      2 * binomialHalfCdf(8, 20),
      12,
    );
  });

  test('is small for many keys and zero for a tolerance of 100 %', () => {
    expect(perfectHashMissChance(1000, 0.1)).toBeLessThan(0.01);
    expect(perfectHashMissChance(64, 1)).toBe(0);
  });

  test('agrees with a simulation of a perfect hash', () => {
    let state = 12345;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
    const runs = 20_000;
    let misses = 0;
    for (let r = 0; r < runs; r++) {
      let a = 0;
      for (let k = 0; k < 64; k++) if (random() < 0.5) a++;
      if (Math.abs(a / 64 - 0.5) / 0.5 > 0.1) misses++;
    }
    expect(misses / runs).toBeCloseTo(perfectHashMissChance(64, 0.1), 1);
  });
});
