// The CRD as the chart ships it, on a real kube-apiserver: it is accepted and established, its
// CEL rules fit the API server's cost budget, it fills in the same defaults as the operator,
// and it refuses the same resources as the operator's own validation (the shared table), with
// the same fields named.
import { readFileSync } from 'node:fs';
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
} from '@kubernetes/client-node';
import { parseSignalink } from '../../../services/operator/spec.js';
import {
  CONTROL_PLANE_START_TIMEOUT_MS,
  startControlPlane,
  type ControlPlane,
} from '../../support/control-plane.js';
import { SPEC_CASES, minimal } from '../../unit/operator/spec-cases.js';
import { eventually, installCrd } from './k8s.js';

const CRD_FILE = new URL(
  '../../../charts/signalink-operator/crds/signalink.io_signalinks.yaml',
  import.meta.url,
);
const NS = 'crd-test';

let cp: ControlPlane;
let custom: CustomObjectsApi;

beforeAll(async () => {
  cp = await startControlPlane();
  const ext = cp.kubeConfig.makeApiClient(ApiextensionsV1Api);
  await installCrd(cp.kubeConfig, readFileSync(CRD_FILE, 'utf8'));
  await eventually('the Signalink CRD becoming Established', async () => {
    const crd = await ext.readCustomResourceDefinition({ name: 'signalinks.signalink.io' });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  });
  await cp.kubeConfig
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: NS } } });
  custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
}, CONTROL_PLANE_START_TIMEOUT_MS);

afterAll(async () => {
  await cp?.stop();
});

function create(body: object, dryRun: boolean) {
  return custom.createNamespacedCustomObject({
    group: 'signalink.io',
    version: 'v1alpha1',
    plural: 'signalinks',
    namespace: NS,
    body: { ...body, metadata: { ...(body as { metadata: object }).metadata, namespace: NS } },
    ...(dryRun ? { dryRun: 'All' } : {}),
    // kubectl's default: unknown fields are an error, not silently dropped.
    fieldValidation: 'Strict',
  });
}

async function refusal(request: Promise<unknown>): Promise<string> {
  try {
    await request;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    expect([400, 422]).toContain(err.code);
    const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    return String(body?.message ?? err.body);
  }
  throw new Error('the API server accepted a resource it must refuse');
}

test('the stored resource carries the CRD defaults, which equal the operator’s', async () => {
  const stored = (await create({ ...minimal, metadata: { name: 'defaults' } }, false)) as {
    spec: unknown;
  };
  const parsed = parseSignalink(minimal);
  if (!parsed.ok) throw new Error('minimal is invalid');
  expect(stored.spec).toEqual(JSON.parse(JSON.stringify(parsed.spec)));
});

test('printer columns and the short name are served', async () => {
  const table = await cp.kubeConfig
    .makeApiClient(ApiextensionsV1Api)
    .readCustomResourceDefinition({ name: 'signalinks.signalink.io' });
  expect(table.spec.names.shortNames).toEqual(['sl']);
  expect(table.spec.versions[0]!.additionalPrinterColumns!.map((c) => c.name)).toEqual(
    expect.arrayContaining(['Version', 'Ready', 'Gateways', 'Age']),
  );
});

describe.each(SPEC_CASES)('$name', ({ resource, field, operatorOnly }) => {
  const fromZod = parseSignalink(resource);
  if (field === undefined || operatorOnly) {
    test('the API server accepts it', async () => {
      await create(resource, true);
      if (operatorOnly) expect(fromZod.ok).toBe(false);
      else expect(fromZod.ok).toBe(true);
    });
  } else {
    test(`the API server refuses it, naming ${field}`, async () => {
      const message = await refusal(create(resource, true));
      // The API server writes list indexes the same way the operator does: spec.env[0].
      expect(message).toContain(field);
      expect(fromZod.ok).toBe(false);
    });
  }
});
