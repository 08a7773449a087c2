/**
 * A grouped bar chart drawn as plain SVG text, so the charts need no dependency and diff well in git.
 * Each group may carry an ideal value, drawn as a dashed line across the group's bars.
 */

export interface Bar {
  /** The series (legend entry) the bar belongs to, e.g. a backend's name. */
  readonly series: string;
  readonly value: number;
}

export interface BarGroup {
  /** Shown under the group; `\n` starts a new line. */
  readonly label: string;
  readonly bars: readonly Bar[];
  readonly ideal?: number;
}

export interface BarChart {
  readonly title: string;
  readonly yLabel: string;
  readonly groups: readonly BarGroup[];
  /** How a value is written on its bar and on the axis. */
  readonly format: (value: number) => string;
  /** @default - the largest value or ideal, rounded up to a tidy number */
  readonly yMax?: number;
  /** What the dashed line stands for in the legend. @default 'ideal' */
  readonly idealLabel?: string;
}

const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#76b7b2',
  '#b07aa1',
  '#9c755f',
  '#edc948',
];
const BAR_WIDTH = 34;
const BAR_GAP = 4;
const GROUP_GAP = 36;
const PLOT_HEIGHT = 220;
const LEFT = 70;
const TOP = 56;
const LABEL_LINE = 14;
const TICKS = 5;

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Rounds up to 1, 2, 2.5 or 5 times a power of ten, so the axis ticks are readable. */
export function tidyMax(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * magnitude >= value) ?? 10;
  return step * magnitude;
}

export function renderBarChart(chart: BarChart): string {
  const series = [
    ...new Set(chart.groups.flatMap((g) => g.bars.map((b) => b.series))),
  ];
  const colour = (name: string) =>
    PALETTE[series.indexOf(name) % PALETTE.length];
  const largest = Math.max(
    0,
    ...chart.groups.flatMap((g) => [
      ...g.bars.map((b) => b.value),
      g.ideal ?? 0,
    ]),
  );
  const yMax = chart.yMax ?? tidyMax(largest);
  const y = (value: number) =>
    TOP + PLOT_HEIGHT - (Math.min(value, yMax) / yMax) * PLOT_HEIGHT;
  const groupWidth = (g: BarGroup) =>
    g.bars.length * (BAR_WIDTH + BAR_GAP) - BAR_GAP;
  const labelLines = Math.max(
    1,
    ...chart.groups.map((g) => g.label.split('\n').length),
  );
  const plotWidth = chart.groups.reduce(
    (w, g) => w + groupWidth(g) + GROUP_GAP,
    GROUP_GAP,
  );
  const legendTop = TOP + PLOT_HEIGHT + 16 + labelLines * LABEL_LINE + 12;
  const width = LEFT + Math.max(plotWidth, 420) + 20;
  const height = legendTop + 24;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="24" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
    `<text transform="translate(16 ${TOP + PLOT_HEIGHT / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`,
    ...axis(yMax, y, LEFT, LEFT + plotWidth, chart.format),
  ];
  let x = LEFT + GROUP_GAP;
  for (const group of chart.groups) {
    parts.push(...drawGroup(group, x, y, colour, chart.format));
    x += groupWidth(group) + GROUP_GAP;
  }
  parts.push(
    ...legend(
      series,
      colour,
      legendTop,
      chart.idealLabel ?? 'ideal',
      chart.groups.some((g) => g.ideal !== undefined),
    ),
  );
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function axis(
  yMax: number,
  y: (v: number) => number,
  left: number,
  right: number,
  format: (v: number) => string,
): string[] {
  const lines: string[] = [];
  for (let i = 0; i <= TICKS; i++) {
    const value = (yMax * i) / TICKS;
    const at = y(value).toFixed(1);
    lines.push(
      `<line x1="${left}" y1="${at}" x2="${right}" y2="${at}" stroke="${i === 0 ? '#333333' : '#dddddd'}"/>`,
    );
    lines.push(
      `<text x="${left - 6}" y="${at}" dy="4" text-anchor="end" fill="#555555">${escapeXml(format(value))}</text>`,
    );
  }
  return lines;
}

function drawGroup(
  group: BarGroup,
  left: number,
  y: (v: number) => number,
  colour: (s: string) => string,
  format: (v: number) => string,
): string[] {
  const parts: string[] = [];
  const base = y(0);
  group.bars.forEach((bar, i) => {
    const x = left + i * (BAR_WIDTH + BAR_GAP);
    const top = y(bar.value);
    parts.push(
      `<rect x="${x}" y="${top.toFixed(1)}" width="${BAR_WIDTH}" height="${(base - top).toFixed(1)}" fill="${colour(bar.series)}"><title>${escapeXml(`${bar.series}: ${format(bar.value)}`)}</title></rect>`,
      `<text x="${x + BAR_WIDTH / 2}" y="${(top - 4).toFixed(1)}" text-anchor="middle" font-size="10">${escapeXml(format(bar.value))}</text>`,
    );
  });
  const width = group.bars.length * (BAR_WIDTH + BAR_GAP) - BAR_GAP;
  if (group.ideal !== undefined) {
    const at = y(group.ideal).toFixed(1);
    parts.push(
      `<line x1="${left - 6}" y1="${at}" x2="${left + width + 6}" y2="${at}" stroke="#222222" stroke-width="2" stroke-dasharray="6 4"/>`,
    );
  }
  const lines = group.label.split('\n');
  const tspans = lines
    .map(
      (line, i) =>
        `<tspan x="${left + width / 2}" dy="${i === 0 ? 0 : LABEL_LINE}">${escapeXml(line)}</tspan>`,
    )
    .join('');
  parts.push(
    `<text x="${left + width / 2}" y="${base + 16}" text-anchor="middle">${tspans}</text>`,
  );
  return parts;
}

function legend(
  series: readonly string[],
  colour: (s: string) => string,
  top: number,
  idealLabel: string,
  withIdeal: boolean,
): string[] {
  const parts: string[] = [];
  let x = LEFT;
  for (const name of series) {
    parts.push(
      `<rect x="${x}" y="${top - 10}" width="12" height="12" fill="${colour(name)}"/>`,
      `<text x="${x + 16}" y="${top}">${escapeXml(name)}</text>`,
    );
    x += 24 + name.length * 7;
  }
  if (withIdeal) {
    parts.push(
      `<line x1="${x}" y1="${top - 4}" x2="${x + 24}" y2="${top - 4}" stroke="#222222" stroke-width="2" stroke-dasharray="6 4"/>`,
      `<text x="${x + 30}" y="${top}">${escapeXml(idealLabel)}</text>`,
    );
  }
  return parts;
}
