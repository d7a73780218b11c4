import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function createGatewayMetrics(registry: Registry) {
  const registers = [registry];
  return {
    connections: new Gauge({
      name: 'signalink_gateway_connections',
      help: 'Socket.IO connections open on this gateway (the autoscaling signal)',
      registers,
    }),
    connectionsTotal: new Counter({
      name: 'signalink_gateway_connections_total',
      help: 'Connections accepted, by whether Socket.IO recovered the previous session',
      labelNames: ['recovered'] as const,
      registers,
    }),
    sessionSocketsClosed: new Counter({
      name: 'signalink_gateway_session_sockets_closed_total',
      help: 'Sockets closed because their login session ended (logout, refresh-token reuse)',
      registers,
    }),
    authFailures: new Counter({
      name: 'signalink_gateway_auth_failures_total',
      help: 'Handshakes refused for a missing, invalid, expired or revoked token',
      registers,
    }),
    messagesSent: new Counter({
      name: 'signalink_gateway_messages_sent_total',
      help: 'message.send calls acknowledged ok (new messages and idempotent retries)',
      labelNames: ['result'] as const,
      registers,
    }),
    messagesDelivered: new Counter({
      name: 'signalink_gateway_messages_delivered_total',
      help: 'message.new events handed to local sockets',
      registers,
    }),
    sendLatency: new Histogram({
      name: 'signalink_gateway_send_ack_seconds',
      help: 'Time from receiving message.send to acknowledging it (durable in PostgreSQL)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    deliveryLatency: new Histogram({
      name: 'signalink_gateway_delivery_seconds',
      help: 'Time from a message being stored (its createdAt) to this gateway handing it to its local sockets',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    eventErrors: new Counter({
      name: 'signalink_gateway_event_errors_total',
      help: 'Client events answered with an error, by event and error code',
      labelNames: ['event', 'code'] as const,
      registers,
    }),
    rateLimited: new Counter({
      name: 'signalink_gateway_rate_limited_total',
      help: 'Client events refused with RATE_LIMITED, by event',
      labelNames: ['event'] as const,
      registers,
    }),
    syncs: new Counter({
      name: 'signalink_gateway_channel_syncs_total',
      help: 'channel.sync calls (clients catching up after a gap or reconnect)',
      registers,
    }),
    gapFills: new Counter({
      name: 'signalink_gateway_gap_fills_total',
      help: 'Messages this node read from PostgreSQL because their broadcast arrived late or never',
      registers,
    }),
    adapterLag: new Gauge({
      name: 'signalink_gateway_adapter_lag_seconds',
      help: 'How far this node’s reading of the Redis stream is behind the newest entry',
      registers,
    }),
    rebalanceShed: new Counter({
      name: 'signalink_gateway_rebalance_shed_total',
      help: 'Connections this node closed (server.draining, reason "rebalance") because it held more than the fleet average',
      registers,
    }),
    fleetAverage: new Gauge({
      name: 'signalink_gateway_fleet_connections_average',
      help: 'Connections per gateway across the fleet, as this node last computed it for rebalancing',
      registers,
    }),
    fleetNodes: new Gauge({
      name: 'signalink_gateway_fleet_nodes',
      help: 'Gateways whose connection counts this node last saw in Redis, itself included',
      registers,
    }),
    adapterOverruns: new Counter({
      name: 'signalink_gateway_adapter_overruns_total',
      help: 'Times the Redis stream was trimmed past entries this node had not read yet',
      registers,
    }),
  };
}
export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
