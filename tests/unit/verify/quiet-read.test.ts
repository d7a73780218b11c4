import { randomUUID } from 'node:crypto';
import { readWhenQuiet, type ChannelSource } from '../../../services/verify/channel-reader.js';
import type { StoredChannel } from '../../../services/verify/check.js';
import { runVerifyCommand } from '../../../services/verify/cli.js';

/** A channel that keeps growing for `movesFor` reads, then stays put. */
function growingSource(ids: string[], movesFor: number): ChannelSource & { reads: number } {
  const heads = new Map(ids.map((id) => [id, 1]));
  let calls = 0;
  const bump = () => {
    calls += 1;
    if (calls <= movesFor) for (const id of ids) heads.set(id, heads.get(id)! + 1);
  };
  return {
    reads: 0,
    async head(id) {
      bump();
      return heads.get(id)!;
    },
    async readChannel(id): Promise<StoredChannel> {
      this.reads += 1;
      const head = heads.get(id)!;
      return { channelId: id, head, messages: [] };
    },
  };
}

describe('readWhenQuiet', () => {
  it('reads again until the heads stop moving', async () => {
    const ids = [randomUUID(), randomUUID()];
    const source = growingSource(ids, 3);
    const result = await readWhenQuiet(source, ids, { timeoutMs: 60000, sleep: async () => {} });
    expect([...result.keys()]).toEqual(ids);
    expect(source.reads).toBeGreaterThan(2);
    for (const id of ids) expect(result.get(id)!.head).toBe(await source.head(id));
  });

  it('gives up with the moving channels named when they never settle', async () => {
    const ids = [randomUUID()];
    let t = 0;
    await expect(
      readWhenQuiet(growingSource(ids, Infinity), ids, {
        timeoutMs: 1000,
        now: () => t,
        sleep: async (ms) => {
          t += ms;
        },
      }),
    ).rejects.toThrow(new RegExp(`not quiet after 1000 ms.*${ids[0]}`));
  });
});

describe('runVerifyCommand arguments', () => {
  const run = async (argv: string[], env: Record<string, string> = {}) => {
    let out = '';
    let err = '';
    const code = await runVerifyCommand(argv, {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      env,
    });
    return { code, out, err };
  };

  it('exits 2 with the usage when required arguments are missing or wrong', async () => {
    expect((await run([])).err).toMatch(/--ledger FILE is required/);
    expect((await run(['--ledger', 'x', '--base-url', 'ftp://x'])).err).toMatch(/http\(s\) URL/);
    expect((await run(['--ledger', 'x', '--base-url', 'http://x', '--name', 'kill'])).err).toMatch(
      /--recovered-in-ms/,
    );
    const unknown = await run(['--ledgers', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/usage:/);
  });

  it('exits 2 naming the file when the ledger cannot be read, before touching the API', async () => {
    const r = await run(['--ledger', '/nonexistent/ledger.log', '--token', 't'], {
      BASE_URL: 'http://127.0.0.1:9',
    });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot read \/nonexistent\/ledger\.log: ENOENT/);
  });

  it('prints the usage for --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/node dist\/main\.js verify/);
  });
});
