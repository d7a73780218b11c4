// `node .cache/loadtest/loadtest/chaos/probe-cli.js --url URL [--from-ms EPOCH_MS] [--timeout-ms N]`
// for the kubectl experiments (scripts/chaos/*.sh): registers a probe pair once, then sends a
// message through the REST API every few hundred milliseconds until one is acked and delivered
// live to the probe's socket (both through URL, i.e. the Service); prints the milliseconds from
// --from-ms (the fault) to that moment and exits 0, or exits 1 at the deadline.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { sleep } from '../lib/paths.js';
import { Probe } from './probe.js';

const args = z.object({
  url: z.url({ protocol: /^https?$/, error: '--url must be an http(s) URL' }),
  'from-ms': z.coerce.number().int().min(0).optional(),
  'timeout-ms': z.coerce.number().int().min(1000).max(3_600_000).default(300_000),
});

export async function runProbeCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      'from-ms': { type: 'string' },
      'timeout-ms': { type: 'string' },
    },
  });
  const parsed = args.safeParse(values);
  if (!parsed.success) {
    process.stderr.write(`probe: ${parsed.error.issues.map((i) => i.message).join('; ')}\n`);
    return 2;
  }
  const { url } = parsed.data;
  const from = parsed.data['from-ms'] ?? Date.now();
  const deadline = Date.now() + parsed.data['timeout-ms'];
  let probe: Probe | undefined;
  try {
    while (Date.now() < deadline) {
      probe ??= await Probe.create(url).catch(() => undefined);
      if (probe && (await probe.delivered(3000).catch(() => false))) {
        process.stdout.write(`${Date.now() - from}\n`);
        return 0;
      }
      await sleep(300);
    }
    process.stderr.write(`probe: no message delivered through ${url} before the deadline\n`);
    return 1;
  } finally {
    probe?.close();
  }
}

if (process.argv[1]?.endsWith('/chaos/probe-cli.js'))
  process.exit(await runProbeCommand(process.argv.slice(2)));
