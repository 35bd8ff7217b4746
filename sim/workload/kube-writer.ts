/**
 * The scenario driver's hands: every write to the Kubernetes API goes through client-node's
 * CoreV1Api, as an operator's tooling would. Merge patches need the content type set per call
 * (client-node 1.x sends JSON Patch otherwise), hence `setHeaderOptions`.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1ConfigMap, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import type { KeepAliveKubeConfig } from '../kube/keep-alive-kube-config.js';
import { SIM_LABEL } from './names.js';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export type SimKind = 'Pod' | 'ConfigMap' | 'Secret';

export class KubeWriter {
  readonly core: CoreV1Api;

  constructor(
    kubeConfig: KeepAliveKubeConfig,
    readonly namespace: string,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  async ensureNamespace(): Promise<void> {
    try {
      await this.core.readNamespace({ name: this.namespace });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      await ignoreConflict(this.core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.namespace } } }));
    }
  }

  async create(kind: SimKind, body: V1Pod | V1ConfigMap | V1Secret): Promise<void> {
    const namespace = this.namespace;
    switch (kind) {
      case 'Pod':
        await this.core.createNamespacedPod({ namespace, body: body as V1Pod });
        return;
      case 'ConfigMap':
        await this.core.createNamespacedConfigMap({ namespace, body: body as V1ConfigMap });
        return;
      case 'Secret':
        await this.core.createNamespacedSecret({ namespace, body: body as V1Secret });
        return;
    }
  }

  async mergePatch(kind: SimKind, name: string, patch: object): Promise<void> {
    const request = { name, namespace: this.namespace, body: patch };
    switch (kind) {
      case 'Pod':
        await this.core.patchNamespacedPod(request, MERGE_PATCH);
        return;
      case 'ConfigMap':
        await this.core.patchNamespacedConfigMap(request, MERGE_PATCH);
        return;
      case 'Secret':
        await this.core.patchNamespacedSecret(request, MERGE_PATCH);
        return;
    }
  }

  async delete(kind: SimKind, name: string): Promise<void> {
    const request = { name, namespace: this.namespace, gracePeriodSeconds: 0 };
    try {
      switch (kind) {
        case 'Pod':
          await this.core.deleteNamespacedPod(request);
          return;
        case 'ConfigMap':
          await this.core.deleteNamespacedConfigMap(request);
          return;
        case 'Secret':
          await this.core.deleteNamespacedSecret(request);
          return;
      }
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  /** Names of this namespace's simulator objects of `kind` (leftovers of an earlier run). */
  async listSimObjects(kind: SimKind): Promise<string[]> {
    const request = { namespace: this.namespace, labelSelector: `${SIM_LABEL}=true` };
    const list =
      kind === 'Pod' ? await this.core.listNamespacedPod(request) : kind === 'ConfigMap' ? await this.core.listNamespacedConfigMap(request) : await this.core.listNamespacedSecret(request);
    return list.items.map((item) => item.metadata?.name ?? '').filter((name) => name.length > 0);
  }
}

/** The HTTP status of a client-node ApiException, if it is one. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** One line for a failed write: client-node's ApiException message carries the whole response. */
export function describeKubeError(err: unknown): string {
  const status = statusOf(err);
  if (status === undefined) return err instanceof Error ? err.message : String(err);
  const body = (err as { body?: unknown }).body;
  let message = '';
  try {
    message = String((JSON.parse(typeof body === 'string' ? body : '{}') as { message?: unknown }).message ?? '');
  } catch {
    message = '';
  }
  return `HTTP ${status}${message ? `: ${message}` : ''}`;
}

async function ignoreConflict(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (err) {
    if (statusOf(err) !== 409) throw err;
  }
}
