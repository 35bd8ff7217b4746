/** Create the objects of multi-document YAML files through the API (`kubectl create -f`, without kubectl). */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { isConflict, type KubeClient } from '../../cloud-hub/kube/kube-client.js';

/** Collection paths of the kinds the examples use. */
const COLLECTIONS: Record<string, (namespace: string) => string> = {
  Namespace: () => '/api/v1/namespaces',
  ConfigMap: (ns) => `/api/v1/namespaces/${ns}/configmaps`,
  Secret: (ns) => `/api/v1/namespaces/${ns}/secrets`,
  Pod: (ns) => `/api/v1/namespaces/${ns}/pods`,
  Node: () => '/api/v1/nodes',
};

export interface ManifestObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}

export function readManifests(file: string): ManifestObject[] {
  const objects: ManifestObject[] = [];
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as ManifestObject | null;
    if (!value) continue;
    if (!value.kind || !value.metadata?.name) throw new Error(`${file}: every document needs kind and metadata.name`);
    objects.push(value);
  }
  return objects;
}

/** Creates each object; ones that already exist are left as they are. Returns what was created. */
export async function createManifests(client: KubeClient, objects: readonly ManifestObject[]): Promise<string[]> {
  const created: string[] = [];
  for (const object of objects) {
    const collection = COLLECTIONS[object.kind];
    if (!collection) throw new Error(`cannot create kind ${object.kind}; supported: ${Object.keys(COLLECTIONS).join(', ')}`);
    try {
      await client.create(collection(object.metadata.namespace ?? 'default'), object);
      created.push(`${object.kind}/${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`);
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  return created;
}
