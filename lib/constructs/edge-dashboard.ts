import { Duration, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface EdgeDashboardProps {
  /** The group the nodes ship nginx's JSON access log to; the metric filters read it. */
  readonly accessLogGroup: logs.ILogGroup;
  /** The custom metrics' namespace, one per stage so two stages in one account do not mix. */
  readonly namespace: string;
  /** The backends as nginx logs them (`host:port`, the access log's `backend` field), each with a label. */
  readonly backends: readonly {
    readonly address: string;
    readonly name: string;
  }[];
  /** The load balancer in front of nginx. */
  readonly loadBalancer:
    elbv2.NetworkLoadBalancer | elbv2.ApplicationLoadBalancer;
  /** Its target group of nginx nodes. */
  readonly targetGroup: elbv2.NetworkTargetGroup | elbv2.ApplicationTargetGroup;
  /** The nginx Auto Scaling group (its group metrics must be on for the node count). */
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /**
   * Create the alarms: no healthy nginx target, and one backend taking more than `backendSharePercent`.
   * @default false - a sandbox has nobody to page; the widgets are there either way
   */
  readonly alarms?: boolean;
  /**
   * The share of answered requests one backend may take before its alarm fires, in percent.
   * @default 80
   */
  readonly backendSharePercent?: number;
}

/** A backend's share is judged only over a period with at least this many answered requests. */
const SHARE_MIN_REQUESTS = 20;
const PERIOD = Duration.minutes(1);

/**
 * Metric filters on the JSON access log (`lib/nginx/access-log.ts`), a dashboard of where sessions go, and
 * optional alarms. The filters count only requests a backend answered (`backend` is `-` when nginx answered
 * itself, such as the load balancer's health checks): requests per backend (the backend as a dimension, two
 * values, so two custom metrics), re-pinned requests, latency, and nginx's own 5xx.
 */
export class EdgeDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  /** The alarms, when `alarms` is on. */
  readonly alarms: readonly cloudwatch.Alarm[];
  /** The console address of the dashboard. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: EdgeDashboardProps) {
    super(scope, id);
    const filter = (
      name: string,
      pattern: string,
      options: Partial<logs.MetricFilterProps> = {},
    ) =>
      new logs.MetricFilter(this, name, {
        logGroup: props.accessLogGroup,
        filterPattern: logs.FilterPattern.literal(pattern),
        metricNamespace: props.namespace,
        metricName: name,
        metricValue: '1',
        ...options,
      });
    const answered = '{ $.backend != "-" }';
    filter('Requests', answered, { dimensions: { Backend: '$.backend' } });
    filter('Repinned', '{ $.repinned = 1 }');
    filter('Nginx5xx', '{ $.status >= 500 }');
    filter('RequestTime', answered, {
      metricValue: '$.request_time',
      unit: cloudwatch.Unit.SECONDS,
    });

    const metric = (
      metricName: string,
      statistic: string,
      dimensionsMap?: Record<string, string>,
      label?: string,
    ) =>
      new cloudwatch.Metric({
        namespace: props.namespace,
        metricName,
        statistic,
        dimensionsMap,
        label,
        period: PERIOD,
      });
    const perBackend = props.backends.map((b) =>
      metric('Requests', 'Sum', { Backend: b.address }, b.name),
    );
    const ids = perBackend.map((_, i) => `b${i}`);
    const using = Object.fromEntries(ids.map((id, i) => [id, perBackend[i]]));
    const total = ids.join(' + ');
    const shares = ids.map(
      (id, i) =>
        new cloudwatch.MathExpression({
          expression: `100 * ${id} / (${total})`,
          usingMetrics: using,
          label: `${props.backends[i].name} %`,
          period: PERIOD,
        }),
    );
    const healthy = props.targetGroup.metrics.healthyHostCount({
      period: PERIOD,
      statistic: 'Minimum',
    });
    const unhealthyOptions = { period: PERIOD, statistic: 'Maximum' };
    const unhealthy =
      props.targetGroup instanceof elbv2.NetworkTargetGroup
        ? props.targetGroup.metrics.unHealthyHostCount(unhealthyOptions)
        : props.targetGroup.metrics.unhealthyHostCount(unhealthyOptions);
    const inService = new cloudwatch.Metric({
      namespace: 'AWS/AutoScaling',
      metricName: 'GroupInServiceInstances',
      dimensionsMap: {
        AutoScalingGroupName: props.autoScalingGroup.autoScalingGroupName,
      },
      statistic: 'Average',
      period: PERIOD,
      label: 'nginx nodes in service',
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          graph('Requests per backend', perBackend, { stacked: true }),
          graph('Share per backend (%)', shares, {
            leftYAxis: { min: 0, max: 100 },
          }),
          graph(
            'Sessions re-pinned (cookie strategy: the route cookie named another backend)',
            [metric('Repinned', 'Sum', undefined, 're-pinned requests')],
          ),
        ],
        [
          graph('5xx', [
            metric('Nginx5xx', 'Sum', undefined, 'nginx 5xx'),
            ...loadBalancerErrors(props.loadBalancer),
          ]),
          graph('nginx targets', [healthy, unhealthy]),
          graph('nginx nodes', [inService]),
          graph(
            'Latency at nginx (s)',
            // Average as well: percentiles need the raw values CloudWatch Logs publishes per event.
            ['Average', 'p50', 'p90', 'p99'].map((p) =>
              metric('RequestTime', p, undefined, p),
            ),
          ),
        ],
      ],
    });
    const region = Stack.of(this).region;
    this.url = `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${this.dashboard.dashboardName}`;

    this.alarms = props.alarms
      ? [
          healthy.createAlarm(this, 'NoHealthyTarget', {
            alarmDescription:
              'No nginx node passes the load balancer health check: every request fails',
            threshold: 1,
            comparisonOperator:
              cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluationPeriods: 2,
            treatMissingData: cloudwatch.TreatMissingData.BREACHING,
          }),
          new cloudwatch.MathExpression({
            expression: `IF((${total}) >= ${SHARE_MIN_REQUESTS}, 100 * MAX([${ids.join(', ')}]) / (${total}), 0)`,
            usingMetrics: using,
            label: 'largest backend share %',
            period: PERIOD,
          }).createAlarm(this, 'BackendShare', {
            alarmDescription: `One backend answered more than ${props.backendSharePercent ?? 80}% of requests (over ${SHARE_MIN_REQUESTS} a minute) for 5 minutes`,
            threshold: props.backendSharePercent ?? 80,
            comparisonOperator:
              cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 5,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
        ]
      : [];
  }
}

function graph(
  title: string,
  left: cloudwatch.IMetric[],
  options: Partial<cloudwatch.GraphWidgetProps> = {},
): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title,
    left,
    width: 8,
    height: 6,
    ...options,
  });
}

/**
 * An ALB's own 5xx (it answered itself: no healthy target, a target reset) and the targets' 5xx; an NLB
 * speaks TCP, so its nearest signal is the connections it or a target reset.
 */
function loadBalancerErrors(
  loadBalancer: elbv2.NetworkLoadBalancer | elbv2.ApplicationLoadBalancer,
): cloudwatch.IMetric[] {
  const options = { period: PERIOD, statistic: 'Sum' };
  if (loadBalancer instanceof elbv2.ApplicationLoadBalancer)
    return [
      loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, {
        ...options,
        label: 'ALB 5xx',
      }),
      loadBalancer.metrics.httpCodeTarget(
        elbv2.HttpCodeTarget.TARGET_5XX_COUNT,
        { ...options, label: 'nginx 5xx seen by the ALB' },
      ),
    ];
  return [
    loadBalancer.metrics.tcpElbResetCount({ ...options, label: 'NLB resets' }),
    loadBalancer.metrics.tcpTargetResetCount({
      ...options,
      label: 'nginx resets seen by the NLB',
    }),
  ];
}
