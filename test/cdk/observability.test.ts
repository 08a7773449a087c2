/**
 * The nginx tier's scaling, its scale-in lifecycle hook, its access log in CloudWatch Logs, the dashboard and the
 * alarms, in the template. Synthesizing runs cdk-nag, so a finding nobody acknowledged fails here too.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { LIFECYCLE_HOOK_NAME } from '../../lib/agent/install';
import { INSTANCE_ACCESS_LOG } from '../../lib/nginx/access-log';
import { dnfInstallWithRetry } from '../../lib/os/dnf-install';
import {
  ContextSettings,
  flatten,
  logicalIdOf,
  propertiesOf,
  Synthesized,
  synthesize,
  targetOf,
} from './synth';

jest.setTimeout(240_000);

const MODES = {
  'nlb cookie': { lb: 'nlb', sticky: 'cookie' },
  'alb ip_hash, alarms on, tuned': {
    lb: 'alb',
    sticky: 'ip_hash',
    stage: 'prod',
    alarms: 'true',
    alarmBackendSharePercent: '70',
    nginxScaleCpuPercent: '40',
    nginxDrainSeconds: '900',
    nginxWebSocketDrainSeconds: '600',
    logRetentionDays: '30',
    nginxMaxCapacity: '6',
  },
  'nlb ip_hash, no lifecycle hook': {
    lb: 'nlb',
    sticky: 'ip_hash',
    nginxWebSocketDrainSeconds: '0',
  },
} satisfies Record<string, ContextSettings>;
type Mode = keyof typeof MODES;
/** The modes most tests cover; the third one is for the lifecycle hook's absence only. */
const ALL: Mode[] = ['nlb cookie', 'alb ip_hash, alarms on, tuned'];

const synthesized = new Map<Mode, Synthesized>();
function synth(mode: Mode): Synthesized {
  if (!synthesized.has(mode)) synthesized.set(mode, synthesize(MODES[mode]));
  return synthesized.get(mode)!;
}

const groupId = (s: Synthesized) =>
  logicalIdOf(s.stack, s.stack.autoScalingGroup);
const logGroupId = (s: Synthesized) =>
  logicalIdOf(s.stack, s.stack.accessLogGroup);

function nginxUserData(s: Synthesized): string {
  const group = propertiesOf(s.template, groupId(s));
  const template = propertiesOf(
    s.template,
    targetOf(group.LaunchTemplate.LaunchTemplateId),
  );
  return flatten(template.LaunchTemplateData.UserData);
}

/** `flatten`'s text with each Ref / GetAtt written without quotes (`Ref(Id)`, `GetAtt(Id.Attr)`), so JSON around them parses. */
function unquoteTokens(text: string): string {
  return text
    .replace(/«\{"Ref":"([^"]+)"\}»/g, 'Ref($1)')
    .replace(/«\{"Fn::GetAtt":\["([^"]+)","([^"]+)"\]\}»/g, 'GetAtt($1.$2)')
    .replace(/«[^»]*»/g, 'Token');
}

function dashboardBody(s: Synthesized): any {
  const [dashboard] = Object.values(
    s.template.findResources('AWS::CloudWatch::Dashboard'),
  );
  const body = unquoteTokens(flatten(dashboard.Properties.DashboardBody));
  return JSON.parse(body);
}

describe('scaling', () => {
  test.each(ALL)(
    '%s: target tracking on average CPU at the setting, with a warm-up and the group metrics on',
    (mode) => {
      const s = synth(mode);
      s.template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
        AutoScalingGroupName: { Ref: groupId(s) },
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingConfiguration: {
          PredefinedMetricSpecification: {
            PredefinedMetricType: 'ASGAverageCPUUtilization',
          },
          TargetValue: s.settings.nginxScaleCpuPercent,
        },
      });
      expect(propertiesOf(s.template, groupId(s))).toMatchObject({
        MinSize: String(s.settings.nginxMinCapacity),
        MaxSize: String(s.settings.nginxMaxCapacity),
        DefaultInstanceWarmup: 180,
        MetricsCollection: [
          {
            Granularity: '1Minute',
            Metrics: expect.arrayContaining(['GroupInServiceInstances']),
          },
        ],
      });
    },
  );

  test.each(ALL)(
    '%s: a node scaled in drains for nginxDrainSeconds (the deregistration delay)',
    (mode) => {
      const s = synth(mode);
      const attributes = propertiesOf(
        s.template,
        logicalIdOf(s.stack, s.stack.edge.targetGroup),
      ).TargetGroupAttributes;
      expect(attributes).toContainEqual({
        Key: 'deregistration_delay.timeout_seconds',
        Value: String(s.settings.nginxDrainSeconds),
      });
      // The lifecycle hook (on by default) keeps a node's WebSockets past the delay: test/cdk/lifecycle.test.ts.
      if (s.settings.lb === 'nlb')
        expect(attributes).toContainEqual({
          Key: 'deregistration_delay.connection_termination.enabled',
          Value: String(s.settings.nginxWebSocketDrainSeconds === 0),
        });
    },
  );
});

