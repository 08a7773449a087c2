/**
 * What AWS APIs check when CloudFormation creates the resources, beyond the CloudFormation resource schema
 * (which `cdk synth` and cfn-lint already know). A template that breaks one of these synthesizes fine and
 * fails mid-deploy, then rolls back. Pure: give it a synthesized template and the stack's name.
 *
 * Tokens (Ref, Fn::GetAtt, Fn::Sub, Fn::Select ...) are resolved to a worst case: a run of `0` as long as the
 * longest value the token can take (an IPv4 address 15, a DNS name 253, an ARN 2048 ...; see `tokenLength`).
 * `0` is allowed by every character set checked here, so a token never hides a length overflow and never
 * invents a character error; the characters a token can bring (AWS-generated IDs and addresses) are AWS's own.
 */

import { isIP } from 'node:net';

export type Template = {
  Description?: string;
  Parameters?: Record<string, { Type: string }>;
  Resources: Record<
    string,
    { Type: string; Properties?: any; DependsOn?: string | string[] }
  >;
  Outputs?: Record<string, { Description?: string }>;
};

/** One broken constraint: where (logical ID and property path), the value as resolved, and the rule. */
export interface Violation {
  readonly where: string;
  readonly value: string;
  readonly rule: string;
}

// EC2 API Reference, CreateSecurityGroup (GroupDescription, GroupName) and IpRange / Ipv6Range /
// UserIdGroupPair / PrefixListId (rule Description): "Up to 255 characters in length. Valid characters:
// a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"
const EC2_SG_TEXT = /^[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]{0,255}$/;
const EC2_SG_TEXT_RULE =
  'at most 255 of a-z A-Z 0-9 space ._-:/()#,@[]+=&;{}!$* (EC2 CreateSecurityGroup, IpRange)';

// Tagging AWS Resources user guide, "Tag naming limits and requirements": key 1-128 characters, value 0-256,
// letters, numbers and spaces representable in UTF-8 and _ . : / = + - @; keys must not start with aws:.
// EC2 alone allows more characters; this is the set every service accepts, since tags propagate.
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

// Elastic Load Balancing API Reference, CreateLoadBalancer and CreateTargetGroup, Name: "a maximum of 32
// characters, must contain only alphanumeric characters or hyphens, must not begin or end with a hyphen",
// and a load balancer's "must not begin with internal-".
const ELB_NAME = /^(?!-)(?!internal-)[a-zA-Z0-9-]{1,32}(?<!-)$/;

// EC2 API Reference, CreateLaunchTemplate, LaunchTemplateName: length 3-128, pattern [a-zA-Z0-9\(\)\.\-/_]+
const LAUNCH_TEMPLATE_NAME = /^[a-zA-Z0-9().\-/_]{3,128}$/;

// CloudWatch Logs API Reference, CreateLogGroup, logGroupName: length 1-512, pattern [\.\-_/#A-Za-z0-9]+
const LOG_GROUP_NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/;
// CloudWatch Logs API Reference, PutRetentionPolicy, retentionInDays: "Possible values are: ..."
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
  2192, 2557, 2922, 3288, 3653,
];

// CloudWatch Logs API Reference, PutMetricFilter: filterName 1-512 matching [^:*]*; filterPattern 0-1024;
// metricTransformations exactly 1 item; MetricTransformation metricName and metricNamespace at most 255 matching
// [^:*$]*, metricValue at most 100, dimensions "as many as three".
const METRIC_FILTER_NAME = /^[^:*]{1,512}$/;
const METRIC_FILTER_PATTERN_CHARS = 1024;
const METRIC_NAME = /^[^:*$]{1,255}$/;
const METRIC_VALUE_CHARS = 100;
const METRIC_FILTER_MAX_DIMENSIONS = 3;
// CloudWatch API Reference, PutDashboard: DashboardName "maximum length is 255, and valid characters are A-Z,
// a-z, 0-9, "-", and "_"". CloudWatch service quotas: 500 widgets per dashboard, 500 metrics per widget.
const DASHBOARD_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const DASHBOARD_MAX_WIDGETS = 500;
const DASHBOARD_MAX_METRICS_PER_WIDGET = 500;
// CloudWatch API Reference, PutMetricAlarm: AlarmName 1-255, AlarmDescription 0-1024, at most 10 Metrics
// (metric data queries) in a metric-math alarm.
const ALARM_DESCRIPTION_CHARS = 1024;
const ALARM_MAX_METRIC_QUERIES = 10;

