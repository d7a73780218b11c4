import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mountApi } from './api/app.js';
import { AccountService } from './chat/accounts.js';
import { ChannelService } from './chat/channels.js';
import { DeviceService } from './chat/devices.js';
import { FanoutSlot } from './chat/fanout.js';
import { MessageService } from './chat/messages.js';
import { AccessTokens } from './core/auth/access-tokens.js';
import { resolveJwtSecret } from './core/auth/jwt-secret.js';
import { RefreshTokenStore } from './core/auth/refresh-tokens.js';
import type { Config, RoleName } from './core/config.js';
import { createDatabase, migrate, pingDatabase, type Database } from './core/database.js';
import { createHttpHost } from './core/http-server.js';
import type { Logger } from './core/logger.js';
import { createMetricsRegistry } from './core/metrics.js';
import { RateLimits } from './core/rate-limits.js';
import { Readiness } from './core/readiness.js';
import { createRedis, pingRedis, type Redis } from './core/redis.js';

export interface Signalink {
  server: Server;
  port: number;
  db: Database;
  readiness: Readiness;
  /** Drains (readiness 503, roles finish in-flight work) and releases every resource. */
  stop(): Promise<void>;
}

type Stopper = () => Promise<void>;

/** Composition root: builds the shared resources once and starts the configured roles. */
export async function startSignalink(config: Config, log: Logger): Promise<Signalink> {
  const stoppers: Stopper[] = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) {
      try {
        await stop();
      } catch (err) {
        log.warn({ err }, 'error while stopping');
      }
    }
  };
  try {
    if (!config.databaseUrl) {
      throw new Error('DATABASE_URL is not set (point it at PostgreSQL 13 or newer)');
    }
    const db = createDatabase(config.databaseUrl, config.databasePoolMax);
    stoppers.push(() => db.destroy());
    await migrate(db, log);

    const redis: Redis | undefined = config.redisUrl ? createRedis(config.redisUrl, log, 'main') : undefined;
    if (redis) stoppers.push(async () => void redis.disconnect());

    const registry = createMetricsRegistry();
    const readiness = new Readiness();
    readiness.add('postgres', () => pingDatabase(db));
    if (redis) readiness.add('redis', () => pingRedis(redis));

    const limits = new RateLimits(config, redis);
    const fanout = new FanoutSlot();
    const jwtSecret = resolveJwtSecret(config, log);
    const accessTokens = new AccessTokens(jwtSecret, config.accessTokenTtlSeconds);
    const refreshTokens = new RefreshTokenStore(db, config.refreshTokenTtlSeconds);
    const accounts = new AccountService(db, accessTokens, refreshTokens, limits, config.adminUsernames);
    const channels = new ChannelService(db, fanout);
    const messages = new MessageService(db, fanout, limits);
    const devices = new DeviceService(db);

    const host = createHttpHost(registry, readiness, log);
    const roles = config.roles;
    const has = (role: RoleName) => roles.has(role);
    if (has('api')) {
      mountApi(host.app, {
        accounts,
        channels,
        messages,
        devices,
        accessTokens,
        refreshTokens,
        limits,
        log,
        corsOrigins: config.corsOrigins,
        bodyLimitBytes: config.httpBodyLimitBytes,
      });
    }
    for (const role of ['gateway', 'relay', 'analytics', 'notifier', 'operator'] as const) {
      if (has(role)) log.warn({ role }, 'role is not available in this build yet; skipped');
    }

    await new Promise<void>((resolve, reject) => {
      host.server.once('error', reject);
      host.server.listen(config.port, config.host, () => resolve());
    });
    stoppers.push(
      () =>
        new Promise<void>((resolve) => {
          host.server.close(() => resolve());
          host.server.closeAllConnections();
        }),
    );
    const port = (host.server.address() as AddressInfo).port;
    log.info({ port, roles: [...roles], redis: redis ? 'redis' : 'memory' }, 'signalink listening');

    let stopping: Promise<void> | undefined;
    return {
      server: host.server,
      port,
      db,
      readiness,
      stop: () => {
        stopping ??= (async () => {
          readiness.startDraining();
          await stopAll();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
