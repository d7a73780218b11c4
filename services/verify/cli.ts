// `node dist/main.js verify`: the loss verifier's command line. Reads ledgers, reads every channel
// they name back through the API once it is quiet, prints a per-channel table and the verdict,
// and exits 0 (clean), 1 (a defect) or 2 (could not verify).
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loginForToken, readWhenQuiet, ReadError, RestChannelReader } from './channel-reader.js';
import { chaosLine, checkLedger, summaryLine, type ChannelReport, type Report } from './check.js';
import { LedgerError, mergeLedgers, parseLedger } from './ledger.js';

export const VERIFY_USAGE = `usage: node dist/main.js verify --ledger FILE [--ledger FILE ...] --base-url URL
         (--token TOKEN | --login NAME --password PASSWORD) [options]

  --ledger FILE            ledger of acked sends and receipts (JSON lines, or k6 console output
                           carrying "signalink-ledger {...}" lines); repeat to merge ledgers
  --base-url URL           the API to read the channels back from       (env BASE_URL)
  --token TOKEN            access token of a member of every channel     (env VERIFY_TOKEN)
  --login NAME             log in as this user instead                   (env VERIFY_LOGIN;
                           default: the run's owner named in the ledger)
  --password PASSWORD      password for --login                          (env VERIFY_PASSWORD)
  --report FILE            write the JSON report to FILE ("-" for stdout)
  --name NAME              end with the chaos verdict line "chaos NAME: ... recovered_in_ms=N"
  --recovered-in-ms N      recovery time to print in that line (measured by the caller)
  --quiet-timeout-ms N     give up if channel heads still move after N ms (default 30000)

Exit status: 0 no defect, 1 a defect (lost, duplicated, unexpected, gaps, mismatched, receivers
behind, or an empty ledger), 2 the ledger or the API could not be read.`;

const args = z
  .object({
    ledger: z.array(z.string().min(1), { error: '--ledger FILE is required' }).min(1),
    'base-url': z.url({ protocol: /^https?$/, error: '--base-url must be an http(s) URL' }),
    token: z.string().min(1).optional(),
    login: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    report: z.string().min(1).optional(),
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, '--name: letters, digits, _ . - only')
      .optional(),
    'recovered-in-ms': z.coerce.number().int().min(0).optional(),
    'quiet-timeout-ms': z.coerce.number().int().min(0).default(30000),
  })
  .refine((a) => a.name === undefined || a['recovered-in-ms'] !== undefined, {
    message: '--name needs --recovered-in-ms (the chaos line carries the recovery time)',
  });

export interface VerifyIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

const defaultIo: VerifyIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
};

