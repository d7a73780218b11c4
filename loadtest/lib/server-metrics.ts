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
  /** signalink_send_batch_write_seconds: one observation per batch write (round trip + commit). */
  writeCount: number;
  writeSumSeconds: number;
  writeBuckets: Map<string, number>;
  /** Garbage collection (prom-client's nodejs_gc_duration_seconds, every kind): total pause. */
  gcSeconds: number;
  /** GC pauses in total, and those longer than 10 ms and 100 ms (from the histogram buckets). */
  gcPauses: number;
  gcUpTo10ms: number;
  gcUpTo100ms: number;
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
  /**
   * Batch writes (one database round trip and commit each): mean and the bucket holding the
   * 99th percentile, ms. Send time minus write time is time spent waiting in the gateway.
   */
  writeMeanMs: number;
  writeP99LeMs: number;
  /** GC pause time over the interval, all gateways, ms; pauses longer than 10 and 100 ms. */
  gcMs: number;
  gcOver10ms: number;
  gcOver100ms: number;
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
    writeCount: 0,
    writeSumSeconds: 0,
    writeBuckets: new Map(),
    gcSeconds: 0,
    gcPauses: 0,
    gcUpTo10ms: 0,
    gcUpTo100ms: 0,
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
    else if (line.startsWith('signalink_send_batch_write_seconds_bucket')) {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      if (le) sample.writeBuckets.set(le, value(line));
    } else if (line.startsWith('signalink_send_batch_write_seconds_count'))
      sample.writeCount = value(line);
    else if (line.startsWith('signalink_send_batch_write_seconds_sum'))
      sample.writeSumSeconds = value(line);
    else if (line.startsWith('nodejs_gc_duration_seconds_sum')) sample.gcSeconds += value(line);
    else if (line.startsWith('nodejs_gc_duration_seconds_count')) sample.gcPauses += value(line);
    else if (line.startsWith('nodejs_gc_duration_seconds_bucket')) {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      if (le === '0.01') sample.gcUpTo10ms += value(line);
      else if (le === '0.1') sample.gcUpTo100ms += value(line);
    } else if (line.startsWith('signalink_send_batch_messages_count')) sample.batches = value(line);
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
    writeCount: 0,
    writeSumSeconds: 0,
    writeBuckets: new Map(),
    gcSeconds: 0,
    gcPauses: 0,
    gcUpTo10ms: 0,
    gcUpTo100ms: 0,
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
    total.writeCount += s.writeCount;
    total.gcSeconds += s.gcSeconds;
    total.gcPauses += s.gcPauses;
    total.gcUpTo10ms += s.gcUpTo10ms;
    total.gcUpTo100ms += s.gcUpTo100ms;
    total.writeSumSeconds += s.writeSumSeconds;
    for (const [le, n] of s.sendBuckets)
      total.sendBuckets.set(le, (total.sendBuckets.get(le) ?? 0) + n);
    for (const [le, n] of s.writeBuckets)
      total.writeBuckets.set(le, (total.writeBuckets.get(le) ?? 0) + n);
  }
  return total;
}

const leOf = (le: string) => (le === '+Inf' ? Infinity : Number(le));

/** Upper bound (ms) of the histogram bucket holding percentile `p` of the interval's `count`. */
function bucketAt(
  before: Map<string, number>,
  after: Map<string, number>,
  count: number,
  p: number,
): number {
  const rank = (p / 100) * count;
  const les = [...after.keys()].sort((a, b) => leOf(a) - leOf(b));
  for (const le of les) if (after.get(le)! - (before.get(le) ?? 0) >= rank) return leOf(le) * 1000;
  return Infinity;
}

export function serverDelta(
  before: ServerSample | undefined,
  after: ServerSample | undefined,
): ServerStats | undefined {
  if (!before || !after) return undefined;
  const sends = after.sendCount - before.sendCount;
  const writes = after.writeCount - before.writeCount;
  const pauses = after.gcPauses - before.gcPauses;
  return {
    sends,
    sendMeanMs: sends > 0 ? ((after.sendSumSeconds - before.sendSumSeconds) / sends) * 1000 : NaN,
    sendP50LeMs: sends > 0 ? bucketAt(before.sendBuckets, after.sendBuckets, sends, 50) : NaN,
    sendP99LeMs: sends > 0 ? bucketAt(before.sendBuckets, after.sendBuckets, sends, 99) : NaN,
    gapFills: after.gapFills - before.gapFills,
    overruns: after.overruns - before.overruns,
    sendsPerBatch:
      (after.batchedSends - before.batchedSends) / Math.max(1, after.batches - before.batches),
    writeMeanMs:
      writes > 0 ? ((after.writeSumSeconds - before.writeSumSeconds) / writes) * 1000 : NaN,
    writeP99LeMs: writes > 0 ? bucketAt(before.writeBuckets, after.writeBuckets, writes, 99) : NaN,
    gcMs: (after.gcSeconds - before.gcSeconds) * 1000,
    gcOver10ms: pauses - (after.gcUpTo10ms - before.gcUpTo10ms),
    gcOver100ms: pauses - (after.gcUpTo100ms - before.gcUpTo100ms),
    loopP99Ms: after.loopP99Ms,
    loopMaxMs: after.loopMaxMs,
  };
}

const fixed = (n: number | undefined, digits: number): string =>
  n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : '-';

/** Result files written before a field existed lack it; their parts are left out. */
export function serverText(s: Partial<ServerStats> | undefined): string {
  if (!s) return '-';
  const parts = [
    `mean ${fixed(s.sendMeanMs, 1)} ms, p50 ≤ ${s.sendP50LeMs} ms, p99 ≤ ${s.sendP99LeMs} ms`,
  ];
  if (s.sendsPerBatch !== undefined) parts.push(`${fixed(s.sendsPerBatch, 2)} sends/batch`);
  if (s.writeMeanMs !== undefined)
    parts.push(`batch write mean ${fixed(s.writeMeanMs, 1)} ms, p99 ≤ ${s.writeP99LeMs} ms`);
  if (s.gcMs !== undefined)
    parts.push(
      `GC ${fixed(s.gcMs, 0)} ms (${s.gcOver10ms} pauses > 10 ms, ${s.gcOver100ms} > 100 ms)`,
    );
  parts.push(`gap fills ${s.gapFills}, overruns ${s.overruns}`);
  if (s.loopMaxMs !== undefined)
    parts.push(
      `gateway loop delay p99 ${fixed(s.loopP99Ms, 0)} ms, max ${fixed(s.loopMaxMs, 0)} ms`,
    );
  return parts.join('; ');
}
