// Checks Kubernetes objects two ways: kubernetes-models' validators (types, required fields,
// enums, formats), and a walk of the objects against the models' TypeScript interfaces that
// reports every field the interface does not declare (a misspelling the validators let pass).
// Shared by the operator's desired-state tests, the charts' rendered output and the platform
// manifests; a kind is added here and in model-types.ts together.
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { Cluster } from '@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster';
import { Gateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway';
import { GatewayClass } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/GatewayClass';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Kafka } from '@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1/Kafka';
import { KafkaNodePool } from '@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1/KafkaNodePool';
import { KafkaTopic } from '@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1/KafkaTopic';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

type Validatable = { validate(): void };
export type KubeLike = { apiVersion: string; kind: string; [field: string]: unknown };
const MODELS: Record<string, new (data: any) => Validatable> = {
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'batch/v1/Job': Job,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'kafka.strimzi.io/v1/KafkaTopic': KafkaTopic,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
  'gateway.networking.k8s.io/v1/HTTPRoute': HTTPRoute,
  'apiextensions.k8s.io/v1/CustomResourceDefinition': CustomResourceDefinition,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Pod': Pod,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/StatefulSet': StatefulSet,
  'kafka.strimzi.io/v1/Kafka': Kafka,
  'kafka.strimzi.io/v1/KafkaNodePool': KafkaNodePool,
  'postgresql.cnpg.io/v1/Cluster': Cluster,
  'gateway.networking.k8s.io/v1/GatewayClass': GatewayClass,
  'gateway.networking.k8s.io/v1/Gateway': Gateway,
};

/** The kinds this module can check, as `apiVersion/kind`. */
export const CHECKED_KINDS: readonly string[] = Object.keys(MODELS);

export function modelKey(o: { apiVersion: string; kind: string }): string {
  return `${o.apiVersion}/${o.kind}`;
}

/** kubernetes-models' verdict: undefined when valid, else its message. */
export function modelError(object: KubeLike): string | undefined {
  const Model = MODELS[modelKey(object)];
  if (!Model) return `no model for ${modelKey(object)}`;
  try {
    new Model(object).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

let checker: ts.TypeChecker | undefined;
let models: ts.Type | undefined;

function load(): { checker: ts.TypeChecker; models: ts.Type } {
  if (checker && models) return { checker, models };
  const file = fileURLToPath(new URL('./model-types.ts', import.meta.url));
  const program = ts.createProgram([file], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: [],
  });
  checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  let found: ts.Type | undefined;
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === 'RenderedModels') {
      found = checker!.getTypeAtLocation(node);
    }
  });
  if (!found) throw new Error('RenderedModels not found in model-types.ts');
  models = found;
  return { checker, models };
}

function objectMembers(c: ts.TypeChecker, type: ts.Type): ts.Type[] {
  const t = c.getNonNullableType(type);
  const parts = t.isUnion() ? t.types : [t];
  return parts.filter((p) => (p.flags & ts.TypeFlags.Object) !== 0 || p.isIntersection());
}

function walk(c: ts.TypeChecker, type: ts.Type, value: unknown, path: string, out: string[]): void {
  if (value === null || typeof value !== 'object') return;
  const members = objectMembers(c, type);
  if (members.length === 0) return; // a primitive or `any` here: nothing to compare keys with
  // `{}` in a model (any JSON, or a KafkaTopic's config) is open: nothing to compare with.
  const isOpen = (m: ts.Type) =>
    c.getPropertiesOfType(m).length === 0 &&
    !c.getIndexTypeOfType(m, ts.IndexKind.String) &&
    !c.getIndexTypeOfType(m, ts.IndexKind.Number);
  if (members.some(isOpen)) return;
  if (Array.isArray(value)) {
    const element = members
      .map((m) => c.getIndexTypeOfType(m, ts.IndexKind.Number))
      .find((e): e is ts.Type => e !== undefined);
    if (!element) {
      out.push(`${path}: a list where the model has an object`);
      return;
    }
    value.forEach((v, i) => walk(c, element, v, `${path}[${i}]`, out));
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    let next: ts.Type | undefined;
    for (const m of members) {
      const prop = c.getPropertyOfType(m, key);
      if (prop) {
        next = c.getTypeOfSymbol(prop);
        break;
      }
      const index = c.getIndexTypeOfType(m, ts.IndexKind.String);
      if (index) {
        next = index;
        break;
      }
    }
    if (next) walk(c, next, v, `${path}.${key}`, out);
    else out.push(`${path}.${key}`);
  }
}

/** Field paths the object has and its model does not declare. */
export function unknownFields(object: KubeLike): string[] {
  const { checker: c, models: m } = load();
  const prop = c.getPropertyOfType(m, modelKey(object));
  if (!prop) return [`<no model type for ${modelKey(object)}>`];
  const out: string[] = [];
  walk(c, c.getTypeOfSymbol(prop), object, '', out);
  return out.map((p) => p.replace(/^\./, ''));
}
