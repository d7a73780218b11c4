// Metrics every scenario reports (custom k6 metrics must be created in the init context).
// Times are milliseconds on the load generator's clock; delivery latency compares the send
// time written into the message content with the time the message arrived, so both ends use
// the same clock.
import { Counter, Rate, Trend } from 'k6/metrics';

// Connections
export const connectMs = new Trend('signalink_connect_ms', true);
export const connectFailed = new Rate('signalink_connect_failed');
export const connections = new Counter('signalink_connections');
/** Connections that closed without the client asking (server gone, network, ping timeout). */
export const socketDrops = new Counter('signalink_socket_drops');
export const reconnects = new Counter('signalink_reconnects');
/** Drop (or, in the reconnect storm, the first attempt after staying away) to connected again. */
export const reconnectMs = new Trend('signalink_reconnect_ms', true);
/** The same start to caught up (connected and every channel synced to its head). */
export const catchupMs = new Trend('signalink_catchup_ms', true);
/** Clients that could not reconnect before giving up. */
export const reconnectGaveUp = new Counter('signalink_reconnect_gave_up');
export const serverPings = new Counter('signalink_server_pings');

// Sends
export const ackMs = new Trend('signalink_ack_ms', true);
export const restSendMs = new Trend('signalink_rest_send_ms', true);
/** One sample per message a client tried to send: true when it was never acked. */
export const sendFailed = new Rate('signalink_send_failed');
export const sendRetries = new Counter('signalink_send_retries');
export const acked = new Counter('signalink_messages_acked');

// Deliveries
export const deliveryMs = new Trend('signalink_delivery_ms', true);
/** message.new events received (one per socket and message). */
export const delivered = new Counter('signalink_messages_delivered');
/** Distinct messages each client came to hold (live or by sync), once per client and seq. */
export const received = new Counter('signalink_messages_received');
/** What the clients should hold at the end: the channel heads, summed over clients' channels. */
export const expected = new Counter('signalink_messages_expected');
/** Clients that, after the final catch-up, hold less than a channel's head. */
export const clientsBehind = new Counter('signalink_clients_behind');
/** Messages a client got through channel.sync after connecting (catch-up, gap fills). */
export const synced = new Counter('signalink_messages_synced');
/** Of those, messages committed while the socket was connected: they should have come live. */
export const lateViaSync = new Counter('signalink_late_via_sync');
/** A live message.new at or below a seq the same socket already got live (duplicate or reorder). */
export const orderViolations = new Counter('signalink_order_violations');
/** After the final catch-up: messages this VU had acked that its clients never saw. */
export const lost = new Counter('signalink_messages_lost');
/** After the final catch-up: seqs missing below the highest seq a client holds. */
export const seqGaps = new Counter('signalink_seq_gaps');
/** Liveness probes (an acked event on an idle socket). */
export const probeFailed = new Rate('signalink_probe_failed');
export const probeMs = new Trend('signalink_probe_ms', true);
