/**
 * Charts as Mermaid `xychart-beta` blocks inside the Markdown: GitHub draws them itself, so the report
 * needs no image files and no drawing code.
 */

export interface XyChart {
  readonly title: string;
  /** One label per category on the x axis. */
  readonly categories: readonly string[];
  readonly yLabel: string;
  /** The y axis runs from 0 to this. */
  readonly yMax: number;
  /** One bar per category. */
  readonly bars: readonly number[];
  /** A line across the categories (an ideal or a limit), one point per category. */
  readonly line?: readonly number[];
}

/**
 * A label as a Mermaid string: it is written between double quotes, which Mermaid cannot escape, so a
 * double quote becomes a single one; a line break would end the statement, so it becomes a space.
 */
export function mermaidLabel(text: string): string {
  return `"${text.replace(/"/g, "'").replace(/\s*[\r\n]+\s*/g, ' ')}"`;
}

/** A value Mermaid reads: a plain decimal, at most 3 places; a missing figure (NaN) is drawn as 0. */
function mermaidNumber(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 1000) / 1000) : '0';
}

/** The fenced ```mermaid block of one bar chart (with an optional line). */
export function mermaidXyChart(chart: XyChart): string {
  const n = chart.categories.length;
  if (n === 0) throw new Error(`chart "${chart.title}" has no categories`);
  for (const [name, series] of [
    ['bars', chart.bars],
    ['line', chart.line],
  ] as const)
    if (series && series.length !== n)
      throw new Error(
        `chart "${chart.title}" has ${n} categories but ${series.length} ${name} values`,
      );
  if (!(chart.yMax > 0))
    throw new Error(
      `chart "${chart.title}" needs a y axis above 0, got ${chart.yMax}`,
    );
  const list = (values: readonly number[]) =>
    `[${values.map(mermaidNumber).join(', ')}]`;
  return [
    '```mermaid',
    'xychart-beta',
    `  title ${mermaidLabel(chart.title)}`,
    `  x-axis [${chart.categories.map(mermaidLabel).join(', ')}]`,
    `  y-axis ${mermaidLabel(chart.yLabel)} 0 --> ${mermaidNumber(chart.yMax)}`,
    `  bar ${list(chart.bars)}`,
    ...(chart.line ? [`  line ${list(chart.line)}`] : []),
    '```',
  ].join('\n');
}

/** A y axis a little above the highest value, so the tallest bar does not touch the top. */
export function roomAbove(values: readonly number[], floor = 0): number {
  const top = Math.max(floor, ...values.filter(Number.isFinite));
  return top > 0 ? top * 1.1 : 1;
}
