// promtool (from Debian's prometheus package, installed by .ci/run) over the alert rules and
// dashboard queries of services/operator/desired/monitoring.ts, written out for one
// installation the way the operator's PrometheusRule carries them.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { dashboardPanels, prometheusRule } from '../../../services/operator/desired/monitoring.js';
import type { DesiredContext } from '../../../services/operator/desired/context.js';

export const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
export const CTX = { name: 'chat', namespace: 'messaging' };

export function promtool(
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    execFile(PROMTOOL, args, { cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        rej(new Error(`${PROMTOOL} not found: apt-get install prometheus (see .ci/run)`));
        return;
      }
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The rules file Prometheus loads from the operator's PrometheusRule (spec.groups as is). */
export function rulesYaml(): string {
  const rule = prometheusRule({
    ...CTX,
    spec: { monitoring: {} },
    owner: {},
    apis: {},
  } as unknown as DesiredContext);
  return stringify({ groups: rule.spec!.groups }, { lineWidth: 0 });
}

/** Every dashboard expression as a recording rule, so promtool parses each one. */
export function dashboardAsRecordingRules(): string {
  const rules = dashboardPanels(CTX).flatMap((p, i) =>
    p.exprs.map((e, j) => ({ record: `signalink_dashboard:panel${i + 1}_${j + 1}`, expr: e.expr })),
  );
  return stringify({ groups: [{ name: 'dashboard', rules }] }, { lineWidth: 0 });
}

export async function scratchDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'signalink-promtool-'));
}

export async function writeIn(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}
