import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRestApi } from './api/app.js';
import { coreRoutes } from './api/routes/index.js';
import { mountWebClient } from './api/web-client.js';
import { AccountService } from './chat/accounts.js';
import { ChannelService } from './chat/channels.js';
import { DeviceService } from './chat/devices.js';
import { UnsubscribeTokens } from './chat/email-unsubscribe.js';
import { FanoutSlot } from './chat/fanout.js';
import { MessageService } from './chat/messages.js';
import { sendBatchMetrics } from './chat/send-metrics.js';
import { OutboxWakeup } from './chat/outbox.js';
import { AccessTokens } from './core/auth/access-tokens.js';
import { resolveJwtSecret } from './core/auth/jwt-secret.js';
import { RefreshTokenStore } from './core/auth/refresh-tokens.js';
import type { Config, RoleName } from './core/config.js';
import { createDatabase, migrate, pingDatabase, type Database } from './core/database.js';
import { startEmbeddedPostgres } from './core/embedded-postgres.js';
import { describeEngines } from './core/engines.js';
import { createHttpHost } from './core/http-server.js';
import type { Logger } from './core/logger.js';
import { createMetricsRegistry } from './core/metrics.js';
import { RateLimits } from './core/rate-limits.js';
import { Readiness } from './core/readiness.js';
import { createRedis, pingRedis } from './core/redis.js';
import { createPresenceStore } from './gateway/presence.js';
import { startPublisher } from './gateway/publisher.js';
import { startGateway } from './gateway/server.js';
import { createPipelineEvents } from './events/presence-events.js';
import { createEventBus } from './events/select-engine.js';
import { startRelay } from './relay/role.js';
import { startAnalytics } from './analytics/role.js';
import { startNotifier } from './notifier/role.js';
import { startOperator } from './operator/role.js';
import type { HttpHost } from './core/http-server.js';
import type { RoleContext, RoleHandle, RoleStarter } from './role.js';

export interface Signalink {
  server: Server;
  port: number;
  ctx: RoleContext;
  /** Drains every role (readiness 503, in-flight work finishes) and releases every resource. */
  stop(): Promise<void>;
}

/** A running process: its HTTP server and how to stop it. */
export interface SignalinkProcess {
  server: Server;
  port: number;
  stop(): Promise<void>;
}

/** Roles in start order; the api role goes first so others can rely on its services. */
const ROLE_STARTERS: Record<RoleName, RoleStarter> = {
  api: async (ctx) => {
    ctx.addRestRoutes(coreRoutes(ctx));
    mountWebClient(ctx.http.app, ctx.log);
    // Without a local gateway, changes made here reach sockets through the shared stream.
    return ctx.config.roles.has('gateway') ? { stop: async () => {} } : startPublisher(ctx);
  },
  gateway: startGateway,
  relay: startRelay,
  analytics: startAnalytics,
  notifier: startNotifier,
  operator: startOperator,
};

/** The operator alone talks only to the Kubernetes API: no database, Redis or event bus. */
export function onlyOperator(config: Config): boolean {
  return [...config.roles].every((r) => r === 'operator');
}

/** Starts what config.roles asks for: the full runtime, or the lean operator-only process. */
export async function startProcess(config: Config, log: Logger): Promise<SignalinkProcess> {
  return onlyOperator(config) ? startOperatorProcess(config, log) : startSignalink(config, log);
}

async function startOperatorProcess(config: Config, log: Logger): Promise<SignalinkProcess> {
  const metrics = createMetricsRegistry();
  const readiness = new Readiness();
  const http = createHttpHost(metrics, readiness, log);
  const handles = [
    await startOperator({ config, log: log.child({ role: 'operator' }), metrics, readiness }),
  ];
  try {
    return await serve(config, log, http, readiness, handles, async () => {});
  } catch (err) {
    for (const h of handles) await h.stop().catch(() => {});
    throw err;
  }
}

/** Listens on PORT, and returns the two-phase stop (drain every role, then stop and release). */
async function serve(
  config: Config,
  log: Logger,
  http: HttpHost,
  readiness: Readiness,
  handles: RoleHandle[],
  release: () => Promise<void>,
): Promise<SignalinkProcess> {
  await new Promise<void>((resolve, reject) => {
    http.server.once('error', reject);
    http.server.listen(config.port, config.host, () => resolve());
  });
  const port = (http.server.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      readiness.startDraining();
      const deadline = Date.now() + config.drainTimeoutMs;
      await Promise.allSettled(handles.map((h) => h.drain?.(deadline)));
      for (const h of [...handles].reverse()) {
        try {
          await h.stop();
        } catch (err) {
          log.warn({ err }, 'error while stopping a role');
        }
      }
      await new Promise<void>((resolve) => {
        http.server.close(() => resolve());
        http.server.closeAllConnections();
      });
      await release();
    })();
    return stopping;
  };
  log.info({ port, roles: [...config.roles] }, 'signalink listening');
  return { server: http.server, port, stop };
}

