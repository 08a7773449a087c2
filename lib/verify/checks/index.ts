/**
 * The verifier's checks, one file each, in the order the report prints them. The README's table of checks
 * is `checksTable()` (test/verify/checks/readme-table.test.ts keeps the two equal).
 */
import type { CheckResult } from '../report';
import { backends } from './backends';
import { clientAddress } from './client-address';
import { forgedHeaders } from './forged-headers';
import type { Check, Observations } from './observations';
import { reachable } from './reachable';
import { spread } from './spread';
import { sticky } from './sticky';

export type { Check, DirectBackend, Observations } from './observations';
export { countSessionsPerBackend } from './observations';

export const CHECKS: readonly Check[] = [
  reachable,
  sticky,
  spread,
  backends,
  clientAddress,
  forgedHeaders,
];

export function evaluate(observations: Observations): CheckResult[] {
  return CHECKS.map((check) => check(observations));
}

/** The README's table of checks: id, what it proves, the causes its diagnoses name. */
export function checksTable(): string {
  return [
    '| check | proves when it passes | diagnoses when it fails |',
    '| --- | --- | --- |',
    ...CHECKS.map(
      (c) => `| \`${c.id}\` | ${c.title} | ${c.diagnoses.join('; ')} |`,
    ),
  ].join('\n');
}
