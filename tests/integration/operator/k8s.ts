// Helpers for the operator's tests against the real control plane.
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { apiPath } from '../../../services/operator/kinds.js';
import { KubeClient } from '../../../services/operator/kube-client.js';

/** The control plane and the operator work at their own pace on a busy machine. */
export const K8S_CONDITION_TIMEOUT_MS = 90_000;

export function explain(err: unknown): string {
  if (err instanceof ApiException) return `HTTP ${err.code} ${String(err.body).slice(0, 500)}`;
  return err instanceof Error ? err.message : String(err);
}

/** Polls until `probe` returns something other than undefined/false; says what did not happen. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = K8S_CONDITION_TIMEOUT_MS,
  describeLast: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} did not happen within ${timeoutMs} ms${last ? `; last error: ${explain(last)}` : ''}${describeLast() ? `; ${describeLast()}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

/**
 * Creates a CRD from its YAML as raw JSON. client-node's typed ApiextensionsV1Api would pass it
 * through its model serializer, which drops `enum`, `default` and every x-kubernetes-* key.
 */
export async function installCrd(kubeConfig: KubeConfig, yaml: string): Promise<void> {
  await new KubeClient(kubeConfig).create(
    apiPath('apiextensions.k8s.io/v1', 'customresourcedefinitions'),
    parse(yaml),
  );
}