export async function runVerifyCommand(argv: string[], io: VerifyIo = defaultIo): Promise<number> {
  let raw;
  try {
    raw = parseArgs({
      args: argv,
      strict: true,
      options: {
        ledger: { type: 'string', multiple: true },
        'base-url': { type: 'string' },
        token: { type: 'string' },
        login: { type: 'string' },
        password: { type: 'string' },
        report: { type: 'string' },
        name: { type: 'string' },
        'recovered-in-ms': { type: 'string' },
        'quiet-timeout-ms': { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    io.stderr(`verify: ${(err as Error).message}\n${VERIFY_USAGE}\n`);
    return 2;
  }
  if (raw.help) {
    io.stdout(`${VERIFY_USAGE}\n`);
    return 0;
  }
  const parsed = args.safeParse({
    ...raw,
    'base-url': raw['base-url'] ?? io.env.BASE_URL,
    token: raw.token ?? io.env.VERIFY_TOKEN,
    login: raw.login ?? io.env.VERIFY_LOGIN,
    password: raw.password ?? io.env.VERIFY_PASSWORD,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => i.message).join('; ');
    io.stderr(`verify: ${problems}\n${VERIFY_USAGE}\n`);
    return 2;
  }
  const opts = parsed.data;
  const baseUrl = opts['base-url'].replace(/\/+$/, '');

  try {
    const ledger = mergeLedgers(
      await Promise.all(opts.ledger.map(async (file) => parseLedger(await readText(file), file))),
    );
    let token = opts.token;
    if (!token) {
      const login = opts.login ?? ledger.runs.find((r) => r.owner)?.owner;
      if (!login || !opts.password)
        throw new ReadError(
          'no credentials: pass --token, or --password (with --login unless the ledger names its owner)',
        );
      token = await loginForToken(baseUrl, login, opts.password);
    }
    const stored = await readWhenQuiet(new RestChannelReader(baseUrl, token), ledger.channels, {
      timeoutMs: opts['quiet-timeout-ms'],
    });
    const report = checkLedger(ledger, stored);
    if (opts.report === '-') io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    else {
      if (opts.report) await writeFile(opts.report, `${JSON.stringify(report, null, 2)}\n`);
      io.stdout(renderReport(report));
    }
    io.stdout(
      `${opts.name ? chaosLine(opts.name, report.totals, opts['recovered-in-ms']!) : summaryLine(report.totals)}\n`,
    );
    return report.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof LedgerError || err instanceof ReadError) {
      io.stderr(`verify: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ReadError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** One line per channel with a defect (all channels when there are few), then the verdict. */
export function renderReport(report: Report): string {
  const lines: string[] = [];
  const t = report.totals;
  lines.push(
    `verified ${t.channels} channel(s), ${t.acked} acked send(s), ${t.receipts} receipt(s) of ${t.receivers} receiver(s)` +
      (report.runs.length > 0 ? ` (run ${report.runs.join(', ')})` : ''),
  );
  const shown = report.channels.filter((c) => report.channels.length <= 10 || hasDefect(c));
  for (const c of shown) lines.push(channelLine(c));
  if (shown.length < report.channels.length)
    lines.push(`(${report.channels.length - shown.length} clean channel(s) not listed)`);
  for (const c of report.channels.filter(hasDefect)) {
    const e = c.examples;
    for (const l of e.lost)
      lines.push(
        `  lost ${c.channelId} seq ${l.seq} clientMsgId ${l.clientMsgId} (acked ${l.ackedAt})`,
      );
    for (const d of e.duplicated)
      lines.push(
        `  duplicated ${c.channelId} ${d.kind} ${d.clientMsgId ?? ''}${d.seq ?? ''}${d.socket ? ` on socket ${d.socket}` : ''} x${d.copies}`,
      );
    for (const u of e.unexpected)
      lines.push(`  unexpected ${c.channelId} seq ${u.seq} clientMsgId ${u.clientMsgId}`);
    for (const g of e.gaps) lines.push(`  gap ${c.channelId} seq ${g.fromSeq}..${g.toSeq}`);
    for (const m of e.mismatched)
      lines.push(
        `  mismatched ${c.channelId} ${m.kind} seq ${m.seq}${m.clientMsgId ? ` clientMsgId ${m.clientMsgId}` : ''}`,
      );
    for (const b of e.receiversBehind)
      lines.push(
        `  behind ${c.channelId} receiver ${b.receiver}: last seq ${b.lastSeq} of ${b.head}, missing ${b.missing} (first ${b.firstMissing.join(',')})`,
      );
  }
  lines.push(report.ok ? 'verdict: PASS' : `verdict: FAIL (${report.failures.join('; ')})`);
  return `${lines.join('\n')}\n`;
}

function hasDefect(c: ChannelReport): boolean {
  return c.lost + c.duplicated + c.unexpected + c.gaps + c.mismatched + c.receiversBehind > 0;
}

function channelLine(c: ChannelReport): string {
  return (
    `channel ${c.channelId}: head=${c.head} stored=${c.stored} acked=${c.acked} lost=${c.lost} ` +
    `duplicated=${c.duplicated} unexpected=${c.unexpected} gaps=${c.gaps} mismatched=${c.mismatched} ` +
    `receivers=${c.receivers} behind=${c.receiversBehind} indeterminate=${c.indeterminate}`
  );
}
