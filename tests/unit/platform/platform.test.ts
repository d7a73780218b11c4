// The kind platform, checked offline: every manifest in k8s/platform against its schema
// (kubernetes-models, Strimzi, CloudNativePG, Gateway API, with unknown fields flagged), the
// durability settings the issue asks for, the names that tie the platform to the charts'
// defaults, pinned images (no Bitnami), kind/cluster.yaml and skaffold.yaml against schemas of
// their own (no published one is installable here), and shellcheck on every script.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { modelError, unknownFields, type KubeLike } from '../../support/model-check.js';
import { template } from '../../support/helm.js';
import { steadyObjects } from '../operator/helpers.js';
import type { SignalinkObject } from '../../../services/operator/spec.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const PLATFORM = join(ROOT, 'k8s/platform');
const HELM_TIMEOUT_MS = 120_000;

const versions: Record<string, string> = Object.fromEntries(
  readFileSync(join(PLATFORM, 'versions.env'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]),
);

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return name.endsWith('.yaml') ? [path] : [];
  });
}

const documents = yamlFiles(PLATFORM).flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${relative(ROOT, file)}: ${d.errors[0]!.message}`);
    return { file: relative(ROOT, file), value: d.toJS() as Record<string, any> };
  }),
);
const manifests = documents.filter((d) => d.value?.apiVersion && d.value?.kind);
const find = (kind: string, name: string) => {
  const m = manifests.find((d) => d.value.kind === kind && d.value.metadata?.name === name);
  if (!m) throw new Error(`no ${kind} ${name} in k8s/platform`);
  return m.value;
};

test('every platform manifest validates against its schema, with no unknown fields', () => {
  expect(manifests.length).toBeGreaterThanOrEqual(15);
  const problems = manifests.flatMap(({ file, value }) => {
    const where = `${file}: ${value.kind}/${value.metadata?.name}`;
    const error = modelError(value as KubeLike);
    return [
      ...(error ? [`${where}: ${error}`] : []),
      ...unknownFields(value as KubeLike).map((f) => `${where}: unknown field ${f}`),
    ];
  });
  expect(problems).toEqual([]);
});

test('Kafka: KRaft, three brokers, min.insync.replicas 2, the pinned Kafka version', () => {
  const pool = find('KafkaNodePool', 'dual-role');
  expect(pool.spec.replicas).toBe(3);
  expect(pool.spec.roles.sort()).toEqual(['broker', 'controller']);
  expect(pool.metadata.labels['strimzi.io/cluster']).toBe('signalink-kafka');
  const kafka = find('Kafka', 'signalink-kafka');
  expect(kafka.spec.kafka.version).toBe(versions.KAFKA_VERSION);
  expect(kafka.spec.kafka.metadataVersion).toBe(versions.KAFKA_METADATA_VERSION);
  expect(kafka.spec.kafka.config).toMatchObject({
    'min.insync.replicas': 2,
    'default.replication.factor': 3,
    'transaction.state.log.min.isr': 2,
  });
  expect(kafka.spec.kafka.version).toBe('4.3.1');
  expect(versions.STRIMZI_VERSION).toMatch(/^1\.\d+\.\d+$/);
  const strimzi = parse(readFileSync(join(PLATFORM, 'strimzi/values.yaml'), 'utf8'));
  expect(strimzi.watchNamespaces).toContain(kafka.metadata.namespace);
});

test('PostgreSQL: three instances, synchronous replication that refuses to lose a commit', () => {
  const cluster = find('Cluster', 'signalink-pg');
  expect(cluster.spec.instances).toBe(3);
  expect(cluster.spec.postgresql.synchronous).toEqual({
    method: 'any',
    number: 1,
    dataDurability: 'required',
  });
  expect(cluster.spec.imageName).toBe(versions.POSTGRES_IMAGE);
  expect(cluster.spec.bootstrap.initdb).toMatchObject({ database: 'app', owner: 'app' });
});

test('images are pinned (versions.env), none from Bitnami, none :latest', () => {
  const images = manifests.flatMap(
    ({ value }) =>
      JSON.stringify(value)
        .match(/"image(?:Name)?":"[^"]+"/g)
        ?.map((m) => m.split('":"')[1]!.slice(0, -1)) ?? [],
  );
  expect(images.sort()).toEqual(
    [versions.MAILPIT_IMAGE, versions.POSTGRES_IMAGE, versions.VALKEY_IMAGE].sort(),
  );
  const everything = [
    ...documents.map((d) => JSON.stringify(d.value)),
    readFileSync(join(ROOT, 'scripts/platform/platform.sh'), 'utf8'),
    readFileSync(join(PLATFORM, 'versions.env'), 'utf8'),
  ].join('\n');
  expect(everything).not.toMatch(/bitnami/i);
  expect(everything).not.toMatch(/:latest\b/);
  for (const [key, value] of Object.entries(versions)) {
    if (/_VERSION$/.test(key) && key !== 'KAFKA_METADATA_VERSION')
      expect({ key, value }).toEqual({ key, value: expect.stringMatching(/^v?\d+\.\d+\.\d+$/) });
  }
});

test('the names the charts default to are the ones the platform creates', async () => {
  const values = parse(readFileSync(join(ROOT, 'charts/signalink/values.yaml'), 'utf8'));
  expect(values.database.existingSecret).toBe(
    `${find('Cluster', 'signalink-pg').metadata.name}-app`,
  );
  expect(values.kafka.strimzi.clusterName).toBe(find('Kafka', 'signalink-kafka').metadata.name);
  expect(values.kafka.bootstrapServers).toBe('signalink-kafka-kafka-bootstrap:9092');
  expect(readFileSync(join(ROOT, 'scripts/platform/platform.sh'), 'utf8')).toContain(
    `create secret generic ${values.redis.existingSecret}`,
  );
  const smtp = find('Secret', 'signalink-smtp');
  const kind = parse(readFileSync(join(PLATFORM, 'signalink/signalink-values.yaml'), 'utf8'));
  expect(kind.email.existingSecret).toBe(smtp.metadata.name);
  // The route attaches to the platform's Gateway and listener.
  const gateway = find('Gateway', 'signalink');
  expect(kind.route.parentRefs).toEqual([
    {
      name: gateway.metadata.name,
      namespace: gateway.metadata.namespace,
      sectionName: gateway.spec.listeners[0].name,
    },
  ]);
  // KEDA asks kube-prometheus-stack's Prometheus (release kube-prometheus-stack in monitoring).
  expect(kind.autoscaling.prometheusServerAddress).toBe(
    'http://kube-prometheus-stack-prometheus.monitoring.svc:9090',
  );
  expect(readFileSync(join(ROOT, 'scripts/platform/platform.sh'), 'utf8')).toMatch(
    /release kube-prometheus-stack kube-prometheus-stack monitoring/,
  );
});

test.each(['signalink-values', 'load-values', 'chaos-values'])(
  'the signalink chart with k8s/platform/signalink/%s renders a Signalink the operator turns into valid objects',
  async (name) => {
    const files = [join(PLATFORM, 'signalink/signalink-values.yaml')];
    if (name !== 'signalink-values') files.push(join(PLATFORM, `signalink/${name}.yaml`));
    const objects = await template('signalink', {
      release: 'signalink',
      namespace: 'signalink',
      valuesFiles: files,
    });
    const sl = objects.find((o) => o.kind === 'Signalink')!;
    const { objects: desired } = steadyObjects(sl as unknown as SignalinkObject);
    const problems = desired.flatMap((o) => [
      ...(modelError(o) ? [`${o.kind}/${o.metadata.name}: ${modelError(o)}`] : []),
      ...unknownFields(o).map((f) => `${o.kind}/${o.metadata.name}: unknown field ${f}`),
    ]);
    expect(problems).toEqual([]);
    // skaffold port-forwards the gateway Service by this name.
    expect(
      desired.some((o) => o.kind === 'Service' && o.metadata.name === 'signalink-gateway'),
    ).toBe(true);
  },
  HELM_TIMEOUT_MS,
);

describe('kind/cluster.yaml', () => {
  const cluster = parse(readFileSync(join(ROOT, 'kind/cluster.yaml'), 'utf8'));

  test('only fields of kind.x-k8s.io/v1alpha4 Cluster', () => {
    // kind's Cluster config (v1alpha4), the fields this file may use; kind refuses others.
    const top = [
      'kind',
      'apiVersion',
      'name',
      'nodes',
      'networking',
      'featureGates',
      'runtimeConfig',
      'kubeadmConfigPatches',
      'kubeadmConfigPatchesJSON6902',
      'containerdConfigPatches',
      'containerdConfigPatchesJSON6902',
    ];
    const node = [
      'role',
      'image',
      'labels',
      'extraMounts',
      'extraPortMappings',
      'kubeadmConfigPatches',
      'kubeadmConfigPatchesJSON6902',
    ];
    const mapping = ['containerPort', 'hostPort', 'listenAddress', 'protocol'];
    const networking = [
      'ipFamily',
      'apiServerAddress',
      'apiServerPort',
      'podSubnet',
      'serviceSubnet',
      'disableDefaultCNI',
      'kubeProxyMode',
      'dnsSearch',
    ];
    expect(cluster.kind).toBe('Cluster');
    expect(cluster.apiVersion).toBe('kind.x-k8s.io/v1alpha4');
    expect(Object.keys(cluster).filter((k) => !top.includes(k))).toEqual([]);
    expect(Object.keys(cluster.networking ?? {}).filter((k) => !networking.includes(k))).toEqual(
      [],
    );
    for (const n of cluster.nodes) {
      expect(Object.keys(n).filter((k) => !node.includes(k))).toEqual([]);
      expect(['control-plane', 'worker']).toContain(n.role);
      for (const m of n.extraPortMappings ?? []) {
        expect(Object.keys(m).filter((k) => !mapping.includes(k))).toEqual([]);
        expect(['TCP', 'UDP', 'SCTP']).toContain(m.protocol);
      }
    }
  });

  test('one control plane, three workers, the gateway NodePort on 127.0.0.1:8080', () => {
    expect(cluster.nodes.map((n: any) => n.role)).toEqual([
      'control-plane',
      'worker',
      'worker',
      'worker',
    ]);
    const service = find('Service', 'signalink-gateway-nodeport');
    const nodePort = service.spec.ports[0].nodePort;
    expect(cluster.nodes[0].extraPortMappings).toEqual([
      { containerPort: nodePort, hostPort: 8080, listenAddress: '127.0.0.1', protocol: 'TCP' },
    ]);
    // make load's default BASE_URL is that address.
    expect(readFileSync(join(ROOT, 'Makefile'), 'utf8')).toMatch(
      /BASE_URL \?= http:\/\/127\.0\.0\.1:8080/,
    );
  });

  test('a node image pinned by digest, of the Kubernetes minor the tests run (1.35), kind ≥ 0.24', () => {
    expect(versions.KIND_NODE_IMAGE).toMatch(/^kindest\/node:v1\.35\.\d+@sha256:[a-f0-9]{64}$/);
    const [major, minor] = versions.KIND_VERSION!.replace(/^v/, '').split('.').map(Number);
    expect(major! > 0 || minor! >= 24).toBe(true);
    expect(readFileSync(join(ROOT, 'scripts/platform/cluster.sh'), 'utf8')).toMatch(
      /--image "\$KIND_NODE_IMAGE"/,
    );
  });
});

describe('skaffold.yaml', () => {
  const config = parse(readFileSync(join(ROOT, 'skaffold.yaml'), 'utf8'));
  // Property names of skaffold's v4beta14 schema (skaffold v2.24's latest) that this file uses.
  const TOP = [
    'apiVersion',
    'kind',
    'metadata',
    'build',
    'test',
    'manifests',
    'deploy',
    'portForward',
    'profiles',
    'requires',
    'resourceSelector',
    'verify',
    'customActions',
  ];
  const RELEASE = [
    'name',
    'chartPath',
    'remoteChart',
    'namespace',
    'createNamespace',
    'valuesFiles',
    'setValues',
    'setValueTemplates',
    'setFiles',
    'wait',
    'version',
    'repo',
    'upgradeOnChange',
    'overrides',
    'packaged',
    'recreatePods',
    'skipBuildDependencies',
    'skipTests',
    'useHelmSecrets',
    'dependsOn',
  ];
  const PORT_FORWARD = [
    'resourceType',
    'resourceName',
    'namespace',
    'port',
    'localPort',
    'address',
  ];
  const PROFILE = [
    'name',
    'activation',
    'patches',
    'build',
    'test',
    'manifests',
    'deploy',
    'portForward',
    'requiresAllActivations',
    'resourceSelector',
    'verify',
    'customActions',
  ];

  test('the current schema version, and only its fields', () => {
    expect(config.apiVersion).toBe('skaffold/v4beta14');
    expect(config.kind).toBe('Config');
    expect(Object.keys(config).filter((k) => !TOP.includes(k))).toEqual([]);
    for (const r of config.deploy.helm.releases)
      expect(Object.keys(r).filter((k) => !RELEASE.includes(k))).toEqual([]);
    for (const p of config.portForward)
      expect(Object.keys(p).filter((k) => !PORT_FORWARD.includes(k))).toEqual([]);
    for (const p of config.profiles)
      expect(Object.keys(p).filter((k) => !PROFILE.includes(k))).toEqual([]);
  });

  test('builds the Dockerfile, deploys both charts with values files that exist, into kind', () => {
    expect(config.build.local.push).toBe(false);
    expect(config.build.artifacts).toEqual([
      expect.objectContaining({ image: 'signalink', docker: { dockerfile: 'Dockerfile' } }),
    ]);
    expect(config.deploy.kubeContext).toBe('kind-signalink');
    for (const r of config.deploy.helm.releases) {
      expect(existsSync(join(ROOT, r.chartPath, 'Chart.yaml'))).toBe(true);
      for (const f of r.valuesFiles)
        expect({ f, exists: existsSync(join(ROOT, f)) }).toEqual({ f, exists: true });
      expect(r.setValueTemplates).toEqual({
        'image.repository': '{{.IMAGE_REPO_signalink}}',
        'image.tag': '{{.IMAGE_TAG_signalink}}',
      });
    }
    expect(
      config.portForward.map((p: any) => `${p.namespace}/${p.resourceName}:${p.port}`),
    ).toContain('signalink/signalink-gateway:80');
  });

  test('profiles dev, load and chaos, whose patches land on paths that exist', () => {
    expect(config.profiles.map((p: any) => p.name)).toEqual(['dev', 'load', 'chaos']);
    for (const p of config.profiles) {
      for (const patch of p.patches ?? []) {
        // JSON Patch: the parent of the target exists (a list for "-", an object otherwise).
        const parts = patch.path.split('/').slice(1, -1);
        let node: any = config;
        for (const part of parts) node = node?.[/^\d+$/.test(part) ? Number(part) : part];
        expect({ profile: p.name, path: patch.path, parent: node !== undefined }).toEqual({
          profile: p.name,
          path: patch.path,
          parent: true,
        });
        if (patch.path.endsWith('/-')) expect(existsSync(join(ROOT, patch.value))).toBe(true);
      }
    }
  });
});

test('shellcheck finds nothing in the scripts (scripts/, .ci/run, loadtest/chaos)', async () => {
  const files = [
    ...yamlLessScripts(join(ROOT, 'scripts')),
    join(ROOT, '.ci/run'),
    ...(existsSync(join(ROOT, 'loadtest/chaos/run.sh'))
      ? [join(ROOT, 'loadtest/chaos/run.sh')]
      : []),
  ];
  expect(files.length).toBeGreaterThan(15);
  const res = await run('shellcheck', files, { cwd: ROOT }).then(
    () => ({ code: 0, out: '' }),
    (err: { code?: number | string; stdout?: string }) => {
      if (err.code === 'ENOENT')
        throw new Error('shellcheck is not installed: apt-get install shellcheck (see .ci/run)');
      return { code: err.code, out: err.stdout ?? '' };
    },
  );
  expect(res).toEqual({ code: 0, out: '' });
});

function yamlLessScripts(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlLessScripts(path);
    return name.endsWith('.sh') ? [path] : [];
  });
}
