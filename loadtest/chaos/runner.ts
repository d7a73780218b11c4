// Runs one experiment on a fresh deployment: preconditions, load, fault, recovery (measured),
// restore, the end of the load, the loss verifier and the pipeline check, then the verdict.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT, sleep } from '../lib/paths.js';
import type { ProcessRegistry } from '../lib/processes.js';
import type { Experiment, ExperimentContext } from './experiments.js';
import { DEFAULT_LOAD, describeLoad, startLoad, type LoadShape } from './load.js';
import { Probe } from './probe.js';
import { deploy, type Deployment, type Infra } from './system.js';
import { verdict, type PipelineCheck, type Verdict, type VerifierTotals } from './verdict.js';

export interface RunOptions {
  registry: ProcessRegistry;
  infra: Infra;
  /** Where the ledger, the reports and every process's output go. */
  dir: string;
  out(line: string): void;
}

export interface ExperimentResult extends Verdict {
  name: string;
  load: string;
  recoveredInMs: number | undefined;
  details: string[];
}

const DEFAULT_RECOVERY_MS = 90_000;

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline)
      throw new Error(`precondition failed: ${what} within ${timeoutMs} ms`);
    await sleep(250);
  }
}

export async function runExperiment(exp: Experiment, opts: RunOptions): Promise<ExperimentResult> {
  const { registry, infra, out } = opts;
  const dir = join(opts.dir, exp.name);
  mkdirSync(dir, { recursive: true });
  const shape: LoadShape = { ...DEFAULT_LOAD, ...exp.load };
  const log = (line: string) => out(`[${exp.name}] ${line}`);
  const recoveryBoundMs = exp.recoveryTimeoutMs ?? DEFAULT_RECOVERY_MS;
  log(`${exp.description}; load: ${describeLoad(shape)}`);

  let deployment: Deployment | undefined;
  let probe: Probe | undefined;
  const problems: string[] = [];
  const details: string[] = [];
  let recoveredInMs: number | undefined;
  try {
    // Preconditions: every server up, the deployment ready behind HAProxy, a message goes all
    // the way through (socket delivery and the pipeline) before anything is broken.
    await infra.kafka.waitForBrokers(3);
    deployment = await deploy(registry, infra, exp.name, { initialGateways: exp.initialGateways });
    probe = await Probe.create(deployment.url);
    const p = probe;
    const d = deployment;
    await waitFor('a probe message delivered live', 60_000, () => p.delivered());
    await waitFor('a probe message counted by analytics', 120_000, () => p.counted(d.db, 5000));
    const ctx: ExperimentContext = {
      infra,
      deployment,
      probe,
      shape,
      expectedConnections: shape.users + 1,
      log,
      problems,
      details,
    };

    const load = startLoad(registry, deployment.url, shape, dir);
    try {
      await waitFor('every load client connected and 30 sends acked', 120_000, async () => {
        const held = (await d.connections()).reduce((a, b) => a + b, 0);
        return held === ctx.expectedConnections && load.acks() >= 30;
      });
      log(`load running (${load.acks()} acked); injecting the fault`);
      const injectedAt = Date.now();
      const from = (await exp.inject(ctx)) ?? injectedAt;
      const deadline = from + recoveryBoundMs;
      let lastLog = 0;
      while (Date.now() < deadline) {
        if (Date.now() - lastLog >= 2000) {
          lastLog = Date.now();
          const counts = await d.connections();
          log(`+${lastLog - from} ms: connections ${counts.join(' / ')}, ${load.acks()} acked`);
        }
        if (await exp.healthy(ctx).catch(() => false)) {
          recoveredInMs = Date.now() - from;
          break;
        }
        await sleep(100);
      }
      log(
        recoveredInMs === undefined
          ? `NOT healthy again within ${recoveryBoundMs} ms`
          : `healthy again after ${recoveredInMs} ms (${exp.recovery})`,
      );
      await exp.restore?.(ctx);
      let bound: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        load.finished,
        new Promise<undefined>(
          (r) => (bound = setTimeout(() => r(undefined), shape.durationS * 1000 + 300_000)),
        ),
      ]);
      clearTimeout(bound);
      if (!finished) {
        load.kill();
        problems.push('the load did not finish within its bound');
      } else {
        writeFileSync(join(dir, 'k6-output.txt'), finished.output);
        log(`load finished (k6 double exit ${finished.code}; ${load.acks()} acked)`);
        if (finished.code !== 0)
          details.push(`k6 thresholds crossed (exit ${finished.code}): see k6-output.txt`);
      }
      await exp.report?.(ctx);
    } finally {
      load.kill();
    }

    const report = join(dir, 'verify-report.json');
    const verified = await runVerifier(load.ledger, deployment.url, report, dir);
    let totals: VerifierTotals | undefined;
    let channelIds: string[] = [];
    try {
      const parsed = JSON.parse(readFileSync(report, 'utf8')) as {
        totals: VerifierTotals;
        channels: { channelId: string }[];
      };
      totals = parsed.totals;
      channelIds = parsed.channels.map((c) => c.channelId);
    } catch {
      problems.push(`no verifier report: ${verified.output.slice(-1500)}`);
    }
    for (const line of verified.output.trim().split('\n').slice(0, -1)) log(`verify: ${line}`);
    const pipeline = await checkPipeline(deployment, channelIds).catch((err: unknown) => {
      problems.push(`pipeline check failed: ${String(err)}`);
      return undefined;
    });
    if (pipeline)
      log(
        `pipeline: ${pipeline.counted}/${pipeline.stored} messages counted by analytics, ${pipeline.duplicateNotifications} duplicate notifications`,
      );
    for (const line of details) log(line);
    const v = verdict({
      name: exp.name,
      verifierExit: verified.code,
      totals,
      pipeline,
      recoveredInMs,
      recoveryBoundMs,
      problems,
    });
    for (const r of v.reasons) log(`FAIL: ${r}`);
    return { ...v, name: exp.name, load: describeLoad(shape), recoveredInMs, details };
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
    const v = verdict({
      name: exp.name,
      verifierExit: 2,
      totals: undefined,
      pipeline: undefined,
      recoveredInMs,
      recoveryBoundMs,
      problems,
    });
    for (const r of v.reasons) log(`FAIL: ${r}`);
    return { ...v, name: exp.name, load: describeLoad(shape), recoveredInMs, details };
  } finally {
    probe?.close();
    deployment?.saveLogs(join(dir, 'logs'));
    await deployment?.stop();
  }
}

