/**
 * Fills the report's Markdown template: `{{name}}` is replaced by a value, and `{{#name}} … {{/name}}`
 * keeps its text only when `name` is set (a figure the run measured, a caveat that applies). Sections
 * may nest.
 */

export type TemplateValues = Readonly<
  Record<string, string | boolean | undefined>
>;

const SECTION = /\{\{#([\w-]+)\}\}([\s\S]*?)\{\{\/\1\}\}/g;
const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;

/** A value that keeps a section: a non-empty string or `true`. */
const isSet = (value: string | boolean | undefined) =>
  value === true || (typeof value === 'string' && value !== '');

/**
 * The filled template. A placeholder without a string value, or a section left
 * open, throws naming it: a report with a `{{…}}` left in it is a bug, not a result.
 */
export function fillTemplate(template: string, values: TemplateValues): string {
  // Sections may nest (a caveat inside a figure's section): each pass resolves the outermost ones.
  let text = template;
  for (let previous = ''; previous !== text;) {
    previous = text;
    text = text.replace(SECTION, (_, name: string, body: string) =>
      isSet(values[name]) ? body : '',
    );
  }
  // Inserted values are not scanned again: a value may hold `{{` (a table cell, say).
  text = text.replace(PLACEHOLDER, (whole, name: string) => {
    const value = values[name];
    if (name.startsWith('#') || name.startsWith('/'))
      throw new Error(`template section ${whole} is not closed or not opened`);
    if (typeof value !== 'string')
      throw new Error(`template placeholder ${whole} has no value`);
    return value;
  });
  // Sections dropped between paragraphs leave runs of blank lines.
  return text.replace(/\n{3,}/g, '\n\n').trim() + '\n';
}
