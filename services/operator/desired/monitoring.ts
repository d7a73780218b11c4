// prometheus-operator ServiceMonitor and PrometheusRule, and a Grafana dashboard ConfigMap (for
// the Grafana sidecar). Every query is scoped to this installation by the labels the
// ServiceMonitor puts on its targets: namespace and app_kubernetes_io_instance.
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import {
  LABEL_COMPONENT,
  LABEL_INSTANCE,
  LABEL_MANAGED_BY,
  LABEL_NAME,
  MANAGED_BY,
  roleObjectName,
} from '../naming.js';
import { metadataFor, type DesiredContext } from './context.js';

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'critical' | 'warning' };
  annotations: { summary: string; description: string; runbook_url: string };
}

export interface DashboardPanel {
  title: string;
  unit: string;
  exprs: { expr: string; legend: string }[];
  /** Drawn as a red line: the value the panel must stay under (an SLO's error budget). */
  threshold?: number;
}

/** Where each alert's runbook section lives (docs/runbooks.md, one `##` heading per alert). */
export const RUNBOOKS = 'docs/runbooks.md';

/** The PromQL label matcher of one installation. */
export function scope(ctx: Pick<DesiredContext, 'name' | 'namespace'>, extra = ''): string {
  return `{namespace="${ctx.namespace}",app_kubernetes_io_instance="${ctx.name}"${extra ? `,${extra}` : ''}}`;
}

/**
 * Service level objectives the burn-rate alerts guard, over 30 days: HTTP requests answered
 * without a 5xx, and message sends acknowledged (durable) within 250 ms.
 */
export const SLOS = {
  availability: { objective: 0.999, description: '99.9% of HTTP requests answer without a 5xx' },
  sendLatency: {
    objective: 0.99,
    thresholdSeconds: 0.25,
    description: '99% of message sends are acknowledged within 250 ms',
  },
} as const;

/**
 * Multi-window burn rates (the SRE workbook's): 14.4× the budget over 1 h (and 5 m, so it stops
 * soon after the cause does) spends 2% of a 30-day budget in an hour and pages; 6× over 6 h (and
 * 30 m) spends 5% in six hours and opens a ticket.
 */
const BURN_WINDOWS = [
  { speed: 'Fast', factor: 14.4, long: '1h', short: '5m', for: '2m', severity: 'critical' },
  { speed: 'Slow', factor: 6, long: '6h', short: '30m', for: '15m', severity: 'warning' },
] as const;

function anchor(alert: string): string {
  return `${RUNBOOKS}#${alert.toLowerCase()}`;
}
export function serviceMonitor(
  ctx: DesiredContext,
): IServiceMonitor & { metadata: { name: string } } {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: metadataFor(ctx, ctx.name, 'monitoring', { labels: ctx.spec.monitoring.labels }),
    spec: {
      selector: {
        matchLabels: {
          [LABEL_NAME]: 'signalink',
          [LABEL_INSTANCE]: ctx.name,
          [LABEL_MANAGED_BY]: MANAGED_BY,
        },
      },
      namespaceSelector: { matchNames: [ctx.namespace] },
      targetLabels: [LABEL_INSTANCE, LABEL_COMPONENT],
      endpoints: [{ port: 'http', path: '/metrics', interval: ctx.spec.monitoring.interval }],
    },
  };
}

/** PromQL pieces shared by the alerts and the dashboard, so both say the same thing. */
function queries(ctx: Pick<DesiredContext, 'name' | 'namespace'>) {
  const s = (extra = '') => scope(ctx, extra);
  const http = 'signalink_http_request_duration_seconds_count';
  const ack = 'signalink_gateway_send_ack_seconds';
  const le = String(SLOS.sendLatency.thresholdSeconds);
  return {
    s,
    /** Share of HTTP requests answered 5xx over a window (0 when none failed). */
    errorRatio: (w: string) =>
      `(sum(rate(${http}${s('status=~"5.."')}[${w}])) or vector(0)) / sum(rate(${http}${s()}[${w}]))`,
    /** Share of sends acknowledged later than the latency objective over a window. */
    slowSendRatio: (w: string) =>
      `1 - (sum(rate(${ack}_bucket${s(`le="${le}"`)}[${w}])) / sum(rate(${ack}_count${s()}[${w}])))`,
    ackQuantile: (q: number) =>
      `histogram_quantile(${q}, sum by (le) (rate(${ack}_bucket${s()}[5m])))`,
    /** Pods of this installation as kube-state-metrics names them (it has no instance label). */
    podMatcher: `{namespace="${ctx.namespace}",pod=~"${ctx.name}-(gateway|api|relay|analytics|notifier)-.+"}`,
  };
}

