/**
 * The README's table of checks is `checksTable()`: the ids, titles and diagnoses the check files declare. A
 * check added, removed or reworded without the README fails here.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CHECKS, checksTable } from '../../../lib/verify/checks/index';

const readme = readFileSync(path.join(__dirname, '../../../README.md'), 'utf8');

test('the README lists exactly the exported checks, in report order, as checksTable() renders them', () => {
  const start = readme.indexOf('| check | proves when it passes |');
  expect(start).toBeGreaterThan(0);
  const table = readme
    .slice(start)
    .split('\n')
    .filter((line, i, lines) =>
      lines.slice(0, i + 1).every((l) => l.startsWith('|')),
    )
    .join('\n');
  // To refresh: npx tsx -e "import {checksTable} from './lib/verify/checks/index'; console.log(checksTable())"
  expect(table).toBe(checksTable());
  const rows = [...table.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
  expect(rows).toEqual(CHECKS.map((c) => c.id));
});

test('every check declares a title and at least one diagnosis', () => {
  for (const check of CHECKS) {
    expect(check.title).not.toBe('');
    expect(check.diagnoses.length).toBeGreaterThan(0);
  }
});
