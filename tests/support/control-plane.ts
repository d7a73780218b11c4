/**
 * A real Kubernetes control plane for integration tests: etcd and kube-apiserver (v1.35, built
 * by scripts/tools/kubernetes.sh from the Go module proxy and cached under $SIGNALINK_TOOLS),
 * optionally kube-controller-manager, and optionally kube-scheduler plus kwok with one fake
 * node, so Deployment pods get scheduled and reach Running. There is no kubelet: no container
 * ever runs. Everything listens on free 127.0.0.1 ports and lives in one temp dir.
 *
 *     const cp = await startControlPlane({ controllerManager: true });
 *     const core = cp.kubeConfig.makeApiClient(CoreV1Api);     // admin (system:masters)
 *     spawn('node', [...], { env: { KUBECONFIG: cp.kubeconfigPath } });
 *     const sa = await cp.kubeconfigFor('ns', 'operator');        // exactly that SA's RBAC
 *     await cp.restartApiServer();                                // same port, same etcd
 *     await cp.stop();                                            // in afterAll
 *
 * Options:
 * - `controllerManager`: run kube-controller-manager with the controllers tests of an operator
 *   rely on: service accounts (each new namespace gets `default`) and their tokens, namespace
 *   deletion, garbage collection by ownerReferences, Deployment, ReplicaSet and Job. The start then
 *   also waits for the `default` ServiceAccount.
 * - `fakeNodes`: also run kube-scheduler and kwok with one Ready node named `kwok-node-0`
 *   (implies `controllerManager`); kwok plays the kubelet, so scheduled pods become Running
 *   and Ready and are deleted promptly.
 * - `apiServerArgs`: extra kube-apiserver flags (say feature gates), appended last.
 *
 * Authorization is Node,RBAC. The admin kubeconfig uses a client certificate in
 * `system:masters`; the controller manager and scheduler use their own certificates and the
 * RBAC roles Kubernetes bootstraps for them. Service account tokens are signed with a key made
 * per control plane; the issuer is `https://kubernetes.default.svc.cluster.local`.
 *
 * Set KEEP_CONTROL_PLANE_DIR=1 to keep the temp dir, with every component's log, after stop().
 *
 * The first start on a machine builds the binaries (tens of minutes; see README.md), so give
 * `beforeAll` a timeout of `CONTROL_PLANE_START_TIMEOUT_MS`. Every wait is for a condition with
 * a generous deadline, and a failure says which component did not come up, with its log tail.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { freePort } from './node-process.js';

const ROOT = process.env.SIGNALINK_ROOT ?? resolve(import.meta.dirname ?? '.', '../..');
const run = promisify(execFile);

/** Enough for a cold build of the binaries on a busy 2-core machine, then the start itself. */
export const CONTROL_PLANE_START_TIMEOUT_MS = 90 * 60_000;
/** Each component's own start, on a loaded machine. */
const READY_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 30_000;
const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/16';
/** The first address of the service range, which the `kubernetes` Service is given. */
const KUBERNETES_SERVICE_IP = '10.96.0.1';
export const FAKE_NODE_NAME = 'kwok-node-0';

export interface ControlPlaneOptions {
  controllerManager?: boolean;
  fakeNodes?: boolean;
  apiServerArgs?: string[];
}

export interface ServiceAccountKubeconfig {
  /** A kubeconfig file for a child process (`KUBECONFIG=...`). */
  path: string;
  kubeConfig: KubeConfig;
}

export interface ControlPlane {
  /** Admin kubeconfig file (system:masters). */
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** Stops kube-apiserver and starts it again on the same port with the same etcd. */
  restartApiServer(): Promise<void>;
  /** A kubeconfig with a TokenRequest token (24 h) of that ServiceAccount, which must exist. */
  kubeconfigFor(namespace: string, serviceAccount: string): Promise<ServiceAccountKubeconfig>;
  /** Kills every component by pid and removes the temp dir; safe to call twice. */
  stop(): Promise<void>;
}

interface Component {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  logFile: string;
  spawnError?: string;
}

let toolsDir: Promise<string> | undefined;

