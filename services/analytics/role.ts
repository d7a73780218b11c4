import { ANALYTICS_CONSUMER } from '../events/consumer-groups.js';
import type { RoleStarter } from '../role.js';
import { createAnalyticsMetrics } from './metrics.js';
import { AnalyticsQueries } from './queries.js';
import { analyticsRoutes } from './routes.js';
import { AnalyticsStore } from './store.js';

const PRUNE_EVERY_MS = 60 * 60_000;

/** The analytics role: consumes the pipeline topics into windows and serves /analytics. */
export const startAnalytics: RoleStarter = async (ctx) => {
  const store = new AnalyticsStore(ctx.db, ctx.log, createAnalyticsMetrics(ctx.metrics));
  const { groupId, topics } = ANALYTICS_CONSUMER;
  ctx.addRestRoutes(
    analyticsRoutes({ db: ctx.db, accounts: ctx.accounts, queries: new AnalyticsQueries(ctx.db) }),
  );
  const subscription = await ctx.events.bus.subscribe({
    groupId,
    topics: [...topics],
    storedPositions: (assigned) => store.positions(groupId, assigned),
    handleBatch: async (batch) => void (await store.applyBatch(groupId, batch)),
  });
  const prune = () =>
    store
      .prune(ctx.config.analytics.minuteRetentionDays, ctx.config.analytics.dedupeRetentionHours)
      .catch((err: unknown) => ctx.log.warn({ err }, 'analytics pruning failed'));
  const pruning = setInterval(() => void prune(), PRUNE_EVERY_MS);
  pruning.unref();
  let stopped: Promise<void> | undefined;
  const stop = () => {
    clearInterval(pruning);
    stopped ??= subscription.stop();
    return stopped;
  };
  return { drain: stop, stop };
};
