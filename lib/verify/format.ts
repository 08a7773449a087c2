/** Text renderings of a report: the CLI's readable report and the one-line summary a failed deploy shows. */
import type { CheckStatus, VerifyReport } from './report';

const LABELS: Record<CheckStatus, string> = {
  pass: 'PASS',
  fail: 'FAIL',
  'not-applicable': 'N/A ',
};

export function formatReport(report: VerifyReport): string {
  const seconds = (report.durationMs / 1000).toFixed(1);
  const lines = [
    `verify ${report.url}: ${report.sessions} sessions, ${report.requests} requests in ${seconds} s, routing by ${report.routing}`,
    '',
  ];
  for (const check of report.checks) {
    lines.push(`  ${LABELS[check.status]}  ${check.title}`);
    for (const line of check.evidence) lines.push(`        ${line}`);
    if (check.diagnosis) lines.push(`        diagnosis: ${check.diagnosis}`);
  }
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  lines.push(
    '',
    report.ok
      ? 'result: PASS'
      : `result: FAIL (${failed} check${failed === 1 ? '' : 's'} failed)`,
  );
  return lines.join('\n');
}

/** Every failed check's diagnosis on one line, e.g. for the error that fails a deployment. */
export function failureSummary(report: VerifyReport): string {
  return report.checks
    .filter((c) => c.status === 'fail')
    .map((c) => `${c.id}: ${c.diagnosis}`)
    .join('; ');
}
