import {
  balanceChart,
  overheadChart,
  remapChart,
} from '../../lib/bench/charts';
import {
  mermaidLabel,
  mermaidXyChart,
  roomAbove,
} from '../../lib/bench/mermaid';
import type { OverheadResult } from '../../lib/bench/results';

/** The statements of a chart block, without the fence. */
const statements = (block: string) => {
  const lines = block.split('\n');
  expect(lines[0]).toBe('```mermaid');
  expect(lines[lines.length - 1]).toBe('```');
  return lines.slice(1, -1);
};

/** The numbers of a `bar [..]` or `line [..]` statement. */
const series = (block: string, kind: 'bar' | 'line') => {
  const line = statements(block).find((l) => l.startsWith(`  ${kind} [`));
  return line === undefined
    ? undefined
    : line
        .slice(line.indexOf('[') + 1, -1)
        .split(', ')
        .map(Number);
};

describe('mermaidXyChart', () => {
  const block = mermaidXyChart({
    title: 'Requests/s',
    categories: ['direct', 'nginx-cookie'],
    yLabel: 'requests/s',
    yMax: 1234.56789,
    bars: [1000.12345, 900],
    line: [1100, 1100],
  });

  test('writes a fenced xychart-beta block: title, axes, bars and line in that order', () => {
    expect(statements(block)).toEqual([
      'xychart-beta',
      '  title "Requests/s"',
      '  x-axis ["direct", "nginx-cookie"]',
      '  y-axis "requests/s" 0 --> 1234.568',
      '  bar [1000.123, 900]',
      '  line [1100, 1100]',
    ]);
  });

  test('leaves the line out when there is none, and draws a missing figure as 0', () => {
    const noLine = mermaidXyChart({
      title: 't',
      categories: ['a', 'b'],
      yLabel: 'y',
      yMax: 1,
      bars: [NaN, 0.5],
    });
    expect(series(noLine, 'line')).toBeUndefined();
    expect(series(noLine, 'bar')).toEqual([0, 0.5]);
  });

  test('escapes labels: a double quote cannot end the string, a line break cannot end the statement', () => {
    expect(mermaidLabel('say "hi"')).toBe(`"say 'hi'"`);
    expect(mermaidLabel('two\n lines')).toBe('"two lines"');
    const chart = mermaidXyChart({
      title: 'a "quoted"\ntitle',
      categories: ['x"y'],
      yLabel: 'y',
      yMax: 1,
      bars: [1],
    });
    expect(statements(chart)).toContain(`  title "a 'quoted' title"`);
    expect(statements(chart)).toContain(`  x-axis ["x'y"]`);
  });

  test.each([
    [{ categories: [], bars: [] }, 'chart "t" has no categories'],
    [
      { categories: ['a', 'b'], bars: [1] },
      'chart "t" has 2 categories but 1 bars values',
    ],
    [
      { categories: ['a'], bars: [1], line: [1, 2] },
      'chart "t" has 1 categories but 2 line values',
    ],
    [
      { categories: ['a'], bars: [1], yMax: 0 },
      'chart "t" needs a y axis above 0, got 0',
    ],
  ])('fails when given %j', (overrides, message) => {
    expect(() =>
      mermaidXyChart({ title: 't', yLabel: 'y', yMax: 1, ...overrides }),
    ).toThrow(message);
  });

  test('roomAbove leaves a tenth above the tallest bar and never returns 0', () => {
    expect(roomAbove([10, 20, NaN])).toBeCloseTo(22);
    expect(roomAbove([])).toBe(1);
  });
});

describe('the report charts', () => {
  const spread = (x: number) => ({ median: x, min: x, max: x });
  const row = (path: 'static-nginx' | 'direct', rps: number) => ({
    path,
    requestsPerSecond: spread(rps),
    p50Ms: spread(1),
    p99Ms: spread(2),
    requests: 1,
    failed: 0,
  });
  const overhead: OverheadResult = {
    generator: 'wrk',
    threads: 1,
    connections: 32,
    durationSeconds: 2,
    rounds: 3,
    warmUpSeconds: 1,
    pinning: '',
    loadAverage: spread(1),
    nginxLogs: false,
    rows: [row('static-nginx', 30000), row('direct', 20000)],
    paired: {
      paths: [],
      rounds: 0,
      durationSeconds: 1,
      ratios: [],
      cpuRatios: [],
    },
  };

  test('overhead: one bar per path at its median, the ceiling as the line', () => {
    const chart = overheadChart(overhead);
    expect(chart).toContain('  x-axis ["static-nginx", "direct"]');
    expect(series(chart, 'bar')).toEqual([30000, 20000]);
    expect(series(chart, 'line')).toEqual([30000, 30000]);
  });

  test('balance: the busiest backend per row against the equal share, in percent', () => {
    const chart = balanceChart([
      {
        strategy: 'hash',
        mix: 'carrier-nat',
        clients: 1000,
        backends: ['a', 'b'],
        counts: [300, 700],
        failed: 0,
      },
    ]);
    expect(chart).toContain('  x-axis ["hash carrier NAT"]');
    expect(series(chart, 'bar')).toEqual([70]);
    expect(series(chart, 'line')).toEqual([50]);
  });

  test('remap: the share that moved against the least possible, in percent', () => {
    const chart = remapChart([
      {
        strategy: 'ip_hash',
        from: 2,
        to: 3,
        clients: 1000,
        moved: 672,
        movedNeedlessly: 329,
        failed: 0,
      },
    ]);
    expect(chart).toContain('  x-axis ["ip_hash 2 → 3"]');
    expect(series(chart, 'bar')).toEqual([67.2]);
    expect(series(chart, 'line')).toEqual([33.333]);
  });
});
