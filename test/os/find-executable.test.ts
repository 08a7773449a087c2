import { UserError } from '../../lib/errors';
import { findExecutable } from '../../lib/os/find-executable';

test('finds a binary on PATH', () => {
  expect(findExecutable('sh', 'unused')).toMatch(/\/sh$/);
});

test('finds a binary in /usr/sbin even when PATH lacks it', () => {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    expect(findExecutable('nginx', 'unused')).toBe('/usr/sbin/nginx');
  } finally {
    process.env.PATH = saved;
  }
});

test('fails when the binary is missing: one line naming it and how to install it, exit status 1', () => {
  let error: unknown;
  try {
    findExecutable('sticky-edge-no-such-tool', 'run `npm run setup`');
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(UserError);
  expect((error as UserError).message).toBe(
    'sticky-edge-no-such-tool is not installed: run `npm run setup`',
  );
  expect((error as UserError).exitCode).toBe(1);
});
