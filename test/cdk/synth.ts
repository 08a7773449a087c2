/** Test support for the CDK app: synthesizes the stack the way `cdk synth` does, once per settings mode. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EdgeSettings, parseSettings, SettingKey } from '../../lib/settings';
import { addStickyEdge } from '../../lib/stacks/sticky-edge-app';
import type { StickyEdgeStack } from '../../lib/stacks/sticky-edge-stack';

export const REPO_ROOT = path.resolve(__dirname, '../..');

/** cdk.json's context (the feature flags), so a test app synthesizes as `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8'))
    .context;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: StickyEdgeStack;
  readonly settings: EdgeSettings;
  /** Synthesizing runs cdk-nag: an unacknowledged finding throws here. */
  readonly template: Template;
}

/** Settings as `-c key=value` gives them: strings. */
export type ContextSettings = Partial<Record<SettingKey, string>>;

/** Builds the app as bin/app.ts does (cdk.json context overlaid with the settings) and synthesizes it. */
export function synthesize(settings: ContextSettings = {}): Synthesized {
  const app = new App({ context: { ...cdkJsonContext(), ...settings } });
  const parsed = parseSettings((key) => app.node.tryGetContext(key));
  const stack = addStickyEdge(app, parsed);
  return { app, stack, settings: parsed, template: Template.fromStack(stack) };
}

/** A CloudFormation string expression as text; each intrinsic inside is written as «{json}». */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join !== undefined) return join[1].map(flatten).join(join[0]);
  const base64 = (value as { 'Fn::Base64'?: unknown })['Fn::Base64'];
  if (base64 !== undefined) return flatten(base64);
  return `«${JSON.stringify(value)}»`;
}

/** The user data line that writes nginx.conf: base64, gunzip, and sed putting each token back; the data follows. */
const NGINX_CONF_WRITE =
  /^base64 -d <<'STICKY_EDGE_NGINX_CONF' \| gunzip((?: \| sed(?: -e '[^']*')+)?) > \/etc\/nginx\/nginx\.conf\n([A-Za-z0-9+/=\n]*?)\nSTICKY_EDGE_NGINX_CONF$/m;
const SED_SUBSTITUTION = / -e 's\|(@STICKY_EDGE_T\d+@)\|([^|']*)\|g'/g;

/**
 * The nginx.conf the nginx nodes' user data (text, as `flatten` writes it) writes, as the node does it: the
 * heredoc base64-decoded and gunzipped, then each placeholder replaced by the token text of its sed expression
 * (`«{…}»`, or whatever a test substituted for it). Throws when the user data writes no nginx.conf.
 */
export function writtenNginxConf(userData: string): string {
  const write = NGINX_CONF_WRITE.exec(userData);
  if (write === null) throw new Error('user data writes no nginx.conf');
  const conf = gunzipSync(
    Buffer.from(write[2].replaceAll('\n', ''), 'base64'),
  ).toString('utf8');
  return [...write[1].matchAll(SED_SUBSTITUTION)].reduce(
    (text, [, placeholder, value]) => text.replaceAll(placeholder, value),
    conf,
  );
}

/** How `flatten` writes `{ "Fn::GetAtt": [logicalId, attribute] }`. */
export function getAttText(logicalId: string, attribute: string): string {
  return flatten({ 'Fn::GetAtt': [logicalId, attribute] });
}

/** One resource's properties, by logical ID. */
export function propertiesOf(
  template: Template,
  logicalId: string,
): Record<string, any> {
  const resource = template.toJSON().Resources[logicalId];
  if (resource === undefined)
    throw new Error(`no resource ${logicalId} in the template`);
  return resource.Properties ?? {};
}

/** The logical ID a `{ Ref }` or `{ Fn::GetAtt }` points at. */
export function targetOf(reference: any): string {
  return reference.Ref ?? reference['Fn::GetAtt'][0];
}

export interface IngressRule {
  /** Logical ID of the security group the rule admits traffic into. */
  readonly group: string;
  readonly rule: Record<string, any>;
}

/** Every ingress rule of the template, inline in a security group or standalone. */
export function ingressRules(template: Template): IngressRule[] {
  const inline = Object.entries(
    template.findResources('AWS::EC2::SecurityGroup'),
  ).flatMap(([group, resource]) =>
    (
      (resource.Properties.SecurityGroupIngress ?? []) as Record<string, any>[]
    ).map((rule) => ({ group, rule })),
  );
  const standalone = Object.values(
    template.findResources('AWS::EC2::SecurityGroupIngress'),
  ).map((resource) => {
    const { GroupId, ...rule } = resource.Properties;
    return { group: targetOf(GroupId), rule };
  });
  return [...inline, ...standalone];
}

/** The logical ID of a construct's CloudFormation resource. */
export function logicalIdOf(
  stack: StickyEdgeStack,
  construct: { node: { defaultChild?: unknown } },
): string {
  return stack.resolve(
    (construct.node.defaultChild as { logicalId: string }).logicalId,
  );
}