// CloudFormation API Reference, CreateStack, StackName: "can contain only alphanumeric characters (case
// sensitive) and hyphens. It must start with an alphabetic character and can't be longer than 128 characters."
const STACK_NAME = /^[a-zA-Z][-a-zA-Z0-9]{0,127}$/;

// IAM API Reference, CreateRole: Path pattern (\u002F)|(\u002F[\u0021-\u007E]+\u002F), 1-512;
// Description up to 1000 of [\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]; RoleName 1-64 of [\w+=,.@-];
// PutRolePolicy / CreatePolicy PolicyName 1-128 of [\w+=,.@-].
const IAM_PATH = /^(\/|\/[\u0021-\u007E]{1,510}\/)$/;
// Tab, line feed and carriage return are allowed in an IAM description: the API's own pattern names them.
const IAM_DESCRIPTION =
  // oxlint-disable-next-line no-control-regex
  /^[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]{0,1000}$/;
const IAM_ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const IAM_POLICY_NAME = /^[\w+=,.@-]{1,128}$/;
// IAM and AWS STS quotas: "Role policy size cannot exceed 10,240 characters" (all inline policies of one role
// together; IAM does not count white space).
const IAM_ROLE_INLINE_POLICY_CHARS = 10_240;

// Lambda API Reference, CreateFunction: Description 0-256; FunctionName (a name) 1-64 of [a-zA-Z0-9-_];
// Lambda quotas: "Function environment variables: 4 KB, for all environment variables associated with the
// function, in aggregate"; Timeout at most 900 seconds; MemorySize 128-10,240 MB.
const LAMBDA_ENVIRONMENT_BYTES = 4096;

// EC2 User Guide, "Work with instance user data": "User data is limited to 16 KB, in raw form, before it is
// base64-encoded". The API references (RunInstances, RequestLaunchTemplateData) say only "16 KB"; an AWS
// engineer put the same limit as "16 KB (or 21847 bytes when base64 encoded)" (aws/aws-sdk-java #408), and EC2's
// error reads "User data is limited to 16384 bytes" for launch templates too. So the decoded worst case counts.
const USER_DATA_RAW_BYTES = 16 * 1024;

// AWS CloudFormation User Guide, "Template anatomy": the template Description and each output's Description
// are literal strings "between 0 and 1024 bytes in length". CloudFormation quotas: 500 resources, 200 outputs,
// 200 parameters, 1 MB template body (uploaded to S3, as the CDK CLI does for large templates).
const CFN_DESCRIPTION_BYTES = 1024;
const CFN_MAX_RESOURCES = 500;
const CFN_MAX_OUTPUTS = 200;
const CFN_MAX_PARAMETERS = 200;
const CFN_MAX_TEMPLATE_BYTES = 1_000_000;

/** The longest value of a `Ref`/`Fn::GetAtt` target, per resource type or attribute. */
const REF_LENGTH: Record<string, number> = {
  'AWS::EC2::EIP': 15, // Ref of an EIP is its public IPv4 address: 255.255.255.255
  'AWS::EC2::SecurityGroup': 20, // sg- and 17 hex digits
  'AWS::EC2::VPC': 21,
  'AWS::EC2::Subnet': 24,
  'AWS::EC2::Instance': 19,
  'AWS::EC2::LaunchTemplate': 20,
  'AWS::EC2::NatGateway': 21,
  'AWS::Lambda::Function': 64, // the function name
  'AWS::IAM::Role': 64,
  'AWS::IAM::InstanceProfile': 128,
  'AWS::Logs::LogGroup': 512,
  'AWS::AutoScaling::AutoScalingGroup': 255,
};
const GETATT_LENGTH: Record<string, number> = {
  PublicIp: 15,
  PrivateIp: 15,
  AllocationId: 26, // eipalloc- and 17 hex digits
  DNSName: 253, // a DNS name
  GroupId: 20,
  Arn: 2048,
};
const PSEUDO_LENGTH: Record<string, number> = {
  'AWS::StackName': 128,
  'AWS::StackId': 2048,
  'AWS::Region': 20, // the longest today is 14 (ap-southeast-5)
  'AWS::AccountId': 12,
  'AWS::Partition': 20, // aws-iso-b is 9
  'AWS::URLSuffix': 32, // amazonaws.com.cn is 16
  'AWS::NoValue': 0,
};
/** What any other token is taken to resolve to at most. */
const UNKNOWN_TOKEN_LENGTH = 2048;
/** An Availability Zone name (us-west-2-lax-1a is 16). */
const ZONE_NAME_LENGTH = 32;

