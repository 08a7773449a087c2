import { textTable } from '../../lib/os/text-table';

test('pads every column but the last to its widest cell, rules the header, and ends no line in spaces', () => {
  expect(
    textTable(
      ['name', 'share', 'note'],
      [
        ['app-a', '50%', 'ok'],
        ['app-bb', '5%', ''],
      ],
    ),
  ).toEqual([
    'name    share  note',
    '------  -----  ----',
    'app-a   50%    ok',
    'app-bb  5%',
  ]);
});

test('a table without rows is its header and rule', () => {
  expect(textTable(['check', 'status'], [])).toEqual([
    'check  status',
    '-----  ------',
  ]);
});