describe('access log shipped', () => {
  test.each(ALL)(
    '%s: a log group of the stack with the retention setting',
    (mode) => {
      const s = synth(mode);
      const resource = s.template.toJSON().Resources[logGroupId(s)];
      expect(resource.Type).toBe('AWS::Logs::LogGroup');
      expect(resource.Properties.RetentionInDays).toBe(
        s.settings.logRetentionDays,
      );
      expect(resource.DeletionPolicy).toBe('Delete');
    },
  );

  test.each(ALL)(
    '%s: user data installs the CloudWatch agent, writes its config for the access log and starts it, before signalling',
    (mode) => {
      const s = synth(mode);
      const userData = nginxUserData(s);
      const lines = userData.split('\n');
      const at = (line: string) => lines.indexOf(line);
      const install = at(dnfInstallWithRetry(['amazon-cloudwatch-agent']));
      expect(install).toBeGreaterThan(at('systemctl enable --now nginx'));
      const config =
        /^cat > (\S+) <<'STICKY_EDGE_AGENT_CONFIG'\n(.*)\nSTICKY_EDGE_AGENT_CONFIG$/m.exec(
          userData,
        );
      expect(config).not.toBeNull();
      expect(at(`cat > ${config![1]} <<'STICKY_EDGE_AGENT_CONFIG'`)).toBe(
        install + 1,
      );
      const agent = JSON.parse(unquoteTokens(config![2]));
      expect(agent).toEqual({
        logs: {
          logs_collected: {
            files: {
              collect_list: [
                {
                  file_path: INSTANCE_ACCESS_LOG,
                  log_group_name: `Ref(${logGroupId(s)})`,
                  log_stream_name: '{instance_id}',
                  timezone: 'UTC',
                },
              ],
            },
          },
        },
      });
      const start = at(
        `/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:${config![1]}`,
      );
      expect(start).toBeGreaterThan(install);
      // Under set -e, an agent that fails to install or start fails the node's signal.
      expect(start).toBeGreaterThan(at('set -euo pipefail'));
    },
  );

  test.each(ALL)(
    '%s: the nodes may write to that group only (no CreateLogGroup, no other group)',
    (mode) => {
      const s = synth(mode);
      const role = logicalIdOf(s.stack, s.stack.autoScalingGroup.role);
      const statements = Object.values(
        s.template.findResources('AWS::IAM::Policy', {
          Properties: { Roles: [{ Ref: role }] },
        }),
      ).flatMap((p) => p.Properties.PolicyDocument.Statement);
      const logStatements = statements.filter((st: any) =>
        [st.Action].flat().some((a: string) => a.startsWith('logs:')),
      );
      expect(
        logStatements.flatMap((st: any) => [st.Action].flat()).sort(),
      ).toEqual([
        'logs:CreateLogStream',
        'logs:DescribeLogStreams',
        'logs:PutLogEvents',
      ]);
      for (const st of logStatements)
        for (const resource of [st.Resource].flat())
          expect(JSON.stringify(resource)).toContain(logGroupId(s));
    },
  );
});