/** Resolves a CloudFormation value to its worst-case text (see the file's comment). */
export function worstCase(value: unknown, template: Template): string {
  const pad = (n: number) => '0'.repeat(n);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (Array.isArray(value))
    return value.map((v) => worstCase(v, template)).join(',');
  const v = value as Record<string, any>;
  // CloudFormation pseudo parameters: AWS::StackId is arn:<partition>:cloudformation:<region>:<account>:stack/
  // <stack name>/<UUID>, so its parts keep their own bounds when a template splits it.
  if (v.Ref === 'AWS::StackId')
    return `arn:${pad(PSEUDO_LENGTH['AWS::Partition'])}:cloudformation:${pad(PSEUDO_LENGTH['AWS::Region'])}:${pad(12)}:stack/${pad(PSEUDO_LENGTH['AWS::StackName'])}/${pad(36)}`;
  if ('Ref' in v) return pad(refLength(v.Ref, template));
  if ('Fn::GetAtt' in v) {
    const [, attribute] = v['Fn::GetAtt'] as [string, string];
    return pad(GETATT_LENGTH[attribute] ?? UNKNOWN_TOKEN_LENGTH);
  }
  if ('Fn::Join' in v) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown];
    return Array.isArray(parts)
      ? parts.map((p) => worstCase(p, template)).join(separator)
      : pad(UNKNOWN_TOKEN_LENGTH);
  }
  if ('Fn::Base64' in v) return worstCase(v['Fn::Base64'], template);
  if ('Fn::Sub' in v) {
    const [text, variables = {}] = (
      typeof v['Fn::Sub'] === 'string' ? [v['Fn::Sub']] : v['Fn::Sub']
    ) as [string, Record<string, unknown>?];
    return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) =>
      name in variables
        ? worstCase(variables[name], template)
        : name.includes('.')
          ? pad(GETATT_LENGTH[name.split('.')[1]] ?? UNKNOWN_TOKEN_LENGTH)
          : pad(refLength(name, template)),
    );
  }
  if ('Fn::Select' in v) {
    const [index, list] = v['Fn::Select'] as [number, unknown];
    if (Array.isArray(list)) return worstCase(list[Number(index)], template);
    if ((list as Record<string, unknown>)?.['Fn::GetAZs'] !== undefined)
      return pad(ZONE_NAME_LENGTH);
    const split = (list as Record<string, unknown>)?.['Fn::Split'];
    if (Array.isArray(split)) {
      const [separator, source] = split as [string, unknown];
      return (
        worstCase(source, template).split(separator)[Number(index)] ??
        pad(UNKNOWN_TOKEN_LENGTH)
      );
    }
    return pad(UNKNOWN_TOKEN_LENGTH);
  }
  if ('Fn::If' in v) {
    const [, a, b] = v['Fn::If'] as [string, unknown, unknown];
    const [ta, tb] = [worstCase(a, template), worstCase(b, template)];
    return ta.length >= tb.length ? ta : tb;
  }
  return pad(UNKNOWN_TOKEN_LENGTH);
}

