// `node dist/main.js smoke --url URL`: one message round trip through a running deployment
// (see round-trip.ts). Prints a line per step; exits 0 when the round trip worked, 1 when a step
// failed, 2 on bad arguments.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { roundTrip, type StepResult } from './round-trip.js';

export const SMOKE_USAGE = `usage: node dist/main.js smoke --url URL [options]

  --url URL          the gateway (Socket.IO and, unless --api-url, the REST API)   (env BASE_URL)
  --api-url URL      the REST API, when it runs in pods of its own
  --login NAME       use this account instead of registering a throw-away one      (env SMOKE_LOGIN)
  --password PASS    its password                                                  (env SMOKE_PASSWORD)
  --timeout-ms N     deadline of the whole round trip, readiness included (default 60000)
  --json             print the result as one JSON object instead of lines

Exit status: 0 the round trip worked, 1 a step failed, 2 bad arguments.`;

const httpUrl = (flag: string) =>
  z.url({ protocol: /^https?$/, error: `${flag} must be an http(s) URL` });

const argsSchema = z
  .object({
    url: httpUrl('--url'),
    'api-url': httpUrl('--api-url').optional(),
    login: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    'timeout-ms': z.coerce
      .number({ error: '--timeout-ms must be a number' })
      .int('--timeout-ms must be a whole number')
      .min(1000, '--timeout-ms must be at least 1000')
      .max(3_600_000, '--timeout-ms must be at most 3600000')
      .default(60_000),
    json: z.boolean().default(false),
  })
  .refine((a) => (a.login === undefined) === (a.password === undefined), {
    message: '--login and --password go together',
  });

export type SmokeArgs = z.output<typeof argsSchema>;

export interface SmokeIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

const defaultIo: SmokeIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
};

/** The command line as options, or the reason it is not one. */
export function parseSmokeArgs(
  argv: string[],
  env: Record<string, string | undefined>,
): { ok: true; args: SmokeArgs } | { ok: false; message: string } | { ok: 'help' } {
  let raw;
  try {
    raw = parseArgs({
      args: argv,
      strict: true,
      options: {
        url: { type: 'string' },
        'api-url': { type: 'string' },
        login: { type: 'string' },
        password: { type: 'string' },
        'timeout-ms': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  if (raw.help) return { ok: 'help' };
  const parsed = argsSchema.safeParse({
    ...raw,
    url: raw.url ?? (env.BASE_URL || undefined),
    login: raw.login ?? (env.SMOKE_LOGIN || undefined),
    password: raw.password ?? (env.SMOKE_PASSWORD || undefined),
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) =>
      i.code === 'invalid_type' && i.path[0] === 'url' ? '--url URL is required' : i.message,
    );
    return { ok: false, message: problems.join('; ') };
  }
  return { ok: true, args: parsed.data };
}

function line(s: StepResult): string {
  return `smoke: ${s.step} ${s.ok ? 'ok' : 'FAILED'} (${s.ms} ms): ${s.detail}\n`;
}

export async function runSmokeCommand(argv: string[], io: SmokeIo = defaultIo): Promise<number> {
  const parsed = parseSmokeArgs(argv, io.env);
  if (parsed.ok === 'help') {
    io.stdout(`${SMOKE_USAGE}\n`);
    return 0;
  }
  if (!parsed.ok) {
    io.stderr(`smoke: ${parsed.message}\n${SMOKE_USAGE}\n`);
    return 2;
  }
  const a = parsed.args;
  const result = await roundTrip({
    url: a.url,
    apiUrl: a['api-url'],
    login: a.login,
    password: a.password,
    timeoutMs: a['timeout-ms'],
    report: a.json ? undefined : (s) => io.stdout(line(s)),
  });
  if (a.json) io.stdout(`${JSON.stringify(result)}\n`);
  else io.stdout(`smoke: ${result.ok ? 'round trip ok' : 'round trip FAILED'}\n`);
  return result.ok ? 0 : 1;
}