export function alertRules(ctx: Pick<DesiredContext, 'name' | 'namespace'>): AlertRule[] {
  const { s, errorRatio, slowSendRatio, ackQuantile } = queries(ctx);
  const gw = 'app_kubernetes_io_component="gateway"';
  const where = `${ctx.namespace}/${ctx.name}`;
  const rule = (
    alert: string,
    expr: string,
    forDuration: string,
    severity: 'critical' | 'warning',
    summary: string,
    description: string,
  ): AlertRule => ({
    alert,
    expr,
    for: forDuration,
    labels: { severity },
    annotations: { summary, description, runbook_url: anchor(alert) },
  });
  const burnRate = BURN_WINDOWS.flatMap((w) => {
    const availabilityBudget = 1 - SLOS.availability.objective;
    const latencyBudget = 1 - SLOS.sendLatency.objective;
    return [
      rule(
        `SignalinkAvailabilityBudgetBurn${w.speed}`,
        `(${errorRatio(w.long)}) > (${w.factor} * ${availabilityBudget.toFixed(3)}) and (${errorRatio(w.short)}) > (${w.factor} * ${availabilityBudget.toFixed(3)})`,
        w.for,
        w.severity,
        `The availability error budget burns ${w.factor}× too fast`,
        `{{ $value | humanizePercentage }} of HTTP requests of ${where} answer 5xx over ${w.long}; at this rate the 30-day budget (${SLOS.availability.description}) is gone in ${Math.round(720 / w.factor)} hours.`,
      ),
      rule(
        `SignalinkSendLatencyBudgetBurn${w.speed}`,
        `(${slowSendRatio(w.long)}) > (${w.factor} * ${latencyBudget.toFixed(2)}) and (${slowSendRatio(w.short)}) > (${w.factor} * ${latencyBudget.toFixed(2)})`,
        w.for,
        w.severity,
        `The send latency error budget burns ${w.factor}× too fast`,
        `{{ $value | humanizePercentage }} of message sends of ${where} take longer than ${SLOS.sendLatency.thresholdSeconds * 1000} ms over ${w.long} (objective: ${SLOS.sendLatency.description}).`,
      ),
    ];
  });
  return [
    rule(
      'SignalinkGatewaysDown',
      `sum(up${s(gw)}) == 0 or absent(up${s(gw)})`,
      '2m',
      'critical',
      'No Signalink gateway is up',
      `Prometheus scrapes no gateway of ${where}: clients cannot connect.`,
    ),
    rule(
      'SignalinkNoGatewayReady',
      `max(kube_deployment_status_replicas_available{namespace="${ctx.namespace}",deployment="${ctx.name}-gateway"}) < 1`,
      '2m',
      'critical',
      'No Signalink gateway pod is ready',
      `The Deployment ${ctx.name}-gateway in ${ctx.namespace} has no available replica: new connections fail.`,
    ),
    rule(
      'SignalinkNoActiveRelay',
      `max(signalink_relay_active${s()}) < 1 or absent(signalink_relay_active${s()})`,
      '5m',
      'critical',
      'No relay publishes the outbox',
      'No relay holds the outbox lease: events stop reaching Kafka (analytics and notifications stall).',
    ),
    rule(
      'SignalinkOutboxStalled',
      `max(signalink_outbox_oldest_unpublished_age_seconds${s()}) > 300`,
      '5m',
      'warning',
      'Outbox rows wait more than 5 minutes',
      'The oldest unpublished outbox row is {{ $value | humanizeDuration }} old: Kafka or the relay is failing.',
    ),
    rule(
      'SignalinkOutboxBacklogGrowing',
      `max(signalink_outbox_backlog${s()}) > 1000 and max(delta(signalink_outbox_backlog${s()}[15m])) > 0`,
      '15m',
      'warning',
      'The outbox backlog keeps growing',
      'More than 1000 outbox rows wait and the backlog has grown for 15 minutes: the relay publishes slower than users write.',
    ),
    rule(
      'SignalinkConsumerLagHigh',
      `sum by (group) (signalink_consumer_lag${s()}) > 10000`,
      '10m',
      'warning',
      'A consumer group falls behind',
      'Consumer group {{ $labels.group }} is {{ $value }} events behind.',
    ),
    rule(
      'SignalinkSendLatencyHigh',
      `${ackQuantile(0.99)} > 0.5`,
      '10m',
      'warning',
      'Message sends are slow',
      '99th percentile of message.send acknowledgements is {{ $value | humanizeDuration }}.',
    ),
    rule(
      'SignalinkHttpErrors',
      `${errorRatio('5m')} > 0.05`,
      '10m',
      'warning',
      'More than 5% of HTTP requests fail',
      '{{ $value | humanizePercentage }} of requests answer 5xx.',
    ),
    rule(
      'SignalinkNotificationsDeadLettered',
      `sum(increase(signalink_notifier_deliveries_total${s('outcome="dead_lettered"')}[15m])) > 0`,
      '0m',
      'warning',
      'Notifications were dead-lettered',
      '{{ $value }} notifications could not be delivered in 15 minutes (topic signalink.notifications.dlq).',
    ),
    rule(
      'SignalinkGatewayStreamOverruns',
      `sum(increase(signalink_gateway_adapter_overruns_total${s()}[10m])) > 0`,
      '0m',
      'warning',
      'A gateway fell behind the Redis stream',
      'Gateways caught up from PostgreSQL after missing stream entries; raise GATEWAY_STREAM_MAXLEN or find the stall.',
    ),
    ...burnRate,
  ];
}