function refLength(name: string, template: Template): number {
  if (name in PSEUDO_LENGTH) return PSEUDO_LENGTH[name];
  const parameter = template.Parameters?.[name];
  if (parameter !== undefined)
    return parameter.Type.includes('AWS::EC2::Image::Id')
      ? 21 // ami- and 17 hex digits
      : UNKNOWN_TOKEN_LENGTH;
  const type = template.Resources[name]?.Type;
  return (
    (type === undefined ? undefined : REF_LENGTH[type]) ?? UNKNOWN_TOKEN_LENGTH
  );
}

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** Every constraint below that the template breaks, empty when it would pass. */
export function awsConstraintViolations(
  template: Template,
  stackName: string,
): Violation[] {
  const found: Violation[] = [];
  const text = (value: unknown) => worstCase(value, template);
  const check = (
    where: string,
    value: unknown,
    ok: (resolved: string) => boolean,
    rule: string,
  ) => {
    if (value === undefined) return;
    const resolved = text(value);
    if (!ok(resolved)) found.push({ where, value: resolved, rule });
  };
  const matches = (pattern: RegExp) => (s: string) => pattern.test(s);

  check('stack name', stackName, matches(STACK_NAME), 'CreateStack StackName');
  check(
    'template Description',
    template.Description,
    (s) => bytes(s) <= CFN_DESCRIPTION_BYTES,
    'at most 1024 bytes (CloudFormation template anatomy)',
  );
  const counts: [string, number, number][] = [
    ['resources', Object.keys(template.Resources).length, CFN_MAX_RESOURCES],
    ['outputs', Object.keys(template.Outputs ?? {}).length, CFN_MAX_OUTPUTS],
    [
      'parameters',
      Object.keys(template.Parameters ?? {}).length,
      CFN_MAX_PARAMETERS,
    ],
    ['template bytes', bytes(JSON.stringify(template)), CFN_MAX_TEMPLATE_BYTES],
  ];
  for (const [what, count, max] of counts)
    if (count > max)
      found.push({
        where: `template ${what}`,
        value: String(count),
        rule: `at most ${max} (CloudFormation quotas)`,
      });
  for (const [id, output] of Object.entries(template.Outputs ?? {}))
    check(
      `${id}.Description`,
      output.Description,
      (s) => bytes(s) <= CFN_DESCRIPTION_BYTES,
      'at most 1024 bytes (CloudFormation template anatomy, Outputs)',
    );

  const inlinePolicyChars = new Map<string, number>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    const p = resource.Properties ?? {};
    const at = (path: string) => `${id}.${path}`;
    checkTags(id, p, check);
    switch (resource.Type) {
      case 'AWS::EC2::SecurityGroup':
        check(
          at('GroupDescription'),
          p.GroupDescription,
          matches(EC2_SG_TEXT),
          EC2_SG_TEXT_RULE,
        );
        check(
          at('GroupName'),
          p.GroupName,
          (s) => EC2_SG_TEXT.test(s) && !s.startsWith('sg-'),
          `${EC2_SG_TEXT_RULE}, not starting with sg-`,
        );
        for (const list of ['SecurityGroupIngress', 'SecurityGroupEgress'])
          (p[list] ?? []).forEach((rule: any, i: number) =>
            check(
              at(`${list}.${i}.Description`),
              rule.Description,
              matches(EC2_SG_TEXT),
              EC2_SG_TEXT_RULE,
            ),
          );
        break;
      case 'AWS::EC2::SecurityGroupIngress':
      case 'AWS::EC2::SecurityGroupEgress':
        check(
          at('Description'),
          p.Description,
          matches(EC2_SG_TEXT),
          EC2_SG_TEXT_RULE,
        );
        break;
      case 'AWS::ElasticLoadBalancingV2::LoadBalancer':
      case 'AWS::ElasticLoadBalancingV2::TargetGroup':
        check(
          at('Name'),
          p.Name,
          matches(ELB_NAME),
          'at most 32 alphanumerics or hyphens, no hyphen at either end, not internal- (ELB CreateLoadBalancer, CreateTargetGroup)',
        );
        // ELB API Reference, CreateTargetGroup, HealthCheckPath: length 1-1024, starts with /.
        check(
          at('HealthCheckPath'),
          p.HealthCheckPath,
          (s) => /^\/.{0,1023}$/.test(s),
          '1-1024 characters starting with / (ELB CreateTargetGroup)',
        );
        break;
      case 'AWS::EC2::LaunchTemplate':
        check(
          at('LaunchTemplateName'),
          p.LaunchTemplateName,
          matches(LAUNCH_TEMPLATE_NAME),
          '3-128 of a-zA-Z0-9().-/_ (EC2 CreateLaunchTemplate)',
        );
        checkUserData(
          at('LaunchTemplateData.UserData'),
          p.LaunchTemplateData?.UserData,
        );
        break;
      case 'AWS::EC2::Instance':
        check(
          at('LaunchTemplate.LaunchTemplateName'),
          p.LaunchTemplate?.LaunchTemplateName,
          matches(LAUNCH_TEMPLATE_NAME),
          '3-128 of a-zA-Z0-9().-/_ (EC2 CreateLaunchTemplate)',
        );
        checkUserData(at('UserData'), p.UserData);
        break;
      case 'AWS::Lambda::Function': {
        check(
          at('Description'),
          p.Description,
          (s) => s.length <= 256,
          'at most 256 characters (Lambda CreateFunction)',
        );
        check(
          at('FunctionName'),
          p.FunctionName,
          matches(/^[a-zA-Z0-9-_]{1,64}$/),
          '1-64 of a-zA-Z0-9-_ (Lambda CreateFunction)',
        );
        const variables: Record<string, unknown> =
          p.Environment?.Variables ?? {};
        const size = Object.entries(variables).reduce(
          (sum, [key, value]) => sum + bytes(key) + bytes(text(value)),
          0,
        );
        if (size > LAMBDA_ENVIRONMENT_BYTES)
          found.push({
            where: at('Environment.Variables'),
            value: `${size} bytes`,
            rule: 'at most 4 KB in aggregate (Lambda quotas)',
          });
        for (const key of Object.keys(variables))
          check(
            at(`Environment.Variables.${key}`),
            key,
            matches(/^[a-zA-Z][a-zA-Z0-9_]+$/),
            'a key of [a-zA-Z][a-zA-Z0-9_]+ (Lambda Environment)',
          );
        check(
          at('Timeout'),
          p.Timeout,
          (s) => Number(s) >= 1 && Number(s) <= 900,
          '1-900 seconds (Lambda CreateFunction)',
        );
        check(
          at('MemorySize'),
          p.MemorySize,
          (s) => Number(s) >= 128 && Number(s) <= 10240,
          '128-10240 MB (Lambda CreateFunction)',
        );
        break;
      }
      case 'AWS::Logs::LogGroup':
        check(
          at('LogGroupName'),
          p.LogGroupName,
          matches(LOG_GROUP_NAME),
          '1-512 of .-_/#A-Za-z0-9 (CloudWatch Logs CreateLogGroup)',
        );
        check(
          at('RetentionInDays'),
          p.RetentionInDays,
          (s) => LOG_RETENTION_DAYS.includes(Number(s)),
          `one of ${LOG_RETENTION_DAYS.join(', ')} (CloudWatch Logs PutRetentionPolicy)`,
        );
        break;
      case 'AWS::Logs::MetricFilter':
        checkMetricFilter(at, p, check, found);
        break;
      case 'AWS::CloudWatch::Dashboard':
        checkDashboard(at, p, check, found, text);
        break;
      case 'AWS::CloudWatch::Alarm':
        check(
          at('AlarmDescription'),
          p.AlarmDescription,
          (s) => s.length <= ALARM_DESCRIPTION_CHARS,
          'at most 1024 characters (CloudWatch PutMetricAlarm)',
        );
        if ((p.Metrics ?? []).length > ALARM_MAX_METRIC_QUERIES)
          found.push({
            where: at('Metrics'),
            value: String(p.Metrics.length),
            rule: 'at most 10 metric data queries (CloudWatch PutMetricAlarm)',
          });
        break;
      case 'AWS::IAM::Role':
        check(at('Path'), p.Path, matches(IAM_PATH), 'IAM CreateRole Path');
        check(
          at('Description'),
          p.Description,
          matches(IAM_DESCRIPTION),
          'at most 1000 printable Latin-1 characters (IAM CreateRole)',
        );
        check(
          at('RoleName'),
          p.RoleName,
          matches(IAM_ROLE_NAME),
          'IAM CreateRole RoleName',
        );
        for (const policy of p.Policies ?? []) {
          check(
            at('Policies.PolicyName'),
            policy.PolicyName,
            matches(IAM_POLICY_NAME),
            'IAM PutRolePolicy PolicyName',
          );
          addPolicyChars(id, policy.PolicyDocument);
        }
        break;
      case 'AWS::IAM::InstanceProfile':
        check(
          at('Path'),
          p.Path,
          matches(IAM_PATH),
          'IAM CreateInstanceProfile Path',
        );
        break;
      case 'AWS::IAM::Policy':
        check(
          at('PolicyName'),
          p.PolicyName,
          matches(IAM_POLICY_NAME),
          'IAM PutRolePolicy PolicyName',
        );
        // An AWS::IAM::Policy is put on each of its roles as an inline policy.
        for (const role of p.Roles ?? [])
          if (role?.Ref !== undefined)
            addPolicyChars(role.Ref, p.PolicyDocument);
        break;
    }
  }
  found.push(...dualStackViolations(template));
  for (const [role, chars] of inlinePolicyChars)
    if (chars > IAM_ROLE_INLINE_POLICY_CHARS)
      found.push({
        where: `${role} inline policies`,
        value: `${chars} characters`,
        rule: 'at most 10,240 characters without white space (IAM quotas)',
      });
  return found;

  function addPolicyChars(role: string, document: unknown) {
    const chars = JSON.stringify(resolveDeep(document)).replace(
      /\s/g,
      '',
    ).length;
    inlinePolicyChars.set(role, (inlinePolicyChars.get(role) ?? 0) + chars);
  }

  /** A JSON document with each token replaced by its worst case. */
  function resolveDeep(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(resolveDeep);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::')))
      return text(value);
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, resolveDeep(v)]),
    );
  }

  function checkUserData(where: string, value: unknown) {
    if (value === undefined) return;
    const raw = text(value);
    if (bytes(raw) > USER_DATA_RAW_BYTES)
      found.push({
        where,
        value: `${bytes(raw)} bytes before base64`,
        rule: 'at most 16 KB before base64 (EC2 user data)',
      });
  }
}

