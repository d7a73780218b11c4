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
  annotations: { summary: string; description: string };
}

export interface DashboardPanel {
  title: string;
  unit: string;
  exprs: { expr: string; legend: string }[];
}

/** The PromQL label matcher of one installation. */
export function scope(ctx: Pick<DesiredContext, 'name' | 'namespace'>, extra = ''): string {
  return `{namespace="${ctx.namespace}",app_kubernetes_io_instance="${ctx.name}"${extra ? `,${extra}` : ''}}`;
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

export function alertRules(ctx: Pick<DesiredContext, 'name' | 'namespace'>): AlertRule[] {
  const s = (extra = '') => scope(ctx, extra);
  const gw = 'app_kubernetes_io_component="gateway"';
  return [
    {
      alert: 'SignalinkGatewaysDown',
      expr: `sum(up${s(gw)}) == 0 or absent(up${s(gw)})`,
      for: '2m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'No Signalink gateway is up',
        description: `Prometheus scrapes no gateway of ${ctx.namespace}/${ctx.name}: clients cannot connect.`,
      },
    },
    {
      alert: 'SignalinkNoActiveRelay',
      expr: `max(signalink_relay_active${s()}) < 1 or absent(signalink_relay_active${s()})`,
      for: '5m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'No relay publishes the outbox',
        description:
          'No relay holds the outbox lease: events stop reaching Kafka (analytics and notifications stall).',
      },
    },
    {
      alert: 'SignalinkOutboxStalled',
      expr: `max(signalink_outbox_oldest_unpublished_age_seconds${s()}) > 300`,
      for: '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Outbox rows wait more than 5 minutes',
        description:
          'The oldest unpublished outbox row is {{ $value | humanizeDuration }} old: Kafka or the relay is failing.',
      },
    },
    {
      alert: 'SignalinkConsumerLagHigh',
      expr: `sum by (group) (signalink_consumer_lag${s()}) > 10000`,
      for: '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'A consumer group falls behind',
        description: 'Consumer group {{ $labels.group }} is {{ $value }} events behind.',
      },
    },
    {
      alert: 'SignalinkSendLatencyHigh',
      expr: `histogram_quantile(0.99, sum by (le) (rate(signalink_gateway_send_ack_seconds_bucket${s()}[5m]))) > 0.5`,
      for: '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Message sends are slow',
        description:
          '99th percentile of message.send acknowledgements is {{ $value | humanizeDuration }}.',
      },
    },
    {
      alert: 'SignalinkHttpErrors',
      expr: `sum(rate(signalink_http_request_duration_seconds_count${s('status=~"5.."')}[5m])) / sum(rate(signalink_http_request_duration_seconds_count${s()}[5m])) > 0.05`,
      for: '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'More than 5% of HTTP requests fail',
        description: '{{ $value | humanizePercentage }} of requests answer 5xx.',
      },
    },
    {
      alert: 'SignalinkNotificationsDeadLettered',
      expr: `sum(increase(signalink_notifier_deliveries_total${s('outcome="dead_lettered"')}[15m])) > 0`,
      for: '0m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Notifications were dead-lettered',
        description: '{{ $value }} notifications could not be delivered in 15 minutes.',
      },
    },
    {
      alert: 'SignalinkGatewayStreamOverruns',
      expr: `sum(increase(signalink_gateway_adapter_overruns_total${s()}[10m])) > 0`,
      for: '0m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'A gateway fell behind the Redis stream',
        description:
          'Gateways caught up from PostgreSQL after missing stream entries; raise GATEWAY_STREAM_MAXLEN or find the stall.',
      },
    },
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
  const s = (extra = '') => scope(ctx, extra);
  return [
    {
      title: 'Connections per gateway',
      unit: 'short',
      exprs: [{ expr: `sum by (pod) (signalink_gateway_connections${s()})`, legend: '{{pod}}' }],
    },
    {
      title: 'Messages sent per second',
      unit: 'reqps',
      exprs: [
        { expr: `sum(rate(signalink_gateway_messages_sent_total${s()}[5m]))`, legend: 'sent' },
      ],
    },
    {
      title: 'Send acknowledgement latency',
      unit: 's',
      exprs: [0.5, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (le) (rate(signalink_gateway_send_ack_seconds_bucket${s()}[5m])))`,
        legend: `p${q * 100}`,
      })),
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
      title: 'Gateway stream lag',
      unit: 's',
      exprs: [
        { expr: `max by (pod) (signalink_gateway_adapter_lag_seconds${s()})`, legend: '{{pod}}' },
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
    fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
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