/** Runs the tool script once per test process; it prints the install dir last. */
function kubernetesToolsDir(): Promise<string> {
  toolsDir ??= new Promise<string>((res, rej) => {
    const child = spawn('bash', [join(ROOT, 'scripts/tools/kubernetes.sh')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', rej);
    child.on('exit', (code) => {
      const dir = out.trim().split('\n').pop();
      if (code === 0 && dir) res(dir);
      else rej(new Error(`scripts/tools/kubernetes.sh failed (exit ${code}): ${out.slice(-2000)}`));
    });
  });
  return toolsDir;
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '(no log)';
  }
}

/**
 * Polls `probe` until it returns a value. Fails at once when one of `components` exits, and at
 * the deadline with the first one's log tail.
 */
async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  components: Component[] = [],
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    for (const c of components) {
      const early = exitedEarly(c);
      if (early) throw new Error(`${what}: ${early}`);
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      const log = components[0]
        ? `; ${components[0].name} log:\n${logTail(components[0].logFile)}`
        : '';
      throw new Error(
        `${what} did not happen within ${timeoutMs} ms${last ? ` (last: ${last})` : ''}${log}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function startComponent(name: string, bin: string, args: string[], logFile: string): Component {
  const fd = openSync(logFile, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const component: Component = { name, child, logFile, exited: Promise.resolve() };
  component.exited = new Promise<void>((res) => {
    child.once('exit', () => res());
    child.once('error', (err) => {
      component.spawnError = err.message;
      res();
    });
  });
  return component;
}

function exitedEarly(c: Component): string | undefined {
  if (c.spawnError) return `${c.name} could not be started: ${c.spawnError}`;
  if (c.child.exitCode === null && c.child.signalCode === null) return undefined;
  return `${c.name} exited (${c.child.exitCode ?? c.child.signalCode}); log:\n${logTail(c.logFile)}`;
}

async function stopComponent(c: Component): Promise<void> {
  if (c.spawnError || c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.kill('SIGTERM');
  const timer = setTimeout(() => c.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await c.exited;
  clearTimeout(timer);
}

/** GET over TLS with the cluster CA, no credentials: enough for /readyz. */
function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = request(url, { ca, timeout: 10_000 }, (response) => {
      let body = '';
      response.on('data', (d: Buffer) => (body += d.toString()));
      response.on('end', () => res({ status: response.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', rej);
    req.end();
  });
}

interface Pki {
  caCert: string;
  issue(name: string, subject: string, extensions: string): Promise<{ cert: string; key: string }>;
}

/** A CA made with openssl for this control plane only; leaf certificates signed by it. */
async function makePki(dir: string): Promise<Pki> {
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', caKey, '-out', caCert, '-days', '3650', '-subj', '/CN=signalink-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]); // prettier-ignore
  return {
    caCert,
    async issue(name, subject, extensions) {
      const key = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const cert = join(dir, `${name}.crt`);
      const ext = join(dir, `${name}.ext`);
      await writeFile(ext, `basicConstraints=CA:FALSE\n${extensions}\n`);
      await run('openssl', [
        'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', csr, '-subj', subject,
      ]); // prettier-ignore
      await run('openssl', [
        'x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial',
        '-days', '3650', '-out', cert, '-extfile', ext,
      ]); // prettier-ignore
      return { cert, key };
    },
  };
}

type Credential = { token: string } | { cert: string; key: string };

async function writeKubeconfig(
  path: string,
  server: string,
  caCert: string,
  user: string,
  credential: Credential,
  namespace = 'default',
): Promise<KubeConfig> {
  const b64 = async (file: string) => (await readFile(file)).toString('base64');
  const userEntry =
    'token' in credential
      ? { token: credential.token }
      : {
          'client-certificate-data': await b64(credential.cert),
          'client-key-data': await b64(credential.key),
        };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'signalink-test',
        cluster: { server, 'certificate-authority-data': await b64(caCert) },
      },
    ],
    users: [{ name: user, user: userEntry }],
    contexts: [{ name: user, context: { cluster: 'signalink-test', user, namespace } }],
    'current-context': user,
  };
  await writeFile(path, stringify(config), { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const fakeNodes = options.fakeNodes ?? false;
  const controllerManager = (options.controllerManager ?? false) || fakeNodes;
  const tools = await kubernetesToolsDir();
  const bin = join(tools, 'bin');
  const dir = await mkdtemp(join(tmpdir(), 'signalink-k8s-'));
  const components: Component[] = [];
  let apiServer: Component | undefined;
  let stopped = false;

  // A test process that dies without afterAll must not leave servers behind.
  const killAll = () => {
    for (const c of [...components, ...(apiServer ? [apiServer] : [])]) c.child.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', killAll);
    // Clients of the apiserver first, etcd last.
    const [etcd, ...clients] = components;
    await Promise.all(clients.map(stopComponent));
    if (apiServer) await stopComponent(apiServer);
    if (etcd) await stopComponent(etcd);
    if (process.env.KEEP_CONTROL_PLANE_DIR) process.stderr.write(`[control-plane] kept ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  };

  try {
    const pkiDir = join(dir, 'pki');
    await mkdir(pkiDir);
    const pki = await makePki(pkiDir);
    const caPem = await readFile(pki.caCert, 'utf8');
    const serving = await pki.issue(
      'apiserver',
      '/CN=kube-apiserver',
      'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
        `subjectAltName=IP:127.0.0.1,IP:${KUBERNETES_SERVICE_IP},DNS:localhost,DNS:kubernetes,` +
        'DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
    );
    const clientExt =
      'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth';
    const admin = await pki.issue('admin', '/O=system:masters/CN=signalink-test-admin', clientExt);

    const saKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = join(pkiDir, 'sa.key');
    const saPub = join(pkiDir, 'sa.pub');
    await writeFile(saKey, saKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    await writeFile(saPub, saKeys.publicKey.export({ type: 'spki', format: 'pem' }));

    const etcdPort = await freePort();
    const peerPort = await freePort();
    const etcd = startComponent(
      'etcd',
      join(bin, 'etcd'),
      [
        '--name=etcd',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=etcd=http://127.0.0.1:${peerPort}`,
        // Throw-away data: durability would only slow the tests down.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      join(dir, 'etcd.log'),
    );
    components.push(etcd);
    await waitFor(
      'etcd answering /health',
      async () => {
        const res = await fetch(`http://127.0.0.1:${etcdPort}/health`);
        const body = (await res.json()) as { health?: string };
        return res.ok && body.health === 'true' ? true : undefined;
      },
      READY_TIMEOUT_MS,
      [etcd],
    );

    const apiPort = await freePort();
    const server = `https://127.0.0.1:${apiPort}`;
    const apiServerArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${serving.cert}`,
      `--tls-private-key-file=${serving.key}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=Node,RBAC',
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      '--allow-privileged=true',
      // Nothing here runs the node lifecycle controller that would lift the not-ready taint
      // this plugin puts on every new node; kwok reports the fake node Ready instead.
      '--disable-admission-plugins=TaintNodesByCondition',
      // The apiserver's own endpoints would be 127.0.0.1, which Endpoints refuse (loopback).
      '--endpoint-reconciler-type=none',
      // On SIGTERM, end open watches within 2 s instead of waiting for them to go away.
      '--shutdown-watch-termination-grace-period=2s',
      '--profiling=false',
      ...(options.apiServerArgs ?? []),
    ];
    const apiLog = join(dir, 'kube-apiserver.log');
    const startApiServer = async () => {
      const c = startComponent(
        'kube-apiserver',
        join(bin, 'kube-apiserver'),
        apiServerArgs,
        apiLog,
      );
      apiServer = c;
      await waitFor(
        'kube-apiserver answering /readyz with ok',
        async () => {
          const res = await httpsGet(`${server}/readyz`, caPem);
          if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(-500)}`);
          return true;
        },
        READY_TIMEOUT_MS,
        [c, etcd],
      );
    };
    await startApiServer();

    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    const kubeConfig = await writeKubeconfig(kubeconfigPath, server, pki.caCert, 'admin', admin);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await waitFor(
      'the default namespace being created by kube-apiserver',
      async () => (await core.readNamespace({ name: 'default' })).metadata?.name,
      READY_TIMEOUT_MS,
      apiServer ? [apiServer, etcd] : [etcd],
    );

    if (controllerManager) {
      const cert = await pki.issue('kcm', '/CN=system:kube-controller-manager', clientExt);
      const kcmConfig = join(dir, 'kube-controller-manager.kubeconfig');
      await writeKubeconfig(kcmConfig, server, pki.caCert, 'system:kube-controller-manager', cert);
      const kcm = startComponent(
        'kube-controller-manager',
        join(bin, 'kube-controller-manager'),
        [
          `--kubeconfig=${kcmConfig}`,
          // No health endpoint needed (readiness is judged by what it creates), so no port.
          '--secure-port=0',
          '--leader-elect=false',
          '--controllers=' +
            [
              'serviceaccount-controller',
              'serviceaccount-token-controller',
              'root-ca-certificate-publisher-controller',
              'namespace-controller',
              'garbage-collector-controller',
              'deployment-controller',
              'replicaset-controller',
              // The operator's migrations run as Jobs (kwok completes their pods).
              'job-controller',
            ].join(','),
          // Each controller acts as its own ServiceAccount with the bootstrap RBAC roles, as in
          // a real cluster, so RBAC mistakes are not hidden by a superuser.
          '--use-service-account-credentials=true',
          `--service-account-private-key-file=${saKey}`,
          `--root-ca-file=${pki.caCert}`,
        ],
        join(dir, 'kube-controller-manager.log'),
      );
      components.push(kcm);
      await waitFor(
        'the default ServiceAccount being created by kube-controller-manager',
        async () =>
          (await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' }))
            .metadata?.name,
        READY_TIMEOUT_MS,
        [kcm],
      );
    }

    if (fakeNodes) {
      const cert = await pki.issue('scheduler', '/CN=system:kube-scheduler', clientExt);
      const schedulerConfig = join(dir, 'kube-scheduler.kubeconfig');
      await writeKubeconfig(schedulerConfig, server, pki.caCert, 'system:kube-scheduler', cert);
      const scheduler = startComponent(
        'kube-scheduler',
        join(bin, 'kube-scheduler'),
        [`--kubeconfig=${schedulerConfig}`, '--secure-port=0', '--leader-elect=false'],
        join(dir, 'kube-scheduler.log'),
      );
      components.push(scheduler);
      const kwok = startComponent(
        'kwok',
        join(bin, 'kwok'),
        [
          `--kubeconfig=${kubeconfigPath}`,
          `--config=${join(tools, 'kwok-stages.yaml')}`,
          // Every node here is fake, so kwok plays the kubelet of all of them.
          '--manage-all-nodes=true',
          '--cidr=10.244.0.0/16',
          '--node-ip=127.0.0.1',
          `--server-address=127.0.0.1:${await freePort()}`,
        ],
        join(dir, 'kwok.log'),
      );
      components.push(kwok);
      await core.createNode({
        body: {
          metadata: {
            name: FAKE_NODE_NAME,
            labels: { type: 'kwok', 'kubernetes.io/hostname': FAKE_NODE_NAME },
            annotations: { 'kwok.x-k8s.io/node': 'fake' },
          },
          status: {
            allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
            capacity: { cpu: '32', memory: '256Gi', pods: '110' },
          },
        },
      });
      await waitFor(
        `node ${FAKE_NODE_NAME} Ready (kwok)`,
        async () => {
          const node = await core.readNode({ name: FAKE_NODE_NAME });
          const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
          return ready?.status === 'True' ? true : undefined;
        },
        READY_TIMEOUT_MS,
        [kwok, scheduler],
      );
    }

    let tokens = 0;
    return {
      kubeconfigPath,
      kubeConfig,
      server,
      async restartApiServer() {
        if (apiServer) await stopComponent(apiServer);
        await startApiServer();
      },
      async kubeconfigFor(namespace, serviceAccount) {
        const res = await core.createNamespacedServiceAccountToken({
          name: serviceAccount,
          namespace,
          body: { spec: { audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds: 24 * 3600 } },
        });
        const token = res.status?.token;
        if (!token)
          throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
        tokens += 1;
        const path = join(dir, `sa-${tokens}-${namespace}-${serviceAccount}.kubeconfig`);
        const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
        const kc = await writeKubeconfig(path, server, pki.caCert, user, { token }, namespace);
        return { path, kubeConfig: kc };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
