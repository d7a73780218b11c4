// The optional Chaos Mesh manifests (k8s/chaos/) against a structural schema written from Chaos
// Mesh's documented PodChaos and NetworkChaos fields (chaos-mesh.org/v1alpha1). No model
// package exists for them, so this is our own: strict objects, so a misspelled field fails.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';

const ROOT = process.env.SIGNALINK_ROOT ?? resolve(import.meta.dirname ?? '.', '../../..');
const DIR = join(ROOT, 'k8s/chaos');

const duration = z.string().regex(/^(\d+(\.\d+)?(ms|s|m|h))+$/, 'a Go duration such as 30s');
const labelMap = z.record(z.string(), z.string());
const selector = z.strictObject({
  namespaces: z.array(z.string().min(1)).min(1).optional(),
  labelSelectors: labelMap.optional(),
  expressionSelectors: z
    .array(
      z.strictObject({
        key: z.string().min(1),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
  annotationSelectors: labelMap.optional(),
  fieldSelectors: labelMap.optional(),
  podPhaseSelectors: z.array(z.string()).optional(),
  nodes: z.array(z.string()).optional(),
  nodeSelectors: labelMap.optional(),
  pods: z.record(z.string(), z.array(z.string())).optional(),
});
const mode = z.enum(['one', 'all', 'fixed', 'fixed-percent', 'random-max-percent']);
const common = {
  mode,
  value: z.string().optional(),
  selector,
  duration: duration.optional(),
};
const needsValue = (s: { mode: string; value?: string | undefined }) =>
  !['fixed', 'fixed-percent', 'random-max-percent'].includes(s.mode) || s.value !== undefined;

const podChaosSpec = z
  .strictObject({
    ...common,
    action: z.enum(['pod-failure', 'pod-kill', 'container-kill']),
    gracePeriod: z.number().int().min(0).optional(),
    containerNames: z.array(z.string()).optional(),
  })
  .refine(needsValue, 'mode fixed/fixed-percent/random-max-percent needs value')
  .refine(
    (s) => s.action !== 'container-kill' || (s.containerNames?.length ?? 0) > 0,
    'container-kill needs containerNames',
  );

const percent = z.string().regex(/^\d+(\.\d+)?$/);
const networkChaosSpec = z
  .strictObject({
    ...common,
    action: z.enum(['netem', 'delay', 'loss', 'duplicate', 'corrupt', 'partition', 'bandwidth']),
    direction: z.enum(['to', 'from', 'both']).optional(),
    target: z
      .strictObject({ mode, value: z.string().optional(), selector })
      .refine(needsValue, 'target mode needs value')
      .optional(),
    externalTargets: z.array(z.string()).optional(),
    device: z.string().optional(),
    delay: z
      .strictObject({
        latency: duration,
        jitter: duration.optional(),
        correlation: percent.optional(),
      })
      .optional(),
    loss: z.strictObject({ loss: percent, correlation: percent.optional() }).optional(),
    duplicate: z.strictObject({ duplicate: percent, correlation: percent.optional() }).optional(),
    corrupt: z.strictObject({ corrupt: percent, correlation: percent.optional() }).optional(),
    bandwidth: z
      .strictObject({ rate: z.string(), limit: z.number().int(), buffer: z.number().int() })
      .optional(),
  })
  .refine(needsValue, 'mode fixed/fixed-percent/random-max-percent needs value')
  .refine((s) => s.action !== 'delay' || s.delay !== undefined, 'action delay needs delay')
  .refine((s) => s.action !== 'loss' || s.loss !== undefined, 'action loss needs loss')
  .refine(
    (s) =>
      s.action !== 'partition' || s.target !== undefined || (s.externalTargets?.length ?? 0) > 0,
    'a partition needs a target or externalTargets',
  );

const metadata = z.looseObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
  namespace: z.string().min(1),
});
const manifest = z.discriminatedUnion('kind', [
  z.strictObject({
    apiVersion: z.literal('chaos-mesh.org/v1alpha1'),
    kind: z.literal('PodChaos'),
    metadata,
    spec: podChaosSpec,
  }),
  z.strictObject({
    apiVersion: z.literal('chaos-mesh.org/v1alpha1'),
    kind: z.literal('NetworkChaos'),
    metadata,
    spec: networkChaosSpec,
  }),
]);

function docs(file: string): unknown[] {
  return parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS();
  });
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));

it('there are PodChaos and NetworkChaos manifests', () => {
  const kinds = files.flatMap((f) => docs(f).map((d) => (d as { kind: string }).kind));
  expect(kinds).toEqual(expect.arrayContaining(['PodChaos', 'NetworkChaos']));
});

it.each(files)('%s is a valid Chaos Mesh resource aimed at Signalink', (file) => {
  for (const doc of docs(file)) {
    const parsed = manifest.safeParse(doc);
    if (!parsed.success) throw new Error(`${file}: ${JSON.stringify(parsed.error.issues)}`);
    const m = parsed.data;
    // Gateway faults select the platform's labels (PROTOCOL.md, "Kubernetes").
    if (m.metadata.name.includes('gateway'))
      expect(m.spec.selector.labelSelectors).toMatchObject({
        'app.kubernetes.io/component': 'gateway',
        'app.kubernetes.io/instance': 'signalink',
      });
    // Every fault is confined to the installation's namespace.
    expect(m.spec.selector.namespaces).toEqual([m.metadata.namespace]);
  }
});

it('the schema refuses what Chaos Mesh would refuse or ignore', () => {
  const base = {
    apiVersion: 'chaos-mesh.org/v1alpha1',
    kind: 'PodChaos',
    metadata: { name: 'x', namespace: 'n' },
    spec: { action: 'pod-kill', mode: 'one', selector: { namespaces: ['n'] } },
  };
  expect(manifest.safeParse(base).success).toBe(true);
  const bad = [
    { ...base, spec: { ...base.spec, action: 'pod-kil' } },
    { ...base, spec: { ...base.spec, mode: 'fixed' } },
    { ...base, spec: { ...base.spec, gracePeriod: -1 } },
    { ...base, spec: { ...base.spec, selectors: {} } },
    { ...base, spec: { ...base.spec, action: 'container-kill' } },
    { ...base, spec: { ...base.spec, duration: 'thirty seconds' } },
    { ...base, apiVersion: 'chaos-mesh.org/v1' },
    {
      ...base,
      kind: 'NetworkChaos',
      spec: { action: 'partition', mode: 'one', selector: { namespaces: ['n'] } },
    },
    {
      ...base,
      kind: 'NetworkChaos',
      spec: { action: 'delay', mode: 'all', selector: { namespaces: ['n'] } },
    },
  ];
  for (const doc of bad) expect(manifest.safeParse(doc).success).toBe(false);
});
