/**
 * The report's charts, as Mermaid blocks drawn from a run's results.
 */
import { mermaidXyChart, roomAbove } from './mermaid';
import {
  MIX_LABELS,
  remapLabel,
  type BalanceRow,
  type OverheadResult,
  type RemapRow,
} from './results';
import { idealRemap, shares } from './statistics';

const percent = (x: number) => x * 100;

/** The busiest backend's share per strategy and client mix, against the equal share. */
export function balanceChart(rows: readonly BalanceRow[]): string {
  return mermaidXyChart({
    title: 'Busiest backend share of 1,000 clients (%); line: equal share',
    categories: rows.map((row) => `${row.strategy} ${MIX_LABELS[row.mix]}`),
    yLabel: 'share of clients (%)',
    yMax: 100,
    bars: rows.map((row) => percent(Math.max(...shares(row.counts)))),
    line: rows.map((row) => percent(1 / row.counts.length)),
  });
}

/** Fraction of clients that changed backend, per strategy and change, against the least possible. */
export function remapChart(rows: readonly RemapRow[]): string {
  return mermaidXyChart({
    title:
      'Clients whose backend changed when scaling (%); line: least possible',
    categories: rows.map((row) => `${remapLabel(row)} ${row.from} → ${row.to}`),
    yLabel: 'clients moved (%)',
    yMax: 100,
    bars: rows.map((row) => percent(row.moved / row.clients)),
    line: rows.map((row) => percent(idealRemap(row.from, row.to))),
  });
}

/** Median throughput of each path; the line is the load generator's ceiling. */
export function overheadChart(overhead: OverheadResult): string {
  const medians = overhead.rows.map((row) => row.requestsPerSecond.median);
  const ceiling = overhead.rows.find((row) => row.path === 'static-nginx');
  return mermaidXyChart({
    title: 'Requests/s per path, median of the rounds',
    categories: overhead.rows.map((row) => row.path),
    yLabel: 'requests/s',
    yMax: roomAbove(medians),
    bars: medians,
    line: ceiling
      ? overhead.rows.map(() => ceiling.requestsPerSecond.median)
      : undefined,
  });
}
