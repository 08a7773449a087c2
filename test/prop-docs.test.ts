/**
 * Every prop of every construct and stack interface carries a doc comment, and every optional one says what
 * happens when it is left out (`@default …`), as the aws-cdk design guidelines ask of construct libraries.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const FILES = ['lib/constructs', 'lib/stacks'].flatMap((dir) =>
  readdirSync(path.join(ROOT, dir))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `${dir}/${f}`),
);

interface Prop {
  readonly where: string;
  readonly optional: boolean;
  /** The doc comment right above the prop, or undefined. */
  readonly doc?: string;
}

/** The props of each `export interface … {` block in `source`, with the doc comment above each. */
function propsOf(file: string, source: string): Prop[] {
  const lines = source.split('\n');
  const props: Prop[] = [];
  let inside: string | undefined;
  lines.forEach((line, i) => {
    const head = /^export interface (\w+)\b.*\{$/.exec(line);
    if (head) inside = head[1];
    else if (inside && line === '}') inside = undefined;
    const member = inside && /^ {2}readonly (\w+)(\??):/.exec(line);
    if (!member) return;
    let doc: string | undefined;
    if (lines[i - 1]?.trim().endsWith('*/')) {
      let start = i - 1;
      while (start > 0 && !lines[start].trim().startsWith('/**')) start--;
      doc = lines.slice(start, i).join('\n');
    }
    props.push({
      where: `${file}:${i + 1} ${inside}.${member[1]}`,
      optional: member[2] === '?',
      doc,
    });
  });
  return props;
}

const PROPS = FILES.flatMap((file) =>
  propsOf(file, readFileSync(path.join(ROOT, file), 'utf8')),
);

test('finds the construct and stack props', () => {
  expect(PROPS.length).toBeGreaterThan(20);
  expect(PROPS.map((p) => p.where)).toContainEqual(
    expect.stringMatching(/NginxTierProps\.renderOptions$/),
  );
});

test('every prop has a doc comment', () => {
  expect(PROPS.filter((p) => p.doc === undefined).map((p) => p.where)).toEqual(
    [],
  );
});

test('every optional prop documents its default', () => {
  expect(
    PROPS.filter((p) => p.optional && !/@default\b/.test(p.doc ?? '')).map(
      (p) => p.where,
    ),
  ).toEqual([]);
});

test('the reader finds a missing doc and a missing default', () => {
  const props = propsOf(
    'x.ts',
    [
      'export interface XProps {',
      '  /** Documented. */',
      '  readonly a: string;',
      '  readonly b: string;',
      '  /** No default. */',
      '  readonly c?: string;',
      '}',
    ].join('\n'),
  );
  expect(props).toEqual([
    { where: 'x.ts:3 XProps.a', optional: false, doc: '  /** Documented. */' },
    { where: 'x.ts:4 XProps.b', optional: false, doc: undefined },
    { where: 'x.ts:6 XProps.c', optional: true, doc: '  /** No default. */' },
  ]);
});
