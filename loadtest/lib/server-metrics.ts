/**
 * Reads a few of Signalink's own Prometheus metrics before and after a measured interval, so
 * the report can split latency into "inside the gateway's send handler" (validate, rate
 * limits, transaction, commit) and everything else. The baseline has no /metrics.
 */
export interface ServerSample {
  sendCount: number;
  sendSumSeconds: number;
  /** Cumulative counts per `le` bucket of signalink_gateway_send_ack_seconds. */
  sendBuckets: Map<string, number>;
  gapFills: number;
  overruns: number;
  /** Group commit: batches written and the sends in them (signalink_send_batch_messages). */
  batches: number;
  batchedSends: number;
  /**
   * Event-loop delay since the previous scrape (prom-client resets its monitor on every
   * collection), worst node: p99 and max in ms.
   */
  loopP99Ms: number;
  loopMaxMs: number;
}

export interface ServerStats {
  sends: number;
  /** Mean time inside the send handler, ms. */
  sendMeanMs: number;
  /** Upper bound of the bucket holding the 50th / 99th percentile, ms. */
  sendP50LeMs: number;
  sendP99LeMs: number;
  /** Messages read back from PostgreSQL because a broadcast arrived late or never. */
  gapFills: number;
  overruns: number;
  /** Mean sends per group-commit batch. */
  sendsPerBatch: number;
  /** Worst gateway event-loop delay over the interval, ms. */
  loopP99Ms: number;
  loopMaxMs: number;
}

const value = (line: string) => Number(line.slice(line.lastIndexOf(' ') + 1));

async function scrape(url: string): Promise<ServerSample | undefined> {
  let text: string;
  try {
    const res = await fetch(`${url}/metrics`);
    if (res.status !== 200) return undefined;
    text = await res.text();
  } catch {
    return undefined;
  }
  const sample: ServerSample = {
    sendCount: 0,
    sendSumSeconds: 0,
    sendBuckets: new Map(),
    gapFills: 0,
    overruns: 0,
    batches: 0,
    batchedSends: 0,
    loopP99Ms: 0,
    loopMaxMs: 0,
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('signalink_gateway_send_ack_seconds_bucket')) {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      if (le) sample.sendBuckets.set(le, value(line));
    } else if (line.startsWith('signalink_gateway_send_ack_seconds_count'))
      sample.sendCount = value(line);
    else if (line.startsWith('signalink_gateway_send_ack_seconds_sum'))
      sample.sendSumSeconds = value(line);
    else if (line.startsWith('signalink_gateway_gap_fills_total')) sample.gapFills = value(line);
    else if (line.startsWith('signalink_gateway_adapter_overruns_total'))
      sample.overruns = value(line);
    else if (line.startsWith('signalink_send_batch_messages_count')) sample.batches = value(line);
    else if (line.startsWith('signalink_send_batch_messages_sum'))
      sample.batchedSends = value(line);
    else if (line.startsWith('nodejs_eventloop_lag_p99_seconds'))
      sample.loopP99Ms = value(line) * 1000;
    else if (line.startsWith('nodejs_eventloop_lag_max_seconds'))
      sample.loopMaxMs = value(line) * 1000;
  }
  return sample;
}

/** Sums the metrics of every node. */
export async function sampleServers(urls: string[]): Promise<ServerSample | undefined> {
  const samples = (await Promise.all(urls.map(scrape))).filter(
    (s): s is ServerSample => s !== undefined,
  );
  if (samples.length === 0) return undefined;
  const total: ServerSample = {
    sendCount: 0,
    sendSumSeconds: 0,
    sendBuckets: new Map(),
    gapFills: 0,
    overruns: 0,
    batches: 0,
    batchedSends: 0,
    loopP99Ms: 0,
    loopMaxMs: 0,
  };
  for (const s of samples) {
    total.loopP99Ms = Math.max(total.loopP99Ms, s.loopP99Ms);
    total.loopMaxMs = Math.max(total.loopMaxMs, s.loopMaxMs);
    total.sendCount += s.sendCount;
    total.sendSumSeconds += s.sendSumSeconds;
    total.gapFills += s.gapFills;
    total.overruns += s.overruns;
    total.batches += s.batches;
    total.batchedSends += s.batchedSends;
    for (const [le, n] of s.sendBuckets)
      total.sendBuckets.set(le, (total.sendBuckets.get(le) ?? 0) + n);
  }
  return total;
}

export function serverDelta(
  before: ServerSample | undefined,
  after: ServerSample | undefined,
): ServerStats | undefined {
  if (!before || !after) return undefined;
  const sends = after.sendCount - before.sendCount;
  const leOf = (le: string) => (le === '+Inf' ? Infinity : Number(le));
  const bucketAt = (p: number) => {
    const rank = (p / 100) * sends;
    const les = [...after.sendBuckets.keys()].sort((a, b) => leOf(a) - leOf(b));
    for (const le of les) {
      const n = after.sendBuckets.get(le)! - (before.sendBuckets.get(le) ?? 0);
      if (n >= rank) return leOf(le) * 1000;
    }
    return Infinity;
  };
  return {
    sends,
    sendMeanMs: sends > 0 ? ((after.sendSumSeconds - before.sendSumSeconds) / sends) * 1000 : NaN,
    sendP50LeMs: sends > 0 ? bucketAt(50) : NaN,
    sendP99LeMs: sends > 0 ? bucketAt(99) : NaN,
    gapFills: after.gapFills - before.gapFills,
    overruns: after.overruns - before.overruns,
    sendsPerBatch:
      (after.batchedSends - before.batchedSends) / Math.max(1, after.batches - before.batches),
    loopP99Ms: after.loopP99Ms,
    loopMaxMs: after.loopMaxMs,
  };
}

export const serverText = (s: ServerStats | undefined): string =>
  s
    ? `mean ${s.sendMeanMs.toFixed(1)} ms, p50 ≤ ${s.sendP50LeMs} ms, p99 ≤ ${s.sendP99LeMs} ms; ${Number.isFinite(s.sendsPerBatch) ? s.sendsPerBatch.toFixed(2) : '-'} sends/batch; gap fills ${s.gapFills}, overruns ${s.overruns}${s.loopMaxMs === undefined ? '' : `; gateway loop delay p99 ${s.loopP99Ms.toFixed(0)} ms, max ${s.loopMaxMs.toFixed(0)} ms`}`
    : '-';
