/**
 * Scale-in that keeps WebSockets, in the template: the nginx group's termination lifecycle hook, the instance
 * role's right to answer it on this group only, the health agent started with the hook's flags, and the NLB
 * keeping a deregistered node's connections while the hook holds it. Synthesizing runs cdk-nag, so a finding
 * the policy raised and nobody acknowledged fails here too.
 */
import { LIFECYCLE_HOOK_NAME } from '../../lib/agent/install';
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
  'nlb, the default hook': { lb: 'nlb' },
  'alb, a 600 s hook': { lb: 'alb', nginxWebSocketDrainSeconds: '600' },
  'nlb, no hook': { lb: 'nlb', nginxWebSocketDrainSeconds: '0' },
} satisfies Record<string, ContextSettings>;
type Mode = keyof typeof MODES;
const WITH_HOOK: Mode[] = ['nlb, the default hook', 'alb, a 600 s hook'];

const synthesized = new Map<Mode, Synthesized>();
function synth(mode: Mode): Synthesized {
  if (!synthesized.has(mode)) synthesized.set(mode, synthesize(MODES[mode]));
  return synthesized.get(mode)!;
}

const groupId = (s: Synthesized) =>
  logicalIdOf(s.stack, s.stack.autoScalingGroup);

function nginxUserData(s: Synthesized): string {
  const group = propertiesOf(s.template, groupId(s));
  const template = propertiesOf(
    s.template,
    targetOf(group.LaunchTemplate.LaunchTemplateId),
  );
  return flatten(template.LaunchTemplateData.UserData);
}

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

describe.each(WITH_HOOK)('%s', (mode) => {
  test('a termination hook on the nginx group: CONTINUE by default, a 5-minute heartbeat timeout', () => {
    const s = synth(mode);
    s.template.resourceCountIs('AWS::AutoScaling::LifecycleHook', 1);
    s.template.hasResourceProperties('AWS::AutoScaling::LifecycleHook', {
      AutoScalingGroupName: { Ref: groupId(s) },
      LifecycleHookName: LIFECYCLE_HOOK_NAME,
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      DefaultResult: 'CONTINUE',
      // 100 × 300 s = 30,000 s of global timeout: room for the longest drain the setting allows (28,800 s).
      HeartbeatTimeout: 300,
    });
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
  expect(connectionTermination(synth('nlb, the default hook'))).toBe('false');
});

test('with nginxWebSocketDrainSeconds=0: no hook, no lifecycle permissions, no hook flags, and the NLB resets at the end of the delay', () => {
  const s = synth('nlb, no hook');
  s.template.resourceCountIs('AWS::AutoScaling::LifecycleHook', 0);
  expect(policiesNaming(s, 'autoscaling:')).toEqual([]);
  expect(nginxUserData(s)).not.toContain('--lifecycle-hook');
  expect(connectionTermination(s)).toBe('true');
});