export function prometheusRule(
  ctx: DesiredContext,
): IPrometheusRule & { metadata: { name: string } } {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: metadataFor(ctx, ctx.name, 'monitoring', { labels: ctx.spec.monitoring.labels }),
    spec: {
      groups: [{ name: `signalink.${ctx.namespace}.${ctx.name}`, rules: alertRules(ctx) }],
    },
  };
}

export function dashboardPanels(ctx: Pick<DesiredContext, 'name' | 'namespace'>): DashboardPanel[] {
  const { s, errorRatio, slowSendRatio, ackQuantile, podMatcher } = queries(ctx);
  return [
    {
      title: 'Connections per gateway',
      unit: 'short',
      exprs: [{ expr: `sum by (pod) (signalink_gateway_connections${s()})`, legend: '{{pod}}' }],
    },
    {
      title: 'Connections in total',
      unit: 'short',
      exprs: [{ expr: `sum(signalink_gateway_connections${s()})`, legend: 'connections' }],
    },
    {
      title: 'Messages sent per second',
      unit: 'reqps',
      exprs: [
        { expr: `sum(rate(signalink_gateway_messages_sent_total${s()}[5m]))`, legend: 'sent' },
        {
          expr: `sum(rate(signalink_gateway_messages_delivered_total${s()}[5m]))`,
          legend: 'delivered to sockets',
        },
      ],
    },
    {
      title: 'Send acknowledgement latency',
      unit: 's',
      exprs: [0.5, 0.95, 0.99].map((q) => ({ expr: ackQuantile(q), legend: `p${q * 100}` })),
    },
    {
      title: 'Delivery latency (stored to sockets)',
      unit: 's',
      exprs: [0.5, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (le) (rate(signalink_gateway_delivery_seconds_bucket${s()}[5m])))`,
        legend: `p${q * 100}`,
      })),
    },
    {
      title: 'Gap fills and stream overruns',
      unit: 'short',
      exprs: [
        {
          expr: `sum(rate(signalink_gateway_gap_fills_total${s()}[5m]))`,
          legend: 'messages filled from PostgreSQL /s',
        },
        {
          expr: `sum(increase(signalink_gateway_adapter_overruns_total${s()}[5m]))`,
          legend: 'stream overruns (5m)',
        },
      ],
    },
    {
      title: 'Gateway stream lag',
      unit: 's',
      exprs: [
        { expr: `max by (pod) (signalink_gateway_adapter_lag_seconds${s()})`, legend: '{{pod}}' },
      ],
    },
    {
      title: 'HTTP requests by status',
      unit: 'reqps',
      exprs: [
        {
          expr: `sum by (status) (rate(signalink_http_request_duration_seconds_count${s()}[5m]))`,
          legend: '{{status}}',
        },
      ],
    },
    {
      title: 'HTTP error ratio (5xx) and SLO',
      unit: 'percentunit',
      exprs: [{ expr: errorRatio('5m'), legend: '5xx ratio' }],
      threshold: Number((1 - SLOS.availability.objective).toFixed(3)),
    },
    {
      title: 'Sends slower than 250 ms',
      unit: 'percentunit',
      exprs: [{ expr: slowSendRatio('5m'), legend: 'slow share' }],
      threshold: Number((1 - SLOS.sendLatency.objective).toFixed(2)),
    },
    {
      title: 'Outbox backlog and oldest row',
      unit: 'short',
      exprs: [
        { expr: `max(signalink_outbox_backlog${s()})`, legend: 'rows' },
        {
          expr: `max(signalink_outbox_oldest_unpublished_age_seconds${s()})`,
          legend: 'oldest (s)',
        },
      ],
    },
    {
      title: 'Relay publish lag (p99)',
      unit: 's',
      exprs: [
        {
          expr: `histogram_quantile(0.99, sum by (le) (rate(signalink_relay_lag_seconds_bucket${s()}[5m])))`,
          legend: 'p99',
        },
      ],
    },
    {
      title: 'Consumer lag by group',
      unit: 'short',
      exprs: [{ expr: `sum by (group) (signalink_consumer_lag${s()})`, legend: '{{group}}' }],
    },
    {
      title: 'Notification deliveries',
      unit: 'ops',
      exprs: [
        {
          expr: `sum by (transport, outcome) (rate(signalink_notifier_deliveries_total${s()}[5m]))`,
          legend: '{{transport}} {{outcome}}',
        },
      ],
    },
    {
      title: 'Notifications dead-lettered (15m)',
      unit: 'short',
      exprs: [
        {
          expr: `sum(increase(signalink_notifier_deliveries_total${s('outcome="dead_lettered"')}[15m])) or vector(0)`,
          legend: 'to signalink.notifications.dlq',
        },
      ],
    },
    {
      title: 'Pod restarts (1h)',
      unit: 'short',
      exprs: [
        {
          expr: `sum by (pod) (increase(kube_pod_container_status_restarts_total${podMatcher}[1h]))`,
          legend: '{{pod}}',
        },
      ],
    },
  ];
}

export function dashboardJson(
  ctx: Pick<DesiredContext, 'name' | 'namespace'>,
): Record<string, unknown> {
  const panels = dashboardPanels(ctx).map((p, i) => ({
    id: i + 1,
    type: 'timeseries',
    title: p.title,
    datasource: { type: 'prometheus', uid: '${datasource}' },
    gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
    fieldConfig: {
      defaults: {
        unit: p.unit,
        ...(p.threshold !== undefined
          ? {
              thresholds: {
                mode: 'absolute',
                steps: [
                  { color: 'green', value: null },
                  { color: 'red', value: p.threshold },
                ],
              },
              custom: { thresholdsStyle: { mode: 'line' } },
            }
          : {}),
      },
      overrides: [],
    },
    options: { legend: { displayMode: 'list', placement: 'bottom' } },
    targets: p.exprs.map((e, j) => ({
      refId: String.fromCharCode(65 + j),
      datasource: { type: 'prometheus', uid: '${datasource}' },
      expr: e.expr,
      legendFormat: e.legend,
    })),
  }));
  return {
    uid: `signalink-${ctx.namespace}-${ctx.name}`.slice(0, 40),
    title: `Signalink ${ctx.namespace}/${ctx.name}`,
    tags: ['signalink'],
    schemaVersion: 39,
    editable: false,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    templating: {
      list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source' }],
    },
    panels,
  };
}

export function dashboardConfigMap(
  ctx: DesiredContext,
): IConfigMap & { metadata: { name: string } } {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadataFor(ctx, roleObjectName(ctx.name, 'dashboard'), 'monitoring', {
      labels: ctx.spec.monitoring.dashboardLabels,
    }),
    data: { [`signalink-${ctx.name}.json`]: JSON.stringify(dashboardJson(ctx), null, 2) },
  };
}