type Check = (
  where: string,
  value: unknown,
  ok: (resolved: string) => boolean,
  rule: string,
) => void;

/** Tags on the resource, on the instances and volumes a launch template creates, and on an SSM parameter. */
function checkMetricFilter(
  at: (path: string) => string,
  p: any,
  check: Check,
  found: Violation[],
) {
  check(
    at('FilterName'),
    p.FilterName,
    (s) => METRIC_FILTER_NAME.test(s),
    '1-512 characters, no : or * (CloudWatch Logs PutMetricFilter filterName)',
  );
  check(
    at('FilterPattern'),
    p.FilterPattern,
    (s) => s.length <= METRIC_FILTER_PATTERN_CHARS,
    'at most 1024 characters (CloudWatch Logs PutMetricFilter filterPattern)',
  );
  const transformations: any[] = p.MetricTransformations ?? [];
  if (transformations.length !== 1)
    found.push({
      where: at('MetricTransformations'),
      value: String(transformations.length),
      rule: 'exactly 1 (CloudWatch Logs PutMetricFilter metricTransformations)',
    });
  transformations.forEach((t, i) => {
    const path = `MetricTransformations.${i}`;
    for (const key of ['MetricName', 'MetricNamespace'])
      check(
        at(`${path}.${key}`),
        t[key],
        (s) => METRIC_NAME.test(s),
        '1-255 characters, no :, * or $ (CloudWatch Logs MetricTransformation)',
      );
    check(
      at(`${path}.MetricValue`),
      t.MetricValue,
      (s) => s.length <= METRIC_VALUE_CHARS,
      'at most 100 characters (CloudWatch Logs MetricTransformation metricValue)',
    );
    if ((t.Dimensions ?? []).length > METRIC_FILTER_MAX_DIMENSIONS)
      found.push({
        where: at(`${path}.Dimensions`),
        value: String(t.Dimensions.length),
        rule: 'at most 3 dimensions (CloudWatch Logs MetricTransformation)',
      });
  });
}

