/** The preflight report as a table: one row per check, with what to do when it fails. */
import type { PreflightReport } from './run';
import { textTable } from '../os/text-table';

export function formatReport(report: PreflightReport): string {
  const header = ['check', 'status', 'detail', 'what to do'];
  const rows = report.results.map((r) => [
    r.check,
    r.status,
    r.detail,
    r.action,
  ]);
  const failed = report.results.filter((r) => r.status === 'FAIL').length;
  return [
    `preflight stage ${report.stage} in ${report.region}${report.account === undefined ? '' : `, account ${report.account}`}`,
    '',
    ...textTable(header, rows),
    '',
    failed === 0
      ? 'result: PASS (a deploy would pass these checks)'
      : `result: FAIL (${failed} ${failed === 1 ? 'check' : 'checks'} failed)`,
  ].join('\n');
}
