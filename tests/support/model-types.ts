// The kubernetes-models interface of every kind the operator renders, the charts render and the
// platform manifests hold, keyed by `apiVersion/kind`. model-check.ts reads these types with the
// TypeScript compiler to find fields the models do not know (kubernetes-models' own validation
// lets them through).
import type { ICluster } from '@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster';
import type { IGateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway';
import type { IGatewayClass } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/GatewayClass';
import type { IHTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { IKafka } from '@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1/Kafka';
import type { IKafkaNodePool } from '@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1/KafkaNodePool';
import type { IKafkaTopic } from '@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1/KafkaTopic';
import type { ICustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { ISecret } from 'kubernetes-models/v1/Secret';
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
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': IClusterRoleBinding;
  'rbac.authorization.k8s.io/v1/Role': IRole;
  'rbac.authorization.k8s.io/v1/RoleBinding': IRoleBinding;
  'v1/Namespace': INamespace;
  'v1/Secret': ISecret;
  'v1/Pod': IPod;
  'v1/PersistentVolumeClaim': IPersistentVolumeClaim;
  'apps/v1/StatefulSet': IStatefulSet;
  'kafka.strimzi.io/v1/Kafka': IKafka;
  'kafka.strimzi.io/v1/KafkaNodePool': IKafkaNodePool;
  'postgresql.cnpg.io/v1/Cluster': ICluster;
  'gateway.networking.k8s.io/v1/GatewayClass': IGatewayClass;
  'gateway.networking.k8s.io/v1/Gateway': IGateway;
}
