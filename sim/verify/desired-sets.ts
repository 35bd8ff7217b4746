/**
 * What every node should hold, worked out with the hub's own code from a fresh list of the
 * API: the same projection and the same FleetView the hub feeds from its informers (content
 * versions, the NodeAuthorizer rule, edge configuration, token Secrets left out). Lists go
 * through the raw JSON client, as the hub's informers do: client-node's typed models would turn
 * timestamps into Dates and change the bytes the rv is computed from.
 */
import { cacheDigest, type JsonObject } from '../../protocol/index.js';
import { FleetView } from '../../cloud-hub/fleet/fleet-view.js';
import type { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import { WATCHED_KINDS, type WatchedKind } from '../../cloud-hub/kube/watched-kinds.js';
import { projectObject } from '../../cloud-hub/source/projection.js';

type ListPage = { metadata?: { continue?: string }; items?: JsonObject[] };

export interface DesiredSet {
  digest: string;
  size: number;
}

export class DesiredSets {
  constructor(
    private readonly client: KubeClient,
    /** The hub's namespace: token Secrets and edge configuration live there. */
    private readonly hubNamespace: string,
  ) {}

  async compute(nodes: readonly string[]): Promise<Map<string, DesiredSet>> {
    const fleet = new FleetView(this.hubNamespace);
    // Nodes first: their labels decide edge configuration, as the hub's informers would have it.
    for (const kind of ['Node', 'ConfigMap', 'Secret', 'Pod'] as WatchedKind[]) {
      for (const raw of await this.listAll(kind)) fleet.apply({ kind, type: 'upsert', obj: projectObject(WATCHED_KINDS[kind], raw), at: 0 });
    }
    const result = new Map<string, DesiredSet>();
    for (const node of nodes) {
      const desired = fleet.desired(node);
      result.set(node, { digest: cacheDigest([...desired].map(([key, object]) => [key, object.rv] as const)), size: desired.size });
    }
    return result;
  }

  private async listAll(kind: WatchedKind): Promise<JsonObject[]> {
    const items: JsonObject[] = [];
    let continueToken: string | undefined;
    do {
      const page = await this.client.get<ListPage>(WATCHED_KINDS[kind].path, { limit: '1000', continue: continueToken });
      items.push(...(page.items ?? []));
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    return items;
  }
}
