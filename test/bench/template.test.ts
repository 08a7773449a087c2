import { fillTemplate } from '../../lib/bench/template';

describe('fillTemplate', () => {
  test('replaces every placeholder with its value, as often as it occurs', () => {
    expect(fillTemplate('{{a}} and {{b}}, {{a}}', { a: 'x', b: 'y' })).toBe(
      'x and y, x\n',
    );
  });

  test('keeps a section when its switch is set and drops it, with its blank lines, when not', () => {
    const template =
      'top\n\n{{#on}}\nkept {{v}}\n{{/on}}\n\n{{#off}}\ngone\n{{/off}}\n\nend';
    expect(fillTemplate(template, { on: true, off: false, v: '1' })).toBe(
      'top\n\nkept 1\n\nend\n',
    );
    expect(fillTemplate(template, { on: 'yes', v: '1' })).toContain('kept 1');
    expect(fillTemplate(template, { on: '', v: '1' })).toBe('top\n\nend\n');
  });

  test('resolves sections inside sections', () => {
    const template = '{{#outer}}A{{#inner}}B{{/inner}}C{{/outer}}';
    expect(fillTemplate(template, { outer: true, inner: true })).toBe('ABC\n');
    expect(fillTemplate(template, { outer: true })).toBe('AC\n');
    expect(fillTemplate(template, { inner: true })).toBe('\n');
  });

  test('does not read placeholders inside inserted values', () => {
    expect(fillTemplate('{{a}}', { a: '{{b}}' })).toBe('{{b}}\n');
  });

  test('fails when a placeholder has no value, naming it', () => {
    expect(() => fillTemplate('x {{missing}} y', {})).toThrow(
      'template placeholder {{missing}} has no value',
    );
    expect(() => fillTemplate('{{flag}}', { flag: true })).toThrow(
      'template placeholder {{flag}} has no value',
    );
  });

  test('fails when a section is opened and never closed', () => {
    expect(() => fillTemplate('{{#open}} text', { open: true })).toThrow(
      'template section {{#open}} is not closed or not opened',
    );
  });
});
