import type { Registry } from 'prom-client';
import type { AnyRouteSpec } from './api/route-table.js';
import type { AccountService } from './chat/accounts.js';
import type { ChannelService } from './chat/channels.js';
import type { DeviceService } from './chat/devices.js';
import type { UnsubscribeTokens } from './chat/email-unsubscribe.js';
import type { FanoutSlot } from './chat/fanout.js';
import type { MessageService } from './chat/messages.js';
import type { AccessTokens } from './core/auth/access-tokens.js';
import type { RefreshTokenStore } from './core/auth/refresh-tokens.js';
import type { Config } from './core/config.js';
import type { Database } from './core/database.js';
import type { HttpHost } from './core/http-server.js';
import type { Logger } from './core/logger.js';
import type { RateLimits } from './core/rate-limits.js';
import type { Readiness } from './core/readiness.js';
import type { Redis } from './core/redis.js';
import type { PipelineEvents } from './events/presence-events.js';
import type { PresenceStore } from './gateway/presence.js';

/** Everything a role may use; built once per process by the runtime. */
export interface RoleContext {
  config: Config;
  log: Logger;
  db: Database;
  /** Absent when REDIS_URL is not set: roles use their memory engines instead. */
  redis: Redis | undefined;
  metrics: Registry;
  readiness: Readiness;
  http: HttpHost;
  /** Adds routes to the REST API under /api/v1 (auth, validation, errors and OpenAPI included). */
  addRestRoutes(routes: AnyRouteSpec[]): void;
  accessTokens: AccessTokens;
  refreshTokens: RefreshTokenStore;
  limits: RateLimits;
  accounts: AccountService;
  channels: ChannelService;
  messages: MessageService;
  devices: DeviceService;
  /** Signs (notifier) and verifies (api) the one-click unsubscribe links of digest emails. */
  unsubscribeTokens: UnsubscribeTokens;
  /** Where committed chat changes are announced; the gateway attaches to it. */
  fanout: FanoutSlot;
  /** The event bus (Kafka or in-process) and best-effort presence events for it. */
  events: PipelineEvents;
  /** Who is connected (Redis-backed with REDIS_URL, in-process otherwise). */
  presence: PresenceStore;
}

export interface RoleHandle {
  /**
   * First phase of shutdown: stop taking new work, finish what is in flight. Called for every
   * role, in parallel, before any `stop`.
   */
  drain?(deadline: number): Promise<void>;
  /** Second phase: release resources. */
  stop(): Promise<void>;
}

export type RoleStarter = (ctx: RoleContext) => Promise<RoleHandle>;
