// `node dist/main.js render -f FILE`: the objects the operator would apply for the Signalink
// resources in FILE, as a YAML stream, with no cluster. The steady state is assumed (migrations
// for the spec's version done, every workload at it), and fields only a cluster knows, such as
// ownerReference uids, are left out.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { workloadRoles } from './desired/context.js';
import { migrationsJobName, versionOf, imageReference } from './naming.js';
import { OPTIONAL_APIS, allApis, type Observed, type OptionalApi } from './observed.js';
import { reconcile } from './reconcile.js';
import {
  API_VERSION,
  KIND,
  parseSignalink,
  type SignalinkObject,
  type SignalinkSpec,
} from './spec.js';
import { parseYamlStream, toYamlStream, YamlSyntaxError } from './yaml-stream.js';

export const RENDER_USAGE = `usage: node dist/main.js render -f FILE [-f FILE ...] [--namespace NS] [--without API[,API]]
  -f, --filename   YAML file with Signalink resources (- for stdin)
  -n, --namespace  namespace for resources that name none (default: default)
  --without        render as if these optional APIs were not installed: ${OPTIONAL_APIS.join(', ')}
`;

/** What the loop would observe once the resource has fully rolled out at its version. */
export function steadyState(
  name: string,
  spec: SignalinkSpec,
  apis: Record<OptionalApi, boolean>,
): Observed {
  const version = versionOf(spec.image);
  const image = imageReference(spec.image);
  const deployments: Observed['deployments'] = {};
  for (const role of workloadRoles(spec)) {
    const replicas = spec[role].replicas;
    deployments[role] = {
      generation: 1,
      observedGeneration: 1,
      specReplicas: replicas,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      version,
      image,
      progressDeadlineExceeded: false,
    };
  }
  return {
    deployments,
    migrations: { name: migrationsJobName(name, version), state: 'succeeded' },
    apis,
    secrets: {},
  };
}

export class RenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RenderError';
  }
}

function describeDoc(source: string, index: number, doc: unknown): string {
  const name = (doc as { metadata?: { name?: unknown } })?.metadata?.name;
  return `${source}: document ${index + 1}${typeof name === 'string' ? ` (Signalink ${name})` : ''}`;
}

/** Expands `kind: List` documents, as kubectl does. */
function flatten(docs: unknown[]): unknown[] {
  return docs.flatMap((d) =>
    d && typeof d === 'object' && (d as { kind?: unknown }).kind === 'List'
      ? flatten(((d as { items?: unknown[] }).items ?? []) as unknown[])
      : [d],
  );
}

export interface RenderOptions {
  defaultNamespace?: string;
  without?: readonly OptionalApi[];
}

/** The objects for every Signalink in the documents; throws RenderError naming the bad field. */
export function renderDocuments(
  source: string,
  docs: unknown[],
  options: RenderOptions = {},
): unknown[] {
  const apis = allApis(true);
  for (const api of options.without ?? []) apis[api] = false;
  const out: unknown[] = [];
  const errors: string[] = [];
  let found = 0;
  flatten(docs).forEach((doc, index) => {
    if (!doc || typeof doc !== 'object') return;
    const d = doc as Partial<SignalinkObject>;
    if (d.kind !== KIND) return;
    found++;
    const where = describeDoc(source, index, doc);
    if (d.apiVersion !== API_VERSION) {
      errors.push(
        `${where}: apiVersion: must be ${API_VERSION}, got ${JSON.stringify(d.apiVersion)}`,
      );
      return;
    }
    if (!d.metadata || typeof d.metadata !== 'object') {
      errors.push(`${where}: metadata.name: is required`);
      return;
    }
    const resource = { ...d, status: undefined } as SignalinkObject;
    const parsed = parseSignalink(resource);
    if (!parsed.ok) {
      for (const p of parsed.problems) errors.push(`${where}: ${p.field}: ${p.message}`);
      return;
    }
    const observed = steadyState(resource.metadata.name, parsed.spec, apis);
    const result = reconcile(resource, observed, new Date(0), {
      defaultNamespace: options.defaultNamespace ?? 'default',
    });
    out.push(...result.objects);
  });
  if (errors.length > 0) throw new RenderError(errors.join('\n'));
  if (found === 0) throw new RenderError(`${source}: no ${API_VERSION} ${KIND} resources`);
  return out;
}

export interface RenderIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export const processIo: RenderIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readStdin,
};

/** The render command; returns the exit code (0 ok, 2 bad input or usage). */
export async function runRender(argv: string[], io: RenderIo = processIo): Promise<number> {
  let values: { filename?: string[]; namespace?: string; without?: string[]; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        namespace: { type: 'string', short: 'n' },
        without: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.stderr(`signalink render: ${(err as Error).message}\n${RENDER_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(RENDER_USAGE);
    return 0;
  }
  if (!values.filename?.length) {
    io.stderr(`signalink render: -f FILE is required\n${RENDER_USAGE}`);
    return 2;
  }
  const without = (values.without ?? [])
    .flatMap((w) => w.split(','))
    .map((w) => w.trim())
    .filter(Boolean);
  const unknown = without.filter((w) => !(OPTIONAL_APIS as readonly string[]).includes(w));
  if (unknown.length > 0) {
    io.stderr(
      `signalink render: --without: unknown API ${unknown.join(', ')} (known: ${OPTIONAL_APIS.join(', ')})\n`,
    );
    return 2;
  }
  const objects: unknown[] = [];
  try {
    for (const file of values.filename) {
      const text = file === '-' ? await io.readStdin() : await readFile(file, 'utf8');
      const source = file === '-' ? 'stdin' : file;
      let docs: unknown[];
      try {
        docs = parseYamlStream(text);
      } catch (err) {
        if (err instanceof YamlSyntaxError) throw new RenderError(`${source}: ${err.message}`);
        throw err;
      }
      objects.push(
        ...renderDocuments(source, docs, {
          defaultNamespace: values.namespace,
          without: without as OptionalApi[],
        }),
      );
    }
  } catch (err) {
    if (err instanceof RenderError) {
      io.stderr(`signalink render: ${err.message}\n`);
      return 2;
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'EISDIR' || e.code === 'EACCES') {
      io.stderr(`signalink render: ${e.message}\n`);
      return 2;
    }
    throw err;
  }
  io.stdout(toYamlStream(objects));
  return 0;
}
