import { balanceChart, remapChart } from '../../lib/bench/charts';
import { escapeXml, renderBarChart, tidyMax } from '../../lib/bench/svg-chart';

/** Every tag closes in order and attributes are quoted: what an XML parser needs. */
function expectWellFormed(svg: string): void {
  const stack: string[] = [];
  for (const match of svg.matchAll(
    /<(\/?)([a-zA-Z]+)((?:\s+[a-zA-Z][a-zA-Z0-9:-]*="[^"<]*")*)\s*(\/?)>/g,
  )) {
    const [, closing, name, , selfClosing] = match;
    if (closing) expect(stack.pop()).toBe(name);
    else if (!selfClosing) stack.push(name);
  }
  expect(stack).toEqual([]);
  // Nothing that looks like a tag was skipped by the pattern above, and no bare ampersand is left.
  const tags = svg.match(/<[^>]*>/g) ?? [];
  expect(
    tags.every((t) =>
      /^<\/?[a-zA-Z]+((?:\s+[a-zA-Z][a-zA-Z0-9:-]*="[^"<]*")*)\s*\/?>$/.test(t),
    ),
  ).toBe(true);
  expect(svg).not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
}

describe('renderBarChart', () => {
  const chart = renderBarChart({
    title: 'Share <per> backend & strategy',
    yLabel: 'share',
    yMax: 1,
    format: (x) => `${(x * 100).toFixed(1)} %`,
    groups: [
      {
        label: 'ip_hash\ncarrier NAT',
        bars: [
          { series: 'app-a', value: 0.75 },
          { series: 'app-b', value: 0.25 },
        ],
        ideal: 0.5,
      },
      {
        label: 'cookie',
        bars: [
          { series: 'app-a', value: 0.5 },
          { series: 'app-b', value: 0.5 },
        ],
        ideal: 0.5,
      },
    ],
  });

  test('is well-formed SVG with the title escaped', () => {
    expectWellFormed(chart);
    expect(chart).toContain(
      '<title>Share &lt;per&gt; backend &amp; strategy</title>',
    );
  });

  test('writes each value on its bar, draws one bar per value and one ideal line per group', () => {
    expect(chart).toContain('>75.0 %</text>');
    expect(chart).toContain('>25.0 %</text>');
    expect(chart.match(/<rect [^>]*fill="#4e79a7"><title>/g)).toHaveLength(2);
    expect(chart.match(/stroke-dasharray="6 4"/g)).toHaveLength(3); // two groups and the legend
  });

  test('bar heights follow the values', () => {
    const heights = [
      ...chart.matchAll(
        /<rect [^>]*height="([\d.]+)" fill="#[0-9a-f]+"><title>/g,
      ),
    ].map((m) => Number(m[1]));
    expect(heights[0]).toBeCloseTo(3 * heights[1]);
    expect(heights[2]).toBeCloseTo(heights[3]);
  });

  test('splits group labels into lines and names every series in the legend', () => {
    expect(chart).toContain('>ip_hash</tspan>');
    expect(chart).toContain('>carrier NAT</tspan>');
    expect(chart).toMatch(/>app-b<\/text>/);
    expect(chart).toMatch(/>ideal<\/text>/);
  });
});

describe('the report charts', () => {
  test('the balance chart shows each backend share per strategy and mix', () => {
    const svg = balanceChart([
      {
        strategy: 'hash',
        mix: 'carrier-nat',
        clients: 1000,
        backends: ['app-a', 'app-b'],
        counts: [600, 400],
        failed: 0,
      },
    ]);
    expectWellFormed(svg);
    expect(svg).toContain('>60 %</text>');
    expect(svg).toContain('>40 %</text>');
    expect(svg).toContain('>carrier NAT</tspan>');
  });

  test('the remap chart shows moved fractions against the ideal', () => {
    const svg = remapChart([
      {
        strategy: 'ip_hash',
        from: 2,
        to: 3,
        clients: 1000,
        moved: 665,
        movedNeedlessly: 333,
        failed: 0,
      },
    ]);
    expectWellFormed(svg);
    expect(svg).toContain('>67 %</text>');
    expect(svg).toContain('>33 %</text>');
    expect(svg).toContain('>ideal (least possible)</text>');
  });
});

test('tidyMax rounds up to a readable axis end', () => {
  expect(tidyMax(0.87)).toBe(1);
  expect(tidyMax(1.3)).toBe(2);
  expect(tidyMax(2.2)).toBe(2.5);
  expect(tidyMax(7300)).toBe(10000);
  expect(tidyMax(0)).toBe(1);
});

test('escapeXml escapes the five XML specials', () => {
  expect(escapeXml(`<a href="x">'&'</a>`)).toBe(
    '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;',
  );
});
