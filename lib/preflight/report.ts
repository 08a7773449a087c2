/** The preflight report as a table: one row per check, with what to do when it fails. */
import type { PreflightReport } from './run';

export function formatReport(report: PreflightReport): string {
  const header = ['check', 'status', 'detail', 'what to do'];
  const rows = report.results.map((r) => [
    r.check,
    r.status,
    r.detail,
    r.action,
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i].length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i === cells.length - 1 ? cell : cell.padEnd(widths[i]),
      )
      .join('  ')
      .trimEnd();
  const failed = report.results.filter((r) => r.status === 'FAIL').length;
  return [
    `preflight stage ${report.stage} in ${report.region}${report.account === undefined ? '' : `, account ${report.account}`}`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    failed === 0
      ? 'result: PASS (a deploy would pass these checks)'
      : `result: FAIL (${failed} ${failed === 1 ? 'check' : 'checks'} failed)`,
  ].join('\n');
}