describe('dashboard', () => {
  test.each(ALL)(
    '%s: metric filters on the JSON log: requests per backend, re-pinned, nginx 5xx, latency',
    (mode) => {
      const s = synth(mode);
      const namespace = `StickyEdge/${s.settings.stage}`;
      const filter = (pattern: string, transformation: object) =>
        s.template.hasResourceProperties('AWS::Logs::MetricFilter', {
          LogGroupName: { Ref: logGroupId(s) },
          FilterPattern: pattern,
          MetricTransformations: [
            Match.objectLike({ MetricNamespace: namespace, ...transformation }),
          ],
        });
      filter('{ $.backend != "-" }', {
        MetricName: 'Requests',
        MetricValue: '1',
        Dimensions: [{ Key: 'Backend', Value: '$.backend' }],
      });
      filter('{ $.repinned = 1 }', { MetricName: 'Repinned' });
      filter('{ $.status >= 500 }', { MetricName: 'Nginx5xx' });
      filter('{ $.backend != "-" }', {
        MetricName: 'RequestTime',
        MetricValue: '$.request_time',
        Unit: 'Seconds',
      });
      expect(
        Object.keys(s.template.findResources('AWS::Logs::MetricFilter')),
      ).toHaveLength(4);
    },
  );

  test.each(ALL)(
    '%s: widgets for each backend, shares, re-pins, 5xx at nginx and the load balancer, targets, nodes, latency',
    (mode) => {
      const s = synth(mode);
      const widgets = dashboardBody(s).widgets;
      const titles = widgets.map((w: any) => w.properties.title);
      expect(titles).toEqual([
        'Requests per backend',
        'Share per backend (%)',
        'Sessions re-pinned (cookie strategy: the route cookie named another backend)',
        '5xx',
        'nginx targets',
        'nginx nodes',
        'Latency at nginx (s)',
      ]);
      const metricsOf = (title: string) =>
        JSON.stringify(
          widgets.find((w: any) => w.properties.title === title).properties
            .metrics,
        );
      for (const server of s.stack.appServers)
        expect(metricsOf('Requests per backend')).toContain(
          `GetAtt(${logicalIdOf(s.stack, server.instance)}.PublicIp):${s.settings.appPort}`,
        );
      expect(metricsOf('Share per backend (%)')).toContain(
        '100 * b0 / (b0 + b1)',
      );
      expect(metricsOf('5xx')).toContain('Nginx5xx');
      expect(metricsOf('5xx')).toContain(
        s.settings.lb === 'alb'
          ? 'HTTPCode_ELB_5XX_Count'
          : 'TCP_ELB_Reset_Count',
      );
      expect(metricsOf('nginx targets')).toContain('HealthyHostCount');
      expect(metricsOf('nginx targets')).toContain('UnHealthyHostCount');
      expect(metricsOf('nginx nodes')).toContain('GroupInServiceInstances');
      for (const p of ['p50', 'p90', 'p99'])
        expect(metricsOf('Latency at nginx (s)')).toContain(`"stat":"${p}"`);
    },
  );

  test('an output gives the dashboard URL', () => {
    const s = synth('nlb cookie');
    const output = s.template.toJSON().Outputs.DashboardUrl;
    expect(flatten(output.Value)).toMatch(
      /^https:\/\/«\{"Ref":"AWS::Region"\}»\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=«\{"Ref":"AWS::Region"\}»#dashboards:name=«\{"Ref":"Dashboard\w+"\}»$/,
    );
  });

  test('no alarms by default', () => {
    expect(
      synth('nlb cookie').template.findResources('AWS::CloudWatch::Alarm'),
    ).toEqual({});
  });

  test('alarms=true: no healthy target, and one backend over the share setting', () => {
    const s = synth('alb ip_hash, alarms on, tuned');
    expect(
      Object.keys(s.template.findResources('AWS::CloudWatch::Alarm')),
    ).toHaveLength(2);
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'HealthyHostCount',
      Namespace: 'AWS/ApplicationELB',
      Statistic: 'Minimum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 70,
      EvaluationPeriods: 5,
      Metrics: Match.arrayWith([
        Match.objectLike({
          Expression: 'IF((b0 + b1) >= 20, 100 * MAX([b0, b1]) / (b0 + b1), 0)',
          ReturnData: true,
        }),
        Match.objectLike({
          Id: 'b0',
          ReturnData: false,
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({
              MetricName: 'Requests',
              Namespace: 'StickyEdge/prod',
            }),
            Stat: 'Sum',
          }),
        }),
      ]),
    });
  });
});