/** Composition root: builds the shared resources once and starts the configured roles. */
export async function startSignalink(config: Config, log: Logger): Promise<Signalink> {
  const releases: (() => Promise<void>)[] = [];
  const handles: RoleHandle[] = [];
  const release = async () => {
    for (const fn of releases.reverse()) {
      try {
        await fn();
      } catch (err) {
        log.warn({ err }, 'error while releasing a resource');
      }
    }
  };
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const embedded = await startEmbeddedPostgres(config.dataDir, log, {
        port: config.embeddedPostgresPort,
      });
      releases.push(() => embedded.stop());
      databaseUrl = embedded.url;
    }
    const db: Database = createDatabase(
      databaseUrl,
      { max: config.databasePoolMax, idleTimeoutMs: config.databasePoolIdleTimeoutMs },
      log,
    );
    releases.push(() => db.destroy());
    await migrate(db, log);

    const redis = config.redisUrl
      ? createRedis(config.redisUrl, log, 'main', { autoPipelining: true })
      : undefined;
    if (redis) releases.push(async () => void redis.disconnect());

    const metrics = createMetricsRegistry();
    const bus = createEventBus(config, log, metrics);
    releases.push(() => bus.close());
    const readiness = new Readiness();
    readiness.add('postgres', () => pingDatabase(db));
    if (redis) readiness.add('redis', () => pingRedis(redis));

    const limits = new RateLimits(config, redis);
    // Before Redis closes: the sending limits' last local counts reach it.
    releases.push(() => limits.stop());
    const fanout = new FanoutSlot();
    const outboxWakeup = new OutboxWakeup(db, (err) =>
      log.warn({ err }, 'could not wake the relay'),
    );
    releases.push(async () => outboxWakeup.stop());
    const messages = new MessageService(db, fanout, limits, outboxWakeup, {
      sendBatch: config.sendBatch,
      sendBatchHooks: sendBatchMetrics(metrics),
    });
    // Released before the pool: sends already accepted are written, not dropped.
    releases.push(() => messages.close());
    const jwtSecret = resolveJwtSecret(config, log);
    const accessTokens = new AccessTokens(jwtSecret, config.accessTokenTtlSeconds);
    const refreshTokens = new RefreshTokenStore(db, config.refreshTokenTtlSeconds);
    const http = createHttpHost(metrics, readiness, log);
    const rest = createRestApi({
      accessTokens,
      refreshTokens,
      limits,
      log,
      corsOrigins: config.corsOrigins,
      bodyLimitBytes: config.httpBodyLimitBytes,
    });

    const ctx: RoleContext = {
      config,
      log,
      db,
      redis,
      metrics,
      readiness,
      http,
      addRestRoutes: (routes) => rest.add(routes),
      accessTokens,
      refreshTokens,
      limits,
      accounts: new AccountService(db, accessTokens, refreshTokens, limits, config.adminUsernames),
      channels: new ChannelService(db, fanout),
      messages,
      devices: new DeviceService(db),
      unsubscribeTokens: UnsubscribeTokens.fromSecrets(config.emailUnsubscribeSecret, jwtSecret),
      fanout,
      events: createPipelineEvents(bus, log, metrics),
      presence: createPresenceStore(redis, config.redisKeyPrefix, config.gateway.presenceTtlMs),
    };

    for (const role of Object.keys(ROLE_STARTERS) as RoleName[]) {
      if (!config.roles.has(role)) continue;
      handles.push(await ROLE_STARTERS[role]({ ...ctx, log: log.child({ role }) }));
    }
    rest.mountOn(http.app);

    const serving = await serve(config, log, http, readiness, handles, release);
    log.info({ engine: redis ? 'redis' : 'memory', ...describeEngines(config) }, 'engines in use');
    return { ...serving, ctx };
  } catch (err) {
    for (const h of handles.reverse()) await h.stop().catch(() => {});
    await release();
    throw err;
  }
}