function checkDashboard(
  at: (path: string) => string,
  p: any,
  check: Check,
  found: Violation[],
  text: (value: unknown) => string,
) {
  check(
    at('DashboardName'),
    p.DashboardName,
    (s) => DASHBOARD_NAME.test(s),
    '1-255 of A-Z a-z 0-9 - _ (CloudWatch PutDashboard)',
  );
  let widgets: any[];
  try {
    // Tokens resolve to runs of zeros inside JSON strings, so the worst-case body still parses.
    widgets = JSON.parse(text(p.DashboardBody)).widgets ?? [];
  } catch {
    found.push({
      where: at('DashboardBody'),
      value: text(p.DashboardBody).slice(0, 200),
      rule: 'valid JSON (CloudWatch PutDashboard, Dashboard Body Structure)',
    });
    return;
  }
  if (widgets.length > DASHBOARD_MAX_WIDGETS)
    found.push({
      where: at('DashboardBody.widgets'),
      value: String(widgets.length),
      rule: 'at most 500 widgets (CloudWatch quotas)',
    });
  widgets.forEach((w, i) => {
    const metrics = w.properties?.metrics ?? [];
    if (metrics.length > DASHBOARD_MAX_METRICS_PER_WIDGET)
      found.push({
        where: at(`DashboardBody.widgets.${i}`),
        value: String(metrics.length),
        rule: 'at most 500 metrics per widget (CloudWatch quotas)',
      });
  });
}

