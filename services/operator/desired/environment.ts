// The processes' environment (variables of services/core/config.ts): shared settings in one
// ConfigMap, secrets as secretKeyRefs, notifier settings only where the notifier runs.
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import { roleObjectName, shortHash } from '../naming.js';
import type { SignalinkSpec } from '../spec.js';
import { CONTAINER_PORT, metadataFor, type DesiredContext } from './context.js';

/** Where processes may write (the root filesystem is read-only): an emptyDir. */
export const TMP_DIR = '/tmp';

export function configMapName(instance: string): string {
  return roleObjectName(instance, 'config');
}

export function sharedEnvironment(spec: SignalinkSpec): Record<string, string> {
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    HOST: '0.0.0.0',
    PORT: String(CONTAINER_PORT),
    LOG_LEVEL: spec.logLevel,
    DATA_DIR: `${TMP_DIR}/signalink`,
    DATABASE_POOL_MAX: String(spec.database.poolMax),
    REDIS_KEY_PREFIX: spec.redis.keyPrefix,
    KAFKA_BROKERS: spec.kafka.bootstrapServers,
    KAFKA_TOPIC_PREFIX: spec.kafka.topicPrefix,
    // With Strimzi the topics are KafkaTopics; processes only check that they exist.
    KAFKA_CREATE_TOPICS: spec.kafka.strimzi ? 'false' : 'true',
    DRAIN_TIMEOUT_MS: String(spec.drain.timeoutMs),
  };
  if (spec.redis.url) env.REDIS_URL = spec.redis.url;
  if (spec.adminUsernames?.length) env.ADMIN_USERNAMES = spec.adminUsernames.join(',');
  if (spec.corsOrigins?.length) env.CORS_ORIGINS = spec.corsOrigins.join(',');
  if (spec.publicUrl) env.PUBLIC_URL = spec.publicUrl;
  return env;
}

export function configMap(ctx: DesiredContext): IConfigMap & { metadata: { name: string } } {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadataFor(ctx, configMapName(ctx.name), 'config'),
    data: sharedEnvironment(ctx.spec),
  };
}

/** Pods roll when the ConfigMap changes: its hash is in their template. */
export function configHash(spec: SignalinkSpec): string {
  const data = sharedEnvironment(spec);
  return shortHash(JSON.stringify(Object.entries(data).sort()), 16);
}

function fromSecret(name: string, ref: { name: string; key: string }): IEnvVar {
  return { name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } };
}

/** Secrets every Signalink process needs (config validation in production requires JWT_SECRET). */
export function secretEnvironment(spec: SignalinkSpec): IEnvVar[] {
  const env = [
    fromSecret('DATABASE_URL', spec.database.secretRef),
    fromSecret('JWT_SECRET', spec.jwt.secretRef),
  ];
  if (spec.redis.secretRef) env.push(fromSecret('REDIS_URL', spec.redis.secretRef));
  return env;
}

export function notifierEnvironment(spec: SignalinkSpec): IEnvVar[] {
  const n = spec.notifier;
  const transports: string[] = [n.transport];
  if (n.email.enabled) transports.push('email');
  const env: IEnvVar[] = [{ name: 'NOTIFIER_TRANSPORT', value: transports.join(',') }];
  if (n.transport === 'webhook' && n.webhook) {
    env.push(
      { name: 'NOTIFIER_WEBHOOK_URL', value: n.webhook.url },
      { name: 'NOTIFIER_WEBHOOK_TIMEOUT_MS', value: String(n.webhook.timeoutMs) },
      fromSecret('NOTIFIER_WEBHOOK_SECRET', n.webhook.secretRef),
    );
  }
  if (n.transport === 'fcm' && n.fcm) {
    env.push(fromSecret('FCM_SERVICE_ACCOUNT_JSON', n.fcm.secretRef));
  }
  if (n.email.enabled && n.email.smtpSecretRef) {
    env.push(fromSecret('SMTP_URL', n.email.smtpSecretRef));
    if (n.email.from) env.push({ name: 'EMAIL_FROM', value: n.email.from });
    if (n.email.digestWindowSeconds !== undefined) {
      env.push({
        name: 'EMAIL_DIGEST_WINDOW_SECONDS',
        value: String(n.email.digestWindowSeconds),
      });
    }
  }
  return env;
}

/** Every Secret and key a spec refers to, with the spec field that names it. */
export function referencedSecrets(
  spec: SignalinkSpec,
): { name: string; key: string; field: string }[] {
  const refs = [
    { ...spec.database.secretRef, field: 'spec.database.secretRef' },
    { ...spec.jwt.secretRef, field: 'spec.jwt.secretRef' },
  ];
  if (spec.redis.secretRef) refs.push({ ...spec.redis.secretRef, field: 'spec.redis.secretRef' });
  const n = spec.notifier;
  if (n.transport === 'webhook' && n.webhook) {
    refs.push({ ...n.webhook.secretRef, field: 'spec.notifier.webhook.secretRef' });
  }
  if (n.transport === 'fcm' && n.fcm) {
    refs.push({ ...n.fcm.secretRef, field: 'spec.notifier.fcm.secretRef' });
  }
  if (n.email.enabled && n.email.smtpSecretRef) {
    refs.push({ ...n.email.smtpSecretRef, field: 'spec.notifier.email.smtpSecretRef' });
  }
  return refs;
}

/** Later lists win by name; the order of first appearance is kept (stable output). */
export function mergeEnv(...lists: (IEnvVar[] | undefined)[]): IEnvVar[] {
  const byName = new Map<string, IEnvVar>();
  for (const list of lists) for (const e of list ?? []) byName.set(e.name, e);
  return [...byName.values()];
}
