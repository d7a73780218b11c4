// The local chaos experiments: what each breaks, and when the system counts as healthy again.
import type { LoadShape } from './load.js';
import type { Probe } from './probe.js';
import type { Deployment, Infra, SignalinkProcess } from './system.js';
import { planShedding, type RebalanceSettings } from '../../services/gateway/rebalance.js';
import { sleep } from '../lib/paths.js';
import { rebalanceSettings } from './system.js';

export interface ExperimentContext {
  infra: Infra;
  deployment: Deployment;
  probe: Probe;
  shape: LoadShape;
  /** Connections a healthy system holds: one per load client, plus the probe's. */
  expectedConnections: number;
  log(line: string): void;
  /** Problems that fail the experiment whatever the verifier says. */
  problems: string[];
  /** Lines for the report (numbers an experiment measures besides the verdict). */
  details: string[];
}

export interface Experiment {
  name: string;
  description: string;
  /** What "healthy again" means, for the docs and the output. */
  recovery: string;
  /** Gateways running before the fault (default all three). */
  initialGateways?: number;
  load?: Partial<LoadShape>;
  recoveryTimeoutMs?: number;
  /**
   * Breaks something; resolves with the moment the fault counts from (default: when inject
   * was called).
   */
  inject(ctx: ExperimentContext): Promise<number | void>;
  healthy(ctx: ExperimentContext): Promise<boolean>;
  /** After recovery: undo the fault as an orchestrator would (restart what was killed). */
  restore?(ctx: ExperimentContext): Promise<void>;
  /** After the load: numbers for the report. */
  report?(ctx: ExperimentContext): Promise<void>;
}

/** Every load client and the probe hold a socket again, and a message sent now is delivered. */
async function socketsHealthy(ctx: ExperimentContext): Promise<boolean> {
  const held = (await ctx.deployment.connections()).reduce((a, b) => a + b, 0);
  if (held !== ctx.expectedConnections) return false;
  return ctx.probe.delivered();
}

/** A message sent now goes all the way: acked, delivered live, and counted by analytics. */
async function pipelineHealthy(ctx: ExperimentContext): Promise<boolean> {
  if (!(await ctx.probe.delivered())) return false;
  return ctx.probe.counted(ctx.deployment.db, 5000);
}

async function busiestGateway(ctx: ExperimentContext): Promise<SignalinkProcess> {
  const counts = await ctx.deployment.connections();
  const i = counts.indexOf(Math.max(...counts));
  ctx.log(`connections before the fault: ${counts.join(' / ')}`);
  return ctx.deployment.gateways[i]!;
}

/**
 * Rebalancing is done: no gateway would shed another connection by the rule the gateways
 * themselves apply (services/gateway/rebalance.ts), with the deployment's settings.
 */
export function converged(counts: number[], settings: RebalanceSettings): boolean {
  return counts.every(
    (own, i) =>
      planShedding({ own, others: counts.filter((_, j) => j !== i), draining: false, settings })
        .shed === 0,
  );
}

const victims = new WeakMap<ExperimentContext, SignalinkProcess>();