function runVerifier(
  ledger: string,
  baseUrl: string,
  report: string,
  dir: string,
): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [
        resolve(ROOT, 'dist/main.js'),
        'verify',
        '--ledger',
        ledger,
        '--base-url',
        baseUrl,
        '--password',
        'signalink-load-test',
        '--report',
        report,
        '--quiet-timeout-ms',
        '60000',
      ],
      { cwd: dir, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 2) : 0;
        writeFileSync(join(dir, 'verify-output.txt'), `${stdout}\n${stderr}`);
        resolvePromise({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

/**
 * Waits (up to two minutes) until analytics has counted every stored message of the run's
 * channels, then compares: analytics counts each message.created event once however often
 * Kafka redelivers it, so fewer is a loss in the pipeline and more a duplicate.
 */
async function checkPipeline(d: Deployment, channelIds: string[]): Promise<PipelineCheck> {
  if (channelIds.length === 0) throw new Error('no channels to check');
  const read = async () => {
    const stored = await d.db('messages').whereIn('channel_id', channelIds).count({ n: '*' });
    const counted = await d
      .db('analytics_channel_totals')
      .whereIn('channel_id', channelIds)
      .sum({ n: 'messages' });
    return { stored: Number(stored[0]?.n ?? 0), counted: Number(counted[0]?.n ?? 0) };
  };
  const deadline = Date.now() + 120_000;
  let now = await read();
  while (now.counted < now.stored && Date.now() < deadline) {
    await sleep(500);
    now = await read();
  }
  const dup = (await d.db.raw(
    `select coalesce(sum(c - 1), 0)::int as n from (
       select count(*) as c from notifications group by user_id, payload->>'messageId'
     ) t where c > 1`,
  )) as { rows: { n: number }[] };
  return { ...now, duplicateNotifications: Number(dup.rows[0]?.n ?? 0) };
}
