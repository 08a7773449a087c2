/**
 * The report's charts, drawn from a run's results with the hand-built SVG bar chart.
 */
import {
  MIX_LABELS,
  type BalanceRow,
  type OverheadResult,
  type RemapRow,
} from './results';
import { idealRemap, ratio, shares } from './statistics';
import { renderBarChart } from './svg-chart';

const asPercent = (x: number) =>
  `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)} %`;

/** Share of clients per backend, one group per strategy and client mix, against the equal share. */
export function balanceChart(rows: readonly BalanceRow[]): string {
  return renderBarChart({
    title: 'Share of 1,000 clients per backend',
    yLabel: 'share of clients',
    yMax: 1,
    format: asPercent,
    groups: rows.map((row) => ({
      label: `${row.strategy}\n${MIX_LABELS[row.mix]}`,
      bars: shares(row.counts).map((share, i) => ({
        series: row.backends[i],
        value: share,
      })),
      ideal: 1 / row.counts.length,
    })),
  });
}

/** Fraction of clients that changed backend, per strategy and change, against the least possible. */
export function remapChart(rows: readonly RemapRow[]): string {
  return renderBarChart({
    title: 'Clients whose backend changed when scaling',
    yLabel: 'fraction of clients',
    yMax: 1,
    format: asPercent,
    idealLabel: 'ideal (least possible)',
    groups: rows.map((row) => ({
      label: `${row.strategy}\n${row.from} → ${row.to}`,
      bars: [
        { series: 'moved', value: row.moved / row.clients },
        {
          series: 'moved between backends that stayed',
          value: row.movedNeedlessly / row.clients,
        },
      ],
      ideal: idealRemap(row.from, row.to),
    })),
  });
}

/** Throughput of each path as a multiple of going straight to the backend. */
export function overheadChart(overhead: OverheadResult): string {
  const direct = overhead.rows.find((r) => r.path === 'direct');
  return renderBarChart({
    title: 'Throughput relative to direct-to-backend',
    yLabel: '× direct throughput',
    format: (x) => `${x.toFixed(2)}×`,
    groups: overhead.rows.map((row) => ({
      label: row.path,
      bars: [
        {
          series: 'requests/s ÷ direct',
          value:
            ratio(row.requestsPerSecond, direct?.requestsPerSecond ?? 0) || 0,
        },
      ],
    })),
  });
}
