/**
 * The registry's reads of committed state: a list page (with its continue token and
 * remainingItemCount) and where a watch starts (the current objects, or the history after a
 * resourceVersion, or `expired`). The registry flushes its open batch before calling them.
 */
import type { JsonObject } from '../../protocol/index.js';
import { statusErrors, stringField, type ObjectFilter } from '../../protocol/kube/index.js';
import { decodeContinue, encodeContinue } from './continue-token.js';
import { metadataOf } from './objects.js';
import { resourceKey, type ResourceDefinition } from './resources.js';
import type { CommittedChange, SqliteObjectStorage, StoredRow } from './sqlite-storage.js';

export interface ListResult<Item = JsonObject> {
  items: Item[];
  resourceVersion: string;
  continueToken?: string;
  /** With a continue token and no selector: how many objects the next pages hold (kube leaves it out when a selector filters). */
  remainingItemCount?: number;
}

/** Where a watch starts: the events to send first, or `expired` for a resourceVersion older than the history. */
export type WatchStart = { initial: CommittedChange[] } | { expired: string };

export function listObjects(storage: SqliteObjectStorage, def: ResourceDefinition, filter: ObjectFilter, limit?: number, continueToken?: string): ListResult {
  return listPage(storage, def, filter, limit, continueToken, (row) => {
    const obj = JSON.parse(row.body) as JsonObject;
    return filter.selectsOnNamespaceOnly || filter.matches(obj, row.namespace) ? obj : undefined;
  });
}

/**
 * A list page as the stored JSON texts, parsing nothing: for a filter on the namespace alone
 * (an informer's list), whose answer can be spliced from the texts (responses.ts).
 */
export function listBodies(storage: SqliteObjectStorage, def: ResourceDefinition, filter: ObjectFilter, limit?: number, continueToken?: string): ListResult<string> {
  if (!filter.selectsOnNamespaceOnly) throw new Error('listBodies cannot apply label or field selectors');
  return listPage(storage, def, filter, limit, continueToken, (row) => row.body);
}

/** One page of `def`'s objects in storage order: `read` turns a row into an item, or undefined to skip it. */
function listPage<Item>(storage: SqliteObjectStorage, def: ResourceDefinition, filter: ObjectFilter, limit: number | undefined, continueToken: string | undefined, read: (row: StoredRow) => Item | undefined): ListResult<Item> {
  const token = continueToken ? decodeContinue(continueToken) : undefined;
  const rv = token?.rv ?? storage.currentRv;
  const namespace = def.namespaced ? filter.namespace : undefined;
  const items: Item[] = [];
  let after: { namespace: string; name: string } | undefined = token ? { namespace: token.namespace, name: token.name } : undefined;
  const want = limit !== undefined && limit > 0 ? limit : Number.MAX_SAFE_INTEGER;
  const batch = Math.min(want === Number.MAX_SAFE_INTEGER ? 1000 : want, 1000);
  for (;;) {
    const rows = storage.list(resourceKey(def), namespace, after, batch);
    for (const row of rows) {
      const item = read(row);
      if (item !== undefined) items.push(item);
      after = { namespace: row.namespace, name: row.name };
      if (items.length === want) {
        const more = storage.list(resourceKey(def), namespace, after, 1).length > 0;
        if (!more) return { items, resourceVersion: String(rv) };
        const result: ListResult<Item> = { items, resourceVersion: String(rv), continueToken: encodeContinue({ rv, ...after }) };
        if (filter.selectsOnNamespaceOnly) result.remainingItemCount = storage.countAfter(resourceKey(def), namespace, after);
        return result;
      }
    }
    if (rows.length < batch) return { items, resourceVersion: String(rv) };
  }
}

/** Where a watch from `resourceVersion` starts. '' and '0' (or sendInitialEvents) start with the current objects as ADDED. */
export function watchStartOf(storage: SqliteObjectStorage, def: ResourceDefinition, filter: ObjectFilter, resourceVersion: string, sendInitialEvents: boolean): WatchStart {
  if (resourceVersion === '' || resourceVersion === '0' || sendInitialEvents) {
    const { items } = listObjects(storage, def, filter);
    return {
      initial: items.map((object) => ({
        rv: Number(stringField(metadataOf(object), 'resourceVersion') ?? '0'),
        resource: resourceKey(def),
        namespace: stringField(metadataOf(object), 'namespace') ?? '',
        name: stringField(metadataOf(object), 'name') ?? '',
        type: 'ADDED' as const,
        object,
        body: JSON.stringify(object),
      })),
    };
  }
  const from = parseResourceVersion(resourceVersion);
  const compacted = storage.compactedThrough;
  if (from < compacted) return { expired: `too old resource version: ${from} (${compacted + 1})` };
  return { initial: storage.changesSince(resourceKey(def), from) };
}

function parseResourceVersion(value: string): number {
  if (!/^\d+$/.test(value)) throw statusErrors.badRequest(`invalid resource version ${JSON.stringify(value)}`);
  return Number(value);
}