function policiesNaming(s: Synthesized, action: string) {
  return Object.values(s.template.findResources('AWS::IAM::Policy')).filter(
    (p) =>
      JSON.stringify(p.Properties.PolicyDocument.Statement).includes(action),
  );
}

function connectionTermination(s: Synthesized): string | undefined {
  const attributes = propertiesOf(
    s.template,
    logicalIdOf(s.stack, s.stack.edge.targetGroup),
  ).TargetGroupAttributes as { Key: string; Value: string }[];
  return attributes.find(
    (a) => a.Key === 'deregistration_delay.connection_termination.enabled',
  )?.Value;
}

describe.each(ALL)('%s: scale-in lifecycle hook', (mode) => {
  test('a termination hook on the nginx group: CONTINUE by default, a 5-minute heartbeat timeout', () => {
    const s = synth(mode);
    const hooks = Object.values(
      s.template.findResources('AWS::AutoScaling::LifecycleHook'),
    );
    expect(hooks.map((h) => h.Properties)).toEqual([
      {
        AutoScalingGroupName: { Ref: groupId(s) },
        LifecycleHookName: LIFECYCLE_HOOK_NAME,
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        DefaultResult: 'CONTINUE',
        // 100 × 300 s = 30,000 s of global timeout: room for the longest drain the setting allows (28,800 s).
        HeartbeatTimeout: 300,
      },
    ]);
  });

  test('the nodes may complete and heartbeat the action on this group only, and look up their group', () => {
    const s = synth(mode);
    const [policy] = policiesNaming(s, 'autoscaling:CompleteLifecycleAction');
    expect(policiesNaming(s, 'autoscaling:')).toEqual([policy]);
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements).toHaveLength(2);
    expect(statements[0].Action).toEqual([
      'autoscaling:CompleteLifecycleAction',
      'autoscaling:RecordLifecycleActionHeartbeat',
    ]);
    expect(flatten(statements[0].Resource)).toBe(
      `arn:«{"Ref":"AWS::Partition"}»:autoscaling:«{"Ref":"AWS::Region"}»:«{"Ref":"AWS::AccountId"}»:autoScalingGroup:*:autoScalingGroupName/«{"Ref":"${groupId(s)}"}»`,
    );
    expect(statements[1]).toMatchObject({
      Action: 'autoscaling:DescribeAutoScalingInstances',
      Resource: '*',
    });
    // Attached to the nginx nodes' role, and to nothing else.
    const instanceRole = s.stack.autoScalingGroup.role;
    expect(policy.Properties.Roles).toEqual([
      { Ref: logicalIdOf(s.stack, instanceRole) },
    ]);
  });

  test('user data starts the health agent with the hook, the region and the maximum', () => {
    const s = synth(mode);
    expect(nginxUserData(s).split('\n')).toContain(
      `ExecStart=/usr/bin/node-22 /opt/sticky-edge/health-agent.js --conf /etc/nginx/nginx.conf --nginx /usr/sbin/nginx --lifecycle-hook ${LIFECYCLE_HOOK_NAME} --region «{"Ref":"AWS::Region"}» --websocket-drain ${s.settings.nginxWebSocketDrainSeconds}`,
    );
    // The agent outlives nginx while WebSockets drain: a Requires= would stop it with nginx.
    expect(nginxUserData(s).split('\n')).toContain('Wants=nginx.service');
  });
});

test('nlb: with the hook, the NLB keeps a deregistered node’s connections (its WebSockets) past the delay', () => {
  expect(connectionTermination(synth('nlb cookie'))).toBe('false');
});

test('with nginxWebSocketDrainSeconds=0: no hook, no lifecycle permissions, no hook flags, and the NLB resets at the end of the delay', () => {
  const s = synth('nlb ip_hash, no lifecycle hook');
  s.template.resourceCountIs('AWS::AutoScaling::LifecycleHook', 0);
  expect(policiesNaming(s, 'autoscaling:')).toEqual([]);
  expect(nginxUserData(s)).not.toContain('--lifecycle-hook');
  expect(connectionTermination(s)).toBe('true');
});
