/**
 * The scenario driver's hands: every write to the Kubernetes API, as plain JSON over one pooled
 * keep-alive HTTPS agent (the hub's KubeClient). The driver shares a 2-core machine with the
 * API server, the hub and thousands of virtual nodes: client-node's typed models cost it about
 * as much CPU per write as the API server spends on it, which slowed every process it competes
 * with and measured client-node rather than the API (see the fleet bench).
 */
import { isConflict, isNotFound, type KubeClient } from '../../cloud-hub/kube/kube-client.js';
import { SIM_LABEL } from './names.js';

export type SimKind = 'Pod' | 'ConfigMap' | 'Secret';

const RESOURCE: Record<SimKind, string> = { Pod: 'pods', ConfigMap: 'configmaps', Secret: 'secrets' };

export class KubeWriter {
  constructor(
    private readonly client: KubeClient,
    readonly namespace: string,
  ) {}

  async ensureNamespace(): Promise<void> {
    try {
      await this.client.get(`/api/v1/namespaces/${encodeURIComponent(this.namespace)}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await ignoreConflict(this.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.namespace } }));
    }
  }

  async create(kind: SimKind, body: object): Promise<void> {
    await this.client.create(this.collection(kind), body);
  }

  async mergePatch(kind: SimKind, name: string, patch: object): Promise<void> {
    await this.client.mergePatch(this.item(kind, name), patch);
  }

  async delete(kind: SimKind, name: string): Promise<void> {
    try {
      await this.client.delete(this.item(kind, name), { gracePeriodSeconds: '0' });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Names of this namespace's simulator objects of `kind` (leftovers of an earlier run). */
  async listSimObjects(kind: SimKind): Promise<string[]> {
    const list = await this.client.get<{ items?: { metadata?: { name?: string } }[] }>(this.collection(kind), { labelSelector: `${SIM_LABEL}=true` });
    return (list.items ?? []).map((item) => item.metadata?.name ?? '').filter((name) => name.length > 0);
  }

  private collection(kind: SimKind): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/${RESOURCE[kind]}`;
  }

  private item(kind: SimKind, name: string): string {
    return `${this.collection(kind)}/${encodeURIComponent(name)}`;
  }
}

async function ignoreConflict(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}
