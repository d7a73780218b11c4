// Services for every role, NetworkPolicies that open only the http port (to whom the spec says),
// and a Gateway API HTTPRoute whose /socket.io rule has no request timeout, so WebSockets stay.
import type { IHTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyIngressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyIngressRule';
import type { IService } from 'kubernetes-models/v1/Service';
import { roleObjectName, selectorFor, type WorkloadRole } from '../naming.js';
import { SERVICE_PORT, metadataFor, workloadRoles, type DesiredContext } from './context.js';
import { MIGRATIONS_COMPONENT } from './workloads.js';

/** Roles whose http port serves users (through a Service, an ingress or the HTTPRoute). */
const PUBLIC_ROLES: readonly WorkloadRole[] = ['gateway', 'api', 'analytics'];

export function services(ctx: DesiredContext): (IService & { metadata: { name: string } })[] {
  return workloadRoles(ctx.spec).map((role) => {
    const gateway = role === 'gateway';
    const svc = ctx.spec.gateway.service;
    return {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadataFor(ctx, roleObjectName(ctx.name, role), role, {
        annotations: gateway ? svc.annotations : undefined,
      }),
      spec: {
        type: gateway ? svc.type : 'ClusterIP',
        selector: selectorFor(ctx.name, role),
        ports: [
          {
            name: 'http',
            port: gateway ? svc.port : SERVICE_PORT,
            targetPort: 'http',
            protocol: 'TCP',
            appProtocol: 'http',
          },
        ],
      },
    };
  });
}

function httpIngress(
  from: INetworkPolicyIngressRule['from'] | undefined,
): INetworkPolicyIngressRule {
  return {
    ...(from && from.length > 0 ? { from } : {}),
    ports: [{ port: 'http', protocol: 'TCP' }],
  };
}

/**
 * One policy per role: ingress only on the http port, from `ingressFrom` for the roles users
 * reach and from `metricsFrom` for the others; migration pods accept nothing. Roles never call
 * each other (they meet in PostgreSQL, Redis and Kafka), so nothing else is opened. Egress is
 * left open: the databases and brokers may live anywhere.
 */
export function networkPolicies(
  ctx: DesiredContext,
): (INetworkPolicy & { metadata: { name: string } })[] {
  const np = ctx.spec.networkPolicy;
  if (!np.enabled) return [];
  const policies: (INetworkPolicy & { metadata: { name: string } })[] = workloadRoles(ctx.spec).map(
    (role) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: metadataFor(ctx, roleObjectName(ctx.name, role), role),
      spec: {
        podSelector: { matchLabels: selectorFor(ctx.name, role) },
        policyTypes: ['Ingress'],
        ingress: [httpIngress(PUBLIC_ROLES.includes(role) ? np.ingressFrom : np.metricsFrom)],
      },
    }),
  );
  policies.push({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadataFor(
      ctx,
      roleObjectName(ctx.name, MIGRATIONS_COMPONENT),
      MIGRATIONS_COMPONENT,
    ),
    spec: {
      podSelector: { matchLabels: selectorFor(ctx.name, MIGRATIONS_COMPONENT) },
      policyTypes: ['Ingress'],
    },
  });
  return policies;
}

export function httpRoute(ctx: DesiredContext): IHTTPRoute & { metadata: { name: string } } {
  const { spec } = ctx;
  const route = spec.route;
  const backend = (role: WorkloadRole) => ({
    name: roleObjectName(ctx.name, role),
    port: role === 'gateway' ? spec.gateway.service.port : SERVICE_PORT,
  });
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: metadataFor(ctx, ctx.name, 'route'),
    spec: {
      parentRefs: route.parentRefs.map((p) => ({
        group: 'gateway.networking.k8s.io',
        kind: 'Gateway',
        ...p,
      })),
      ...(route.hostnames.length > 0 ? { hostnames: route.hostnames } : {}),
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/socket.io' } }],
          backendRefs: [backend('gateway')],
          timeouts: { request: route.websocketTimeout },
        },
        {
          matches: [{ path: { type: 'PathPrefix', value: '/api/v1/analytics' } }],
          backendRefs: [backend('analytics')],
          timeouts: { request: route.requestTimeout },
        },
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: [backend(spec.api.separate ? 'api' : 'gateway')],
          timeouts: { request: route.requestTimeout },
        },
      ],
    },
  };
}