export const EXPERIMENTS: Experiment[] = [
  {
    name: 'gateway-sigkill',
    description: 'SIGKILL the gateway holding the most connections',
    recovery:
      'every client holds a socket again (on the other gateways) and a probe message is delivered live',
    inject: async (ctx) => {
      const g = await busiestGateway(ctx);
      victims.set(ctx, g);
      await g.kill('SIGKILL');
    },
    healthy: socketsHealthy,
    restore: async (ctx) => victims.get(ctx)?.start(),
  },
  {
    name: 'gateway-sigterm',
    description: 'SIGTERM (graceful drain) of the gateway holding the most connections',
    recovery:
      'the drained gateway exited 0, every client holds a socket on the others and a probe message is delivered live',
    inject: async (ctx) => {
      const g = await busiestGateway(ctx);
      victims.set(ctx, g);
      const exit = g.kill('SIGTERM');
      void exit.then((code) => {
        if (code !== 0) ctx.problems.push(`the drained gateway exited with ${code}, not 0`);
        else ctx.log('the drained gateway exited 0');
      });
    },
    healthy: async (ctx) => !victims.get(ctx)?.running && socketsHealthy(ctx),
    restore: async (ctx) => victims.get(ctx)?.start(),
  },
  {
    name: 'scale-out-rebalance',
    description:
      'load on two gateways, then a third one starts and joins the HAProxy pool (rebalancing)',
    recovery:
      'no gateway would shed another connection by the gateways’ own rule, all clients connected, a probe message delivered live',
    initialGateways: 2,
    load: { users: 45, channels: 15, durationS: 45 },
    recoveryTimeoutMs: 120_000,
    inject: async (ctx) => {
      const counts = await ctx.deployment.connections();
      ctx.log(`connections before the third gateway: ${counts.join(' / ')}`);
      ctx.details.push(`before: ${counts.join(' / ')}`);
      await ctx.deployment.gateways[2]!.start();
      // The fault (the imbalance) counts from the moment the new gateway is ready.
      return Date.now();
    },
    healthy: async (ctx) => {
      const counts = await ctx.deployment.connections();
      if (counts.reduce((a, b) => a + b, 0) !== ctx.expectedConnections) return false;
      if (!converged(counts, rebalanceSettings(ctx.deployment.env))) return false;
      if (!(await ctx.probe.delivered())) return false;
      const shed = await ctx.deployment.gatewaySum('signalink_gateway_rebalance_shed_total');
      ctx.details.push(
        `converged: ${counts.join(' / ')}; ${counts[2]} connections moved to the new gateway, ${shed} shed in all (round robin sends some back)`,
      );
      return true;
    },
  },
  {
    name: 'kafka-broker-kill',
    description: 'SIGKILL one of the three Kafka brokers (replication 3, min.insync.replicas 2)',
    recovery:
      'a probe message is delivered live and counted by analytics (relay -> Kafka -> analytics)',
    inject: async (ctx) => {
      await ctx.infra.kafka.nodes[0]!.kill('SIGKILL');
    },
    healthy: pipelineHealthy,
    restore: async (ctx) => {
      await ctx.infra.kafka.nodes[0]!.start();
      await ctx.infra.kafka.waitForBrokers(3);
    },
  },
  {
    name: 'kafka-all-brokers-down',
    description: 'SIGKILL all three Kafka brokers, keep them down 10 s, start them again',
    recovery:
      'after the brokers are back, a probe message is counted by analytics (measured from the kill, the 10 s outage included)',
    recoveryTimeoutMs: 240_000,
    inject: async (ctx) => {
      const started = Date.now();
      await Promise.all(ctx.infra.kafka.nodes.map((n) => n.kill('SIGKILL')));
      // Chat does not depend on Kafka: sends are acked (the outbox holds the events).
      const during = await ctx.probe.delivered(5000);
      ctx.details.push(
        `chat while every broker was down: ${during ? 'delivered' : 'NOT delivered'}`,
      );
      if (!during) ctx.problems.push('a message sent while Kafka was down was not delivered');
      await sleep(Math.max(0, 10_000 - (Date.now() - started)));
      await Promise.all(ctx.infra.kafka.nodes.map((n) => n.start()));
      ctx.log('brokers started again');
      return started;
    },
    healthy: pipelineHealthy,
    restore: async (ctx) => ctx.infra.kafka.waitForBrokers(3),
  },
  {
    name: 'redis-restart',
    description: 'SIGKILL Redis and start it again on its port, empty (no persistence)',
    recovery:
      'every client holds a socket and a probe message sent through REST is delivered live across gateways (Redis stream adapter)',
    inject: async (ctx) => {
      await ctx.infra.redis.stop('SIGKILL');
      await ctx.infra.redis.start();
    },
    healthy: socketsHealthy,
  },
  {
    name: 'postgres-restart',
    description:
      'PostgreSQL fast shutdown (SIGINT: connections closed, data written out) and start again on its data',
    recovery:
      'every client holds a socket, a probe message is acked, delivered live and counted by analytics',
    inject: async (ctx) => {
      await ctx.infra.postgres.stop('SIGINT');
      await ctx.infra.postgres.start();
    },
    healthy: async (ctx) =>
      (await socketsHealthy(ctx)) && ctx.probe.counted(ctx.deployment.db, 5000),
  },
  {
    name: 'relay-kill',
    description: 'SIGKILL the relay (outbox -> Kafka) and start it again',
    recovery: 'a probe message is counted by analytics',
    inject: async (ctx) => {
      await ctx.deployment.relay.kill('SIGKILL');
      await ctx.deployment.relay.start();
    },
    healthy: pipelineHealthy,
  },
  {
    name: 'analytics-kill',
    description: 'SIGKILL the analytics consumer and start it again',
    recovery: 'a probe message is counted by analytics',
    inject: async (ctx) => {
      await ctx.deployment.analytics.kill('SIGKILL');
      await ctx.deployment.analytics.start();
    },
    healthy: pipelineHealthy,
  },
];

export function experimentNamed(name: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.name === name);
}
