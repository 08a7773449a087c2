/** The `sticky-edge local` report: one row per configuration, the seed's failure next to the fix. */
import type { ScenarioResult } from './demo';
import { textTable } from '../os/text-table';

const percent = (share: number | undefined) =>
  share === undefined ? '-' : `${Math.round(share * 100)}%`;

/** What is wrong with a run, in a few words; `ok` when nothing is. */
export function verdict(result: ScenarioResult): string {
  const s = result.summary;
  const problems: string[] = [];
  const busiest = Math.max(...s.share.values());
  if (busiest > 0.75)
    problems.push(`${percent(busiest)} of clients on one backend`);
  if (s.stayed < 1) problems.push('clients switch backends');
  if ((s.seen.get('load-balancer') ?? 0) > 0)
    problems.push("backend sees the LB's address");
  if ((s.forgedBelieved ?? 0) > 0) problems.push('forged XFF believed');
  if (s.failed > 0) problems.push(`${s.failed} failed requests`);
  return problems.length === 0 ? 'ok' : `FAIL: ${problems.join(', ')}`;
}

export function formatReport(results: readonly ScenarioResult[]): string {
  const backends = [...new Set(results.flatMap((r) => r.backendNames))];
  const header = [
    'configuration',
    'lb',
    'sticky',
    ...backends,
    'stayed',
    'both nodes',
    'saw client',
    'saw LB',
    'forged won',
    'failed',
    'verdict',
  ];
  const rows = results.map((r) => {
    const s = r.summary;
    return [
      r.label,
      r.lb,
      r.sticky,
      ...backends.map((b) => percent(s.share.get(b))),
      percent(s.stayed),
      percent(s.onSeveralNodes),
      percent(s.seen.get('client')),
      percent(s.seen.get('load-balancer')),
      percent(s.forgedBelieved),
      `${s.failed}/${s.requests}`,
      verdict(r),
    ];
  });
  const clients = results[0]?.summary.clients ?? 0;
  return [
    ...textTable(header, rows),
    '',
    `${clients} clients (one in ten behind one carrier NAT /24, one in ten forging X-Forwarded-For and X-Real-IP).`,
    `${backends.join(', ')}: share of clients per backend. stayed: clients answered by one backend every time.`,
    'both nodes: clients whose requests went through more than one nginx node (the load balancer round-robins).',
    "saw client / saw LB: answers where the backend saw the client's real address / the load balancer's.",
    'forged won: forging requests whose forged address the backend believed.',
  ].join('\n');
}
