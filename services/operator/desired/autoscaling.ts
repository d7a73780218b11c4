// PodDisruptionBudgets and autoscalers. Gateways scale on the per-pod gauge
// signalink_gateway_connections, analytics and notifier on their consumer group's lag; scale-down
// is slow and stabilised, because a removed gateway drops every socket it holds.
import type { IScaleTriggers } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaleTriggers';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IHPAScalingRules } from 'kubernetes-models/autoscaling/v2/HPAScalingRules';
import type { IMetricSpec } from 'kubernetes-models/autoscaling/v2/MetricSpec';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ANALYTICS_CONSUMER, NOTIFIER_CONSUMER } from '../../events/consumer-groups.js';
import { roleObjectName, selectorFor, type WorkloadRole } from '../naming.js';
import type { SignalinkSpec } from '../spec.js';
import { isAutoscaled, metadataFor, workloadRoles, type DesiredContext } from './context.js';

export const GATEWAY_METRIC = 'signalink_gateway_connections';
export const LAG_METRIC = 'signalink_consumer_lag';

export function podDisruptionBudgets(
  ctx: DesiredContext,
): (IPodDisruptionBudget & { metadata: { name: string } })[] {
  const pdb = ctx.spec.podDisruptionBudget;
  if (!pdb.enabled) return [];
  return workloadRoles(ctx.spec).map((role) => ({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadataFor(ctx, roleObjectName(ctx.name, role), role),
    spec: {
      maxUnavailable: pdb.maxUnavailable,
      selector: { matchLabels: selectorFor(ctx.name, role) },
      // A pod that never became ready is not protecting anything; let node drains evict it.
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  }));
}

type ScaledRole = 'gateway' | 'analytics' | 'notifier';
const SCALED_ROLES: readonly ScaledRole[] = ['gateway', 'analytics', 'notifier'];

interface ScalingParams {
  minReplicas: number;
  maxReplicas: number;
  scaleDownStabilizationSeconds: number;
}

function params(spec: SignalinkSpec, role: ScaledRole): ScalingParams {
  return role === 'gateway' ? spec.gateway.autoscaling : spec[role].autoscaling;
}

function behavior(role: ScaledRole, p: ScalingParams) {
  const scaleDown: IHPAScalingRules = {
    stabilizationWindowSeconds: p.scaleDownStabilizationSeconds,
    // Gateways leave one at a time; each removal moves its sockets to the others.
    policies:
      role === 'gateway'
        ? [{ type: 'Pods', value: 1, periodSeconds: 120 }]
        : [{ type: 'Percent', value: 50, periodSeconds: 60 }],
    selectPolicy: 'Min',
  };
  const scaleUp: IHPAScalingRules = {
    stabilizationWindowSeconds: 0,
    policies: [
      { type: 'Percent', value: 100, periodSeconds: 30 },
      { type: 'Pods', value: 2, periodSeconds: 30 },
    ],
    selectPolicy: 'Max',
  };
  return { scaleDown, scaleUp };
}

function consumerGroup(spec: SignalinkSpec, role: 'analytics' | 'notifier'): string {
  const group = role === 'analytics' ? ANALYTICS_CONSUMER.groupId : NOTIFIER_CONSUMER.groupId;
  return spec.kafka.topicPrefix + group;
}

/** KEDA when installed (and not ruled out by spec.autoscaling.engine), else an HPA. */
export function usesKeda(ctx: DesiredContext, role: ScaledRole): boolean {
  const engine = ctx.spec.autoscaling.engine;
  if (engine === 'hpa' || !ctx.apis.keda) return false;
  // KEDA reads gateway connections from Prometheus; without an address, an HPA on the
  // metrics API (prometheus-adapter) is the way.
  if (role === 'gateway' && !ctx.spec.autoscaling.prometheus) return false;
  return true;
}

function gatewayQuery(ctx: DesiredContext): string {
  return `sum(${GATEWAY_METRIC}{namespace="${ctx.namespace}",service="${roleObjectName(ctx.name, 'gateway')}"})`;
}

function scaledObject(
  ctx: DesiredContext,
  role: ScaledRole,
): IScaledObject & { metadata: { name: string } } {
  const p = params(ctx.spec, role);
  const name = roleObjectName(ctx.name, role);
  const trigger: IScaleTriggers =
    role === 'gateway'
      ? {
          type: 'prometheus',
          metricType: 'AverageValue',
          metadata: {
            serverAddress: ctx.spec.autoscaling.prometheus!.serverAddress,
            query: gatewayQuery(ctx),
            threshold: String(ctx.spec.gateway.autoscaling.targetConnectionsPerPod),
          },
        }
      : {
          type: 'kafka',
          metadata: {
            bootstrapServers: ctx.spec.kafka.bootstrapServers,
            consumerGroup: consumerGroup(ctx.spec, role),
            lagThreshold: String(ctx.spec[role].autoscaling.lagThreshold),
            offsetResetPolicy: 'earliest',
            // More consumers than partitions would sit idle.
            allowIdleConsumers: 'false',
          },
        };
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: metadataFor(ctx, name, role),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicaCount: p.minReplicas,
      maxReplicaCount: p.maxReplicas,
      pollingInterval: 15,
      cooldownPeriod: 300,
      advanced: {
        horizontalPodAutoscalerConfig: { name, behavior: behavior(role, p) },
      },
      triggers: [trigger],
    },
  };
}

function hpa(
  ctx: DesiredContext,
  role: ScaledRole,
): IHorizontalPodAutoscaler & { metadata: { name: string } } {
  const p = params(ctx.spec, role);
  const name = roleObjectName(ctx.name, role);
  const metric: IMetricSpec =
    role === 'gateway'
      ? {
          type: 'Pods',
          pods: {
            metric: { name: GATEWAY_METRIC },
            target: {
              type: 'AverageValue',
              averageValue: String(ctx.spec.gateway.autoscaling.targetConnectionsPerPod),
            },
          },
        }
      : {
          type: 'External',
          external: {
            metric: {
              name: LAG_METRIC,
              selector: {
                matchLabels: {
                  group:
                    role === 'analytics' ? ANALYTICS_CONSUMER.groupId : NOTIFIER_CONSUMER.groupId,
                  namespace: ctx.namespace,
                },
              },
            },
            target: {
              type: 'AverageValue',
              averageValue: String(ctx.spec[role].autoscaling.lagThreshold),
            },
          },
        };
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: metadataFor(ctx, name, role),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: p.minReplicas,
      maxReplicas: p.maxReplicas,
      metrics: [metric],
      behavior: behavior(role, p),
    },
  };
}

export function autoscalers(ctx: DesiredContext): (IScaledObject | IHorizontalPodAutoscaler)[] {
  const out: (IScaledObject | IHorizontalPodAutoscaler)[] = [];
  for (const role of SCALED_ROLES) {
    if (!isAutoscaled(ctx.spec, role as WorkloadRole)) continue;
    out.push(usesKeda(ctx, role) ? scaledObject(ctx, role) : hpa(ctx, role));
  }
  return out;
}
