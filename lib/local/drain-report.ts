/** The `sticky-edge local --drain` report: one row per strategy, what the drain did during the roll and after it. */
import type { DrainPhase, DrainResult } from './drain';
import { textTable } from '../os/text-table';

/** What is wrong with a drain run, in a few words; `ok` when nothing is. */
export function drainVerdict(r: DrainResult): string {
  const problems: string[] = [];
  if (r.after.newOnDrained > 0)
    problems.push(
      `${r.after.newOnDrained} new sessions reached the drained backend`,
    );
  if (r.sticky === 'cookie' && r.after.pinnedMoved > 0)
    problems.push(`${r.after.pinnedMoved} pinned sessions moved`);
  const others = r.after.othersMoved + (r.midRoll?.othersMoved ?? 0);
  if (others > 0) problems.push(`${others} clients of other backends moved`);
  const failed = r.failedBefore + r.after.failed + (r.midRoll?.failed ?? 0);
  if (failed > 0) problems.push(`${failed} failed requests`);
  return problems.length === 0 ? 'ok' : `FAIL: ${problems.join(', ')}`;
}

const ofNew = (p: DrainPhase | undefined) =>
  p === undefined ? '-' : `${p.newOnDrained}/${p.newClients}`;

export function formatDrainReport(results: readonly DrainResult[]): string {
  const header = [
    'sticky',
    'on drained',
    'roll: new on drained',
    'roll: pinned moved',
    'after: new on drained',
    'after: pinned moved',
    'others moved',
    'failed',
    'verdict',
  ];
  const rows = results.map((r) => {
    const requests =
      r.requestsBefore + (r.midRoll?.requests ?? 0) + r.after.requests;
    const failed = r.failedBefore + r.after.failed + (r.midRoll?.failed ?? 0);
    return [
      r.sticky,
      `${r.pinnedOnDrained}/${r.pinned}`,
      ofNew(r.midRoll),
      r.midRoll === undefined
        ? '-'
        : `${r.midRoll.pinnedMoved}/${r.pinnedOnDrained}`,
      ofNew(r.after),
      `${r.after.pinnedMoved}/${r.pinnedOnDrained}`,
      String(r.after.othersMoved + (r.midRoll?.othersMoved ?? 0)),
      `${failed}/${requests}`,
      drainVerdict(r),
    ];
  });
  const drained = results[0]?.drained.join(', ') ?? '';
  return [
    ...textTable(header, rows),
    '',
    `Drained: ${drained}. on drained: clients whose session was on it before the drain.`,
    'roll: while the first nginx node runs the drained config and the second the old one (a deploy rolls them one at a time);',
    'after: once both do. new on drained: new clients any of whose answers came from the drained backend.',
    'pinned moved: clients of the drained backend that another backend answered (cookie: stay; ip_hash, hash: move at once).',
    'others moved: clients of another backend that changed backend (always 0). failed: failed requests, before, during and after the roll.',
  ].join('\n');
}
