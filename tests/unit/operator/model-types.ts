// The kubernetes-models interface of every kind the operator renders, keyed by
// `apiVersion/kind`. model-check.ts reads these types with the TypeScript compiler to find
// fields the models do not know (kubernetes-models' own validation lets them through).
import type { IHTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { IKafkaTopic } from '@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1/KafkaTopic';
import type { ICustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

export interface RenderedModels {
  'v1/ServiceAccount': IServiceAccount;
  'v1/ConfigMap': IConfigMap;
  'v1/Service': IService;
  'batch/v1/Job': IJob;
  'apps/v1/Deployment': IDeployment;
  'policy/v1/PodDisruptionBudget': IPodDisruptionBudget;
  'networking.k8s.io/v1/NetworkPolicy': INetworkPolicy;
  'autoscaling/v2/HorizontalPodAutoscaler': IHorizontalPodAutoscaler;
  'keda.sh/v1alpha1/ScaledObject': IScaledObject;
  'kafka.strimzi.io/v1/KafkaTopic': IKafkaTopic;
  'monitoring.coreos.com/v1/ServiceMonitor': IServiceMonitor;
  'monitoring.coreos.com/v1/PrometheusRule': IPrometheusRule;
  'gateway.networking.k8s.io/v1/HTTPRoute': IHTTPRoute;
  'apiextensions.k8s.io/v1/CustomResourceDefinition': ICustomResourceDefinition;
  'rbac.authorization.k8s.io/v1/ClusterRole': IClusterRole;
}