function checkTags(id: string, p: any, check: Check) {
  const lists: [string, unknown][] = [['Tags', p.Tags]];
  for (const [i, spec] of (p.TagSpecifications ?? []).entries())
    lists.push([`TagSpecifications.${i}.Tags`, spec.Tags]);
  for (const [i, spec] of (
    p.LaunchTemplateData?.TagSpecifications ?? []
  ).entries())
    lists.push([`LaunchTemplateData.TagSpecifications.${i}.Tags`, spec.Tags]);
  for (const [path, tags] of lists) {
    const pairs: [unknown, unknown][] = Array.isArray(tags)
      ? tags.map((tag: any) => [tag.Key, tag.Value])
      : tags !== null && typeof tags === 'object'
        ? Object.entries(tags)
        : [];
    pairs.forEach(([key, value], i) => {
      check(
        `${id}.${path}.${i}.Key`,
        key,
        (s) =>
          s.length >= 1 &&
          s.length <= 128 &&
          TAG_TEXT.test(s) &&
          !s.toLowerCase().startsWith('aws:'),
        '1-128 letters, digits, spaces or _.:/=+-@, not starting with aws: (tag naming requirements)',
      );
      check(
        `${id}.${path}.${i}.Value`,
        value,
        (s) => s.length <= 256 && TAG_TEXT.test(s),
        'at most 256 letters, digits, spaces or _.:/=+-@ (tag naming requirements)',
      );
    });
  }
}

/** The logical ID a `{ Ref }` or `{ Fn::GetAtt }` names, if it is one. */
function referenced(value: any): string | undefined {
  return value?.Ref ?? value?.['Fn::GetAtt']?.[0];
}

/**
 * What EC2, ELB and Lambda require of IPv6 settings at create time; every subnet, route and group named by
 * reference is looked up in the template (a subnet from outside it is not judged).
 */
export function dualStackViolations(template: Template): Violation[] {
  const found: Violation[] = [];
  const resources = template.Resources;
  const subnet = (value: unknown) => {
    const id = referenced(value);
    return id !== undefined && resources[id]?.Type === 'AWS::EC2::Subnet'
      ? { id, properties: resources[id].Properties ?? {} }
      : undefined;
  };
  const dependsOn = (id: string) => [resources[id].DependsOn ?? []].flat();
  /** The route tables associated with a subnet, and their routes. */
  const routesOf = (subnetId: string) => {
    const tables = Object.values(resources)
      .filter(
        (r) =>
          r.Type === 'AWS::EC2::SubnetRouteTableAssociation' &&
          referenced(r.Properties?.SubnetId) === subnetId,
      )
      .map((r) => referenced(r.Properties.RouteTableId));
    return Object.values(resources)
      .filter(
        (r) =>
          r.Type === 'AWS::EC2::Route' &&
          tables.includes(referenced(r.Properties?.RouteTableId)),
      )
      .map((r) => r.Properties);
  };

  for (const [id, resource] of Object.entries(resources)) {
    const p = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::EC2::Subnet':
        // CloudFormation AWS::EC2::Subnet, AssignIpv6AddressOnCreation: "If you specify
        // AssignIpv6AddressOnCreation, you must also specify an IPv6 CIDR block."
        if (p.AssignIpv6AddressOnCreation === true && !p.Ipv6CidrBlock)
          found.push({
            where: `${id}.AssignIpv6AddressOnCreation`,
            value: 'true without Ipv6CidrBlock',
            rule: 'an IPv6 CIDR block with it (CloudFormation AWS::EC2::Subnet)',
          });
        if (p.Ipv6CidrBlock !== undefined) {
          // EC2 CreateSubnet, Ipv6CidrBlock: "The subnet size must use a /64 prefix length."
          const size = ipv6SubnetPrefix(p.Ipv6CidrBlock);
          if (size !== undefined && size !== 64)
            found.push({
              where: `${id}.Ipv6CidrBlock`,
              value: `/${size}`,
              rule: 'a /64 (EC2 CreateSubnet)',
            });
          // The VPC's Ipv6CidrBlocks attribute is empty until its AWS::EC2::VPCCidrBlock exists: a subnet created
          // before it fails Fn::Select on an empty list.
          const vpc = referenced(p.VpcId);
          const blocks = Object.entries(resources)
            .filter(
              ([, r]) =>
                r.Type === 'AWS::EC2::VPCCidrBlock' &&
                referenced(r.Properties?.VpcId) === vpc &&
                (r.Properties?.AmazonProvidedIpv6CidrBlock === true ||
                  r.Properties?.Ipv6IpamPoolId !== undefined ||
                  r.Properties?.Ipv6CidrBlock !== undefined),
            )
            .map(([blockId]) => blockId);
          if (!blocks.some((block) => dependsOn(id).includes(block)))
            found.push({
              where: `${id}.DependsOn`,
              value: JSON.stringify(dependsOn(id)),
              rule: "the VPC's IPv6 AWS::EC2::VPCCidrBlock, created first (Fn::GetAtt Ipv6CidrBlocks is empty until then)",
            });
        }
        break;
      case 'AWS::EC2::SecurityGroup':
        for (const list of ['SecurityGroupIngress', 'SecurityGroupEgress'])
          (p[list] ?? []).forEach((rule: any, i: number) =>
            checkIpv6Rule(`${id}.${list}.${i}`, rule, found),
          );
        break;
      case 'AWS::EC2::SecurityGroupIngress':
      case 'AWS::EC2::SecurityGroupEgress':
        checkIpv6Rule(id, p, found);
        break;
      case 'AWS::ElasticLoadBalancingV2::LoadBalancer':
        // ELB guides, "Update the IP address types for your Network Load Balancer" (and the ALB's): dualstack
        // needs subnets with IPv6 CIDR blocks whose route tables route IPv6.
        if (
          p.IpAddressType === 'dualstack' ||
          p.IpAddressType === 'dualstack-without-public-ipv4'
        )
          for (const [i, value] of (p.Subnets ?? []).entries()) {
            const s = subnet(value);
            if (s === undefined) continue;
            if (!s.properties.Ipv6CidrBlock)
              found.push({
                where: `${id}.Subnets.${i}`,
                value: `${s.id} without Ipv6CidrBlock`,
                rule: 'subnets with IPv6 CIDR blocks for a dualstack load balancer (ELB dualstack requirements)',
              });
            else if (
              !routesOf(s.id).some((route) => route.DestinationIpv6CidrBlock)
            )
              found.push({
                where: `${id}.Subnets.${i}`,
                value: `${s.id} routes no IPv6`,
                rule: 'route tables that route IPv6 for a dualstack load balancer (ELB dualstack requirements)',
              });
          }
        break;
      case 'AWS::Lambda::Function':
        // Lambda VpcConfig, Ipv6AllowedForDualStack: "Allows outbound IPv6 traffic on VPC functions that are
        // connected to dual-stack subnets."
        if (p.VpcConfig?.Ipv6AllowedForDualStack === true)
          for (const [i, value] of (p.VpcConfig.SubnetIds ?? []).entries()) {
            const s = subnet(value);
            if (s !== undefined && !s.properties.Ipv6CidrBlock)
              found.push({
                where: `${id}.VpcConfig.SubnetIds.${i}`,
                value: `${s.id} without Ipv6CidrBlock`,
                rule: 'dual-stack subnets for Ipv6AllowedForDualStack (Lambda VpcConfig)',
              });
          }
        break;
    }
  }
  return found;
}

