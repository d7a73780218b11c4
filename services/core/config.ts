import { z } from 'zod';

export const ROLE_NAMES = ['api', 'gateway', 'relay', 'analytics', 'notifier', 'operator'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];
const DEFAULT_ROLES: RoleName[] = ['api', 'gateway', 'relay', 'analytics', 'notifier'];

const optionalString = z
  .string()
  .transform((v) => v.trim())
  .optional()
  .transform((v) => (v === '' ? undefined : v));

const commaList = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** Push transports (one at most) and the email digest transport (docs/pipeline.md). */
export const PUSH_TRANSPORTS = ['fcm', 'webhook', 'log'] as const;
export type PushTransport = (typeof PUSH_TRANSPORTS)[number];
const NOTIFIER_TRANSPORTS = [...PUSH_TRANSPORTS, 'email'] as const;

const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().default('0.0.0.0'),
    ROLES: commaList.pipe(z.array(z.enum(ROLE_NAMES))),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
    DATABASE_POOL_MAX: positiveInt(10),
    // A pool that empties after a short pause makes the next burst of sends wait for new
    // connections (and cold backends): keep idle connections for minutes, not seconds.
    DATABASE_POOL_IDLE_TIMEOUT_MS: positiveInt(600_000),
    DATA_DIR: z.string().default('./.signalink'),
    // Only without DATABASE_URL: the embedded server's port on 127.0.0.1 (0: a free one each start).
    EMBEDDED_POSTGRES_PORT: z.coerce.number().int().min(0).max(65535).default(0),
    REDIS_URL: optionalString.pipe(z.url({ protocol: /^rediss?$/ }).optional()),
    REDIS_KEY_PREFIX: z.string().default('signalink:'),
    KAFKA_BROKERS: commaList,
    KAFKA_CLIENT_ID: z.string().default('signalink'),
    KAFKA_TOPIC_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, . _ - only')
      .default(''),
    KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(1000).default(30_000),
    KAFKA_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(100).default(3000),
    KAFKA_MAX_WAIT_MS: z.coerce.number().int().min(1).default(500),
    // The topics of the contract are created at start unless something else manages them
    // (the operator, as Strimzi KafkaTopics): then they are only checked.
    KAFKA_CREATE_TOPICS: z.enum(['true', 'false']).default('true'),
    KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(10_000).default(6),
    KAFKA_TOPIC_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(32).optional(),
    RELAY_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
    RELAY_POLL_INTERVAL_MS: z.coerce.number().int().min(10).default(1000),
    RELAY_STANDBY_RETRY_MS: z.coerce.number().int().min(10).default(1000),
    RELAY_RETRY_MAX_MS: z.coerce.number().int().min(10).default(30_000),
    OUTBOX_RETENTION_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .default(24 * 3600),
    OUTBOX_PRUNE_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),
    ANALYTICS_MINUTE_RETENTION_DAYS: positiveInt(14),
    ANALYTICS_DEDUPE_RETENTION_HOURS: positiveInt(72),
    JWT_SECRET: optionalString.pipe(
      z.string().min(32, 'must be at least 32 characters').optional(),
    ),
    ACCESS_TOKEN_TTL_SECONDS: positiveInt(15 * 60),
    REFRESH_TOKEN_TTL_SECONDS: positiveInt(30 * 24 * 3600),
    ADMIN_USERNAMES: commaList,
    CORS_ORIGINS: commaList,
    HTTP_BODY_LIMIT_BYTES: positiveInt(64 * 1024),
    API_RATE_LIMIT_PER_MINUTE: positiveInt(1200),
    LOGIN_ATTEMPTS_PER_15_MINUTES: positiveInt(10),
    REGISTRATIONS_PER_HOUR_PER_IP: positiveInt(50),
    MESSAGE_RATE_PER_SECOND: positiveInt(10),
    MESSAGE_RATE_BURST: positiveInt(20),
    CHANNEL_MESSAGE_RATE_PER_SECOND: positiveInt(200),
    MAX_CONNECTIONS_PER_USER: positiveInt(5),
    GATEWAY_MAX_PAYLOAD_BYTES: positiveInt(64 * 1024),
    GATEWAY_STREAM_MAXLEN: positiveInt(50_000),
    GATEWAY_PRESENCE_TTL_MS: z.coerce.number().int().min(1000).default(30_000),
    // Rebalancing after scale-out (services/gateway/rebalance.ts); 0 turns it off.
    GATEWAY_REBALANCE_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
    GATEWAY_REBALANCE_TOLERANCE: z.coerce.number().min(1).max(10).default(1.2),
    GATEWAY_REBALANCE_MIN_EXCESS: z.coerce.number().int().min(1).default(10),
    GATEWAY_REBALANCE_FRACTION: z.coerce.number().gt(0).max(1).default(0.2),
    GATEWAY_REBALANCE_MAX_PER_INTERVAL: z.coerce.number().int().min(1).default(100),
    DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).default(20000),
    // Group commit of sends (services/chat/group-commit.ts).
    SEND_BATCH_MAX_MESSAGES: z.coerce.number().int().min(1).max(10_000).default(256),
    SEND_BATCH_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    SEND_BATCH_MAX_WAIT_MS: z.coerce.number().int().min(0).max(1000).default(5),
    SEND_BATCH_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100).optional(),
    // Unset: `log`, plus `email` when SMTP_URL is set.
    NOTIFIER_TRANSPORT: z
      .string()
      .optional()
      .transform((v) =>
        v === undefined || v.trim() === ''
          ? undefined
          : v
              .split(',')
              .map((s) => s.trim())
              .filter((s) => s.length > 0),
      )
      .pipe(z.array(z.enum(NOTIFIER_TRANSPORTS)).optional()),
    NOTIFIER_WEBHOOK_URL: optionalString.pipe(z.url().optional()),
    NOTIFIER_WEBHOOK_SECRET: optionalString,
    NOTIFIER_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
    NOTIFIER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(6),
    NOTIFIER_RETRY_BASE_MS: z.coerce.number().int().min(1).default(1000),
    NOTIFIER_RETRY_MAX_MS: z.coerce
      .number()
      .int()
      .min(1)
      .default(5 * 60_000),
    NOTIFIER_POLL_INTERVAL_MS: z.coerce.number().int().min(10).default(1000),
    SMTP_URL: optionalString.pipe(z.url({ protocol: /^smtps?$/ }).optional()),
    EMAIL_FROM: z
      .string()
      .trim()
      .regex(/^[^\r\n]*@[^\r\n]+$/, 'an address such as "Signalink <no-reply@example.com>"')
      .default('Signalink <no-reply@localhost>'),
    EMAIL_DIGEST_WINDOW_SECONDS: positiveInt(600),
    EMAIL_UNSUBSCRIBE_SECRET: optionalString.pipe(
      z.string().min(32, 'must be at least 32 characters').optional(),
    ),
    PUBLIC_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    GOOGLE_APPLICATION_CREDENTIALS: optionalString,
    FCM_SERVICE_ACCOUNT_JSON: optionalString,
    OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(z.url().optional()),
    OTEL_SERVICE_NAME: z.string().default('signalink'),
    // The operator role (docs/operator.md).
    WATCH_NAMESPACE: commaList.pipe(z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/))),
    POD_NAME: optionalString,
    POD_NAMESPACE: optionalString,
    OPERATOR_LEASE_NAME: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)
      .default('signalink-operator'),
    OPERATOR_LEASE_NAMESPACE: optionalString,
    OPERATOR_LEASE_DURATION_SECONDS: z.coerce.number().int().min(2).max(600).default(15),
    OPERATOR_RENEW_DEADLINE_SECONDS: z.coerce.number().int().min(1).max(600).default(10),
    OPERATOR_RETRY_PERIOD_SECONDS: z.coerce.number().int().min(1).max(60).default(2),
    OPERATOR_RESYNC_SECONDS: z.coerce.number().int().min(10).max(86_400).default(300),
    OPERATOR_WORKERS: z.coerce.number().int().min(1).max(32).default(2),
  })
  .superRefine((env, ctx) => {
    if (
      env.SEND_BATCH_MAX_IN_FLIGHT !== undefined &&
      env.SEND_BATCH_MAX_IN_FLIGHT > env.DATABASE_POOL_MAX
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['SEND_BATCH_MAX_IN_FLIGHT'],
        message: 'must not exceed DATABASE_POOL_MAX (each batch in flight holds a connection)',
      });
    }
    if (env.OPERATOR_RENEW_DEADLINE_SECONDS >= env.OPERATOR_LEASE_DURATION_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['OPERATOR_RENEW_DEADLINE_SECONDS'],
        message: 'must be shorter than OPERATOR_LEASE_DURATION_SECONDS',
      });
    }
    if (env.OPERATOR_RETRY_PERIOD_SECONDS >= env.OPERATOR_RENEW_DEADLINE_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['OPERATOR_RETRY_PERIOD_SECONDS'],
        message: 'must be shorter than OPERATOR_RENEW_DEADLINE_SECONDS',
      });
    }
    // The operator alone never issues or checks tokens.
    const onlyOperator = env.ROLES.length > 0 && env.ROLES.every((r) => r === 'operator');
    if (env.NODE_ENV === 'production' && !env.JWT_SECRET && !onlyOperator) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message: 'is required when NODE_ENV=production',
      });
    }
    const transports = env.NOTIFIER_TRANSPORT ?? [];
    const push = transports.filter((t) => t !== 'email');
    if (push.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['NOTIFIER_TRANSPORT'],
        message: `at most one of ${PUSH_TRANSPORTS.join(', ')} (plus email), got ${transports.join(',')}`,
      });
    }
    if (env.NODE_ENV === 'production' && transports.includes('email') && !env.SMTP_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['SMTP_URL'],
        message: 'is required when NOTIFIER_TRANSPORT includes email and NODE_ENV=production',
      });
    }
    const webhook = transports.includes('webhook');
    if (webhook && !env.NOTIFIER_WEBHOOK_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['NOTIFIER_WEBHOOK_URL'],
        message: 'is required when NOTIFIER_TRANSPORT=webhook',
      });
    }
    if (webhook && !env.NOTIFIER_WEBHOOK_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['NOTIFIER_WEBHOOK_SECRET'],
        message:
          'is required when NOTIFIER_TRANSPORT=webhook (receivers verify X-Signalink-Signature with it)',
      });
    }
  });

export type Env = z.infer<typeof envSchema>;

export interface Config {
  nodeEnv: Env['NODE_ENV'];
  port: number;
  host: string;
  roles: ReadonlySet<RoleName>;
  logLevel: Env['LOG_LEVEL'];
  databaseUrl: string | undefined;
  databasePoolMax: number;
  /** How long an idle pooled connection is kept before it is closed. */
  databasePoolIdleTimeoutMs: number;
  dataDir: string;
  embeddedPostgresPort: number;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  kafkaBrokers: string[];
  kafkaClientId: string;
  /** Event pipeline settings (docs/pipeline.md). */
  kafka: {
    /** Prefixed to every topic and consumer group name, so installations can share a cluster. */
    topicPrefix: string;
    sessionTimeoutMs: number;
    heartbeatIntervalMs: number;
    maxWaitMs: number;
    createTopics: boolean;
    topicPartitions: number;
    /** Absent: three, or the number of brokers when the cluster has fewer. */
    topicReplicationFactor: number | undefined;
  };
  relay: {
    batchSize: number;
    pollIntervalMs: number;
    standbyRetryMs: number;
    retryMaxMs: number;
    retentionSeconds: number;
    pruneIntervalMs: number;
  };
  analytics: { minuteRetentionDays: number; dedupeRetentionHours: number };
  jwtSecret: string | undefined;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  adminUsernames: ReadonlySet<string>;
  corsOrigins: string[];
  httpBodyLimitBytes: number;
  limits: {
    apiRequestsPerMinute: number;
    loginAttemptsPer15Minutes: number;
    registrationsPerHourPerIp: number;
    messagesPerSecond: number;
    messageBurst: number;
    channelMessagesPerSecond: number;
    connectionsPerUser: number;
  };
  gateway: {
    /** Largest Socket.IO packet the engine accepts. */
    maxPayloadBytes: number;
    /** Entries the Redis stream keeps for nodes that fall behind (see docs). */
    streamMaxLen: number;
    /** A socket whose node stops heartbeating counts as gone after this long. */
    presenceTtlMs: number;
    /** Shedding connections above the fleet average (needs REDIS_URL; see the README). */
    rebalance: {
      intervalMs: number;
      tolerance: number;
      minExcess: number;
      fraction: number;
      maxPerInterval: number;
    };
  };
  drainTimeoutMs: number;
  /** Group commit of sends: when a batch closes, and how many are written at once. */
  sendBatch: { maxItems: number; maxBytes: number; maxWaitMs: number; maxInFlight: number };
  notifier: {
    /** The push transport, if any (NOTIFIER_TRANSPORT without `email`). */
    transport: PushTransport | undefined;
    /** Email digests: on when NOTIFIER_TRANSPORT lists `email` (or is unset and SMTP_URL is set). */
    email: {
      enabled: boolean;
      /** Absent: mails are written to the log instead of sent (never in production). */
      smtpUrl: string | undefined;
      from: string;
      digestWindowSeconds: number;
    };
    webhookUrl: string | undefined;
    webhookSecret: string | undefined;
    googleApplicationCredentials: string | undefined;
    fcmServiceAccountJson: string | undefined;
    webhookTimeoutMs: number;
    maxAttempts: number;
    retryBaseMs: number;
    retryMaxMs: number;
    pollIntervalMs: number;
  };
  otel: { endpoint: string | undefined; serviceName: string };
  /** The operator role: what it watches and how replicas elect a leader (docs/operator.md). */
  operator: {
    /** Empty: every namespace. */
    watchNamespaces: string[];
    /** This replica's identity in the Lease (POD_NAME, else the host name). */
    podName: string | undefined;
    /** Where the Lease lives: OPERATOR_LEASE_NAMESPACE, POD_NAMESPACE, else the kubeconfig's. */
    leaseNamespace: string | undefined;
    leaseName: string;
    leaseDurationSeconds: number;
    renewDeadlineSeconds: number;
    retryPeriodSeconds: number;
    resyncSeconds: number;
    workers: number;
  };
  /**
   * Where users reach this installation; links in emails start with it. Unset: the notifier
   * uses http://localhost and the port the server listens on.
   */
  publicUrl: string | undefined;
  /** Signs one-click unsubscribe links; derived from the JWT secret when not set. */
  emailUnsubscribeSecret: string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the process environment once; every problem names the variable it concerns. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`,
      ),
    );
  }
  const env = parsed.data;
  const transports = env.NOTIFIER_TRANSPORT ?? (env.SMTP_URL ? ['log', 'email'] : ['log']);
  return {
    nodeEnv: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    roles: new Set(env.ROLES.length > 0 ? env.ROLES : DEFAULT_ROLES),
    logLevel: env.LOG_LEVEL,
    databaseUrl: env.DATABASE_URL,
    databasePoolMax: env.DATABASE_POOL_MAX,
    databasePoolIdleTimeoutMs: env.DATABASE_POOL_IDLE_TIMEOUT_MS,
    dataDir: env.DATA_DIR,
    embeddedPostgresPort: env.EMBEDDED_POSTGRES_PORT,
    redisUrl: env.REDIS_URL,
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    kafkaBrokers: env.KAFKA_BROKERS,
    kafkaClientId: env.KAFKA_CLIENT_ID,
    kafka: {
      topicPrefix: env.KAFKA_TOPIC_PREFIX,
      sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: env.KAFKA_HEARTBEAT_INTERVAL_MS,
      maxWaitMs: env.KAFKA_MAX_WAIT_MS,
      createTopics: env.KAFKA_CREATE_TOPICS === 'true',
      topicPartitions: env.KAFKA_TOPIC_PARTITIONS,
      topicReplicationFactor: env.KAFKA_TOPIC_REPLICATION_FACTOR,
    },
    relay: {
      batchSize: env.RELAY_BATCH_SIZE,
      pollIntervalMs: env.RELAY_POLL_INTERVAL_MS,
      standbyRetryMs: env.RELAY_STANDBY_RETRY_MS,
      retryMaxMs: env.RELAY_RETRY_MAX_MS,
      retentionSeconds: env.OUTBOX_RETENTION_SECONDS,
      pruneIntervalMs: env.OUTBOX_PRUNE_INTERVAL_MS,
    },
    analytics: {
      minuteRetentionDays: env.ANALYTICS_MINUTE_RETENTION_DAYS,
      dedupeRetentionHours: env.ANALYTICS_DEDUPE_RETENTION_HOURS,
    },
    jwtSecret: env.JWT_SECRET,
    accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
    adminUsernames: new Set(env.ADMIN_USERNAMES.map((u) => u.toLowerCase())),
    corsOrigins: env.CORS_ORIGINS,
    httpBodyLimitBytes: env.HTTP_BODY_LIMIT_BYTES,
    limits: {
      apiRequestsPerMinute: env.API_RATE_LIMIT_PER_MINUTE,
      loginAttemptsPer15Minutes: env.LOGIN_ATTEMPTS_PER_15_MINUTES,
      registrationsPerHourPerIp: env.REGISTRATIONS_PER_HOUR_PER_IP,
      messagesPerSecond: env.MESSAGE_RATE_PER_SECOND,
      messageBurst: env.MESSAGE_RATE_BURST,
      channelMessagesPerSecond: env.CHANNEL_MESSAGE_RATE_PER_SECOND,
      connectionsPerUser: env.MAX_CONNECTIONS_PER_USER,
    },
    gateway: {
      maxPayloadBytes: env.GATEWAY_MAX_PAYLOAD_BYTES,
      streamMaxLen: env.GATEWAY_STREAM_MAXLEN,
      presenceTtlMs: env.GATEWAY_PRESENCE_TTL_MS,
      rebalance: {
        intervalMs: env.GATEWAY_REBALANCE_INTERVAL_MS,
        tolerance: env.GATEWAY_REBALANCE_TOLERANCE,
        minExcess: env.GATEWAY_REBALANCE_MIN_EXCESS,
        fraction: env.GATEWAY_REBALANCE_FRACTION,
        maxPerInterval: env.GATEWAY_REBALANCE_MAX_PER_INTERVAL,
      },
    },
    drainTimeoutMs: env.DRAIN_TIMEOUT_MS,
    sendBatch: {
      maxItems: env.SEND_BATCH_MAX_MESSAGES,
      maxBytes: env.SEND_BATCH_MAX_BYTES,
      maxWaitMs: env.SEND_BATCH_MAX_WAIT_MS,
      maxInFlight: env.SEND_BATCH_MAX_IN_FLIGHT ?? Math.min(4, env.DATABASE_POOL_MAX),
    },
    notifier: {
      transport: transports.find((t): t is PushTransport => t !== 'email'),
      email: {
        enabled: transports.includes('email'),
        smtpUrl: env.SMTP_URL,
        from: env.EMAIL_FROM,
        digestWindowSeconds: env.EMAIL_DIGEST_WINDOW_SECONDS,
      },
      webhookUrl: env.NOTIFIER_WEBHOOK_URL,
      webhookSecret: env.NOTIFIER_WEBHOOK_SECRET,
      googleApplicationCredentials: env.GOOGLE_APPLICATION_CREDENTIALS,
      fcmServiceAccountJson: env.FCM_SERVICE_ACCOUNT_JSON,
      webhookTimeoutMs: env.NOTIFIER_WEBHOOK_TIMEOUT_MS,
      maxAttempts: env.NOTIFIER_MAX_ATTEMPTS,
      retryBaseMs: env.NOTIFIER_RETRY_BASE_MS,
      retryMaxMs: env.NOTIFIER_RETRY_MAX_MS,
      pollIntervalMs: env.NOTIFIER_POLL_INTERVAL_MS,
    },
    otel: { endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: env.OTEL_SERVICE_NAME },
    operator: {
      watchNamespaces: env.WATCH_NAMESPACE,
      podName: env.POD_NAME,
      leaseNamespace: env.OPERATOR_LEASE_NAMESPACE ?? env.POD_NAMESPACE,
      leaseName: env.OPERATOR_LEASE_NAME,
      leaseDurationSeconds: env.OPERATOR_LEASE_DURATION_SECONDS,
      renewDeadlineSeconds: env.OPERATOR_RENEW_DEADLINE_SECONDS,
      retryPeriodSeconds: env.OPERATOR_RETRY_PERIOD_SECONDS,
      resyncSeconds: env.OPERATOR_RESYNC_SECONDS,
      workers: env.OPERATOR_WORKERS,
    },
    publicUrl: env.PUBLIC_URL?.replace(/\/+$/, ''),
    emailUnsubscribeSecret: env.EMAIL_UNSUBSCRIBE_SECRET,
  };
}