/** The prefix length of a subnet's IPv6 block, literal or cut by Fn::Cidr; undefined when not knowable. */
function ipv6SubnetPrefix(value: any): number | undefined {
  if (typeof value === 'string') return Number(value.split('/')[1]);
  const cidr = value?.['Fn::Select']?.[1]?.['Fn::Cidr'];
  // Fn::Cidr [block, count, cidrBits]: cidrBits is the host part, so an IPv6 subnet is /(128 - cidrBits).
  return cidr === undefined ? undefined : 128 - Number(cidr[2]);
}

/**
 * EC2 AuthorizeSecurityGroupIngress / Egress: a rule names one source or destination (an IPv4 range, an IPv6
 * range, a group or a prefix list), and an Ipv6Range's CidrIpv6 is an IPv6 CIDR.
 */
function checkIpv6Rule(where: string, rule: any, found: Violation[]) {
  if (rule.CidrIpv6 === undefined) return;
  if (rule.CidrIp !== undefined)
    found.push({
      where,
      value: 'CidrIp and CidrIpv6',
      rule: 'one source or destination per rule (EC2 IpPermission)',
    });
  if (typeof rule.CidrIpv6 === 'string') {
    const [address, prefix, ...rest] = rule.CidrIpv6.split('/');
    if (
      rest.length > 0 ||
      isIP(address) !== 6 ||
      !/^\d{1,3}$/.test(prefix ?? '') ||
      Number(prefix) > 128
    )
      found.push({
        where: `${where}.CidrIpv6`,
        value: rule.CidrIpv6,
        rule: 'an IPv6 CIDR (EC2 Ipv6Range)',
      });
  }
}
