/**
 * `metadata.managedFields` and server-side apply, as kube-apiserver's field manager does them
 * (k8s.io/apiserver fieldmanager over sigs.k8s.io/structured-merge-diff; our own code):
 *
 * - Every write records who set what. An Update (create, PUT, non-apply PATCH) gives its
 *   manager (`fieldManager`, else the User-Agent up to '/') the fields it added or changed, and
 *   takes them from every other manager. Entries are per manager, operation and subresource.
 * - An Apply (`application/apply-patch+yaml`) merges the applied configuration into the live
 *   object by the schema (typed.ts), removes the fields this manager applied last time and no
 *   longer applies (unless someone else also owns them), and makes the applied fields this
 *   manager's. A changed field another manager owns is a conflict: 409 with one
 *   `FieldManagerConflict` cause per field, unless `force=true`, which takes it over.
 * - A live object without managedFields (written before they were recorded) is owned by
 *   `before-first-apply`, as in kube, so a first apply still sees conflicts.
 * - Server-owned metadata is never owned; the main resource of a kind with a status
 *   subresource owns no status, `/status` owns only status.
 */
import { isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../../../protocol/index.js';
import { ApiError, kubeTime } from '../../../protocol/kube/index.js';
import type { KindRef, KubeSchemas, Schema } from '../schema/schema-store.js';
import { FieldSet, fieldsV1Has, pathString, type FieldPath } from './fieldpath.js';
import { compareFields, TypedObjects, type FieldValue } from './typed.js';

export type Operation = 'Apply' | 'Update';

/** What the field manager needs of a resource definition. */
export interface ManagedKind extends KindRef {
  /** Main-resource writes own no status; `/status` writes own only status. */
  statusSubresource: boolean;
}

function apiVersionOf(def: KindRef): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

interface ManagedEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time: string | undefined;
  subresource: string;
  set: FieldSet;
}

const NEVER_OWNED: FieldPath[] = [
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'generation', 'managedFields', 'resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds'].map((field) => ['f:metadata', `f:${field}`]),
];
/** NEVER_OWNED by path key (FieldSet.key, the key of fieldValues' map). */
const NEVER_OWNED_KEYS = new Set(NEVER_OWNED.map((path) => FieldSet.key(path)));

export const MAX_FIELD_MANAGER_LENGTH = 128;

/** kube's default manager: the User-Agent up to its first '/'. */
export function managerFromUserAgent(userAgent: string | undefined): string {
  return (userAgent ?? '').split('/')[0]?.slice(0, MAX_FIELD_MANAGER_LENGTH) || 'unknown';
}

/** The managedFields entries of an object as stored (objects only). */
function rawEntries(obj: JsonObject | undefined): JsonObject[] {
  const meta = obj && isJsonObject(obj.metadata) ? obj.metadata : {};
  const list = Array.isArray(meta.managedFields) ? meta.managedFields : [];
  return list.filter(isJsonObject);
}

/** An entry's fields but its set (which fromFieldsV1 parses from entry.fieldsV1). */
function entryHeader(entry: JsonObject): Omit<ManagedEntry, 'set'> {
  return {
    manager: typeof entry.manager === 'string' ? entry.manager : '',
    operation: entry.operation === 'Apply' ? 'Apply' : 'Update',
    apiVersion: typeof entry.apiVersion === 'string' ? entry.apiVersion : '',
    time: typeof entry.time === 'string' ? entry.time : undefined,
    subresource: typeof entry.subresource === 'string' ? entry.subresource : '',
  };
}

function parseEntries(obj: JsonObject | undefined): ManagedEntry[] {
  return rawEntries(obj).map((entry) => ({ ...entryHeader(entry), set: FieldSet.fromFieldsV1(entry.fieldsV1) }));
}

function serializeEntries(entries: ManagedEntry[]): JsonValue[] {
  return entries.filter((entry) => !entry.set.empty).map((entry) => serializeEntry(entry, entry.set.toFieldsV1()));
}

/** One managedFields entry as stored, its set already written as a FieldsV1 trie. */
function serializeEntry(entry: Omit<ManagedEntry, 'set'>, fieldsV1: JsonValue): JsonObject {
  const out: JsonObject = { manager: entry.manager, operation: entry.operation, apiVersion: entry.apiVersion };
  if (entry.time) out.time = entry.time;
  out.fieldsType = 'FieldsV1';
  out.fieldsV1 = fieldsV1;
  if (entry.subresource) out.subresource = entry.subresource;
  return out;
}

/** kube's printManager: `"kubectl"`, or `"x" using v1 at TIME` for an Update manager. */
function describeManager(entry: ManagedEntry): string {
  let text = JSON.stringify(entry.manager);
  if (entry.subresource) text += ` with subresource ${JSON.stringify(entry.subresource)}`;
  if (entry.operation === 'Update') text += entry.time ? ` using ${entry.apiVersion} at ${entry.time}` : ` using ${entry.apiVersion}`;
  return text;
}

function conflictError(conflicts: { entry: ManagedEntry; path: FieldPath }[]): ApiError {
  const causes = conflicts.map(({ entry, path }) => ({ reason: 'FieldManagerConflict', message: `conflict with ${describeManager(entry)}`, field: pathString(path) }));
  let message: string;
  if (conflicts.length === 1) {
    const [only] = conflicts as [{ entry: ManagedEntry; path: FieldPath }];
    message = `Apply failed with 1 conflict: conflict with ${describeManager(only.entry)}: ${pathString(only.path)}`;
  } else {
    const lines: string[] = [];
    const byManager = new Map<string, FieldPath[]>();
    for (const { entry, path } of conflicts) byManager.set(describeManager(entry), [...(byManager.get(describeManager(entry)) ?? []), path]);
    for (const manager of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${manager}:`);
      for (const path of byManager.get(manager) ?? []) lines.push(`- ${pathString(path)}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, { causes });
}

export interface ApplyRequest {
  manager: string;
  force: boolean;
  subresource: string;
}

export class FieldManager {
  private readonly typed: TypedObjects;

  constructor(
    private readonly schemas: KubeSchemas,
    private readonly now: () => Date,
  ) {
    this.typed = new TypedObjects(schemas);
  }

  private root(def: ManagedKind): Schema {
    return this.schemas.kindSchema(def);
  }

  /** The fields a write by `subresource` can own, with their values. */
  private owned(def: ManagedKind, obj: JsonObject, subresource: string): Map<string, FieldValue> {
    const values = this.typed.fieldValues(obj, this.root(def));
    for (const [key, field] of values) if (!ownable(def, subresource, key, field.path)) values.delete(key);
    return values;
  }

  /** compareFields(owned(old), owned(next)), from the fields that differ only. */
  private ownedChanges(def: ManagedKind, old: JsonObject | undefined, next: JsonObject, subresource: string): { changed: FieldPath[]; removed: FieldPath[] } {
    const { changed, removed } = this.typed.diffFields(old, next, this.root(def));
    const keep = (path: FieldPath): boolean => ownable(def, subresource, FieldSet.key(path), path);
    return { changed: changed.filter(keep), removed: removed.filter(keep) };
  }

  /**
   * An Update by `manager`: sets next.metadata.managedFields from old's (or none, for a create)
   * and what changed between them.
   */
  recordUpdate(def: ManagedKind, old: JsonObject | undefined, next: JsonObject, manager: string, subresource: string): void {
    const { changed, removed } = this.ownedChanges(def, old, next, subresource);
    const time = kubeTime(this.now());
    const changedSet = new FieldSet(changed);
    const removedSet = new FieldSet(removed);
    // Entries the write does not touch keep their stored trie (our own serialisation, so it is
    // what parsing and writing it again would give); only touched ones are parsed and rewritten.
    const out: JsonValue[] = [];
    let mineSeen = false;
    for (const raw of rawEntries(old)) {
      const header = entryHeader(raw);
      const mine = !mineSeen && header.manager === manager && header.operation === 'Update' && header.subresource === subresource;
      if (mine) mineSeen = true;
      const trie = raw.fieldsV1;
      const touchedBy = (paths: FieldPath[]): boolean => paths.some((path) => fieldsV1Has(trie, path));
      let set: FieldSet | undefined;
      if (mine && changed.length > 0) {
        header.time = time;
        if (touchedBy(removed) || !changed.every((path) => fieldsV1Has(trie, path))) set = FieldSet.fromFieldsV1(trie).union(changedSet).difference(removedSet);
      } else if (touchedBy(removed) || (!mine && touchedBy(changed))) {
        set = FieldSet.fromFieldsV1(trie).difference(removedSet);
        if (!mine) set = set.difference(changedSet);
      }
      if (set === undefined) {
        if (isJsonObject(trie) && Object.keys(trie).length > 0) out.push(serializeEntry(header, trie));
      } else if (!set.empty) {
        out.push(serializeEntry(header, set.toFieldsV1()));
      }
    }
    if (!mineSeen && !changedSet.empty) out.push(serializeEntry({ manager, operation: 'Update', apiVersion: apiVersionOf(def), time, subresource }, changedSet.toFieldsV1()));
    setManagedFields(next, out);
  }

  /**
   * An Apply of `config` (decoded, of this kind) onto `live` (undefined: the object is created).
   * Returns the object to write, with its managedFields; throws 409 on conflicts without force.
   */
  apply(def: ManagedKind, live: JsonObject | undefined, config: JsonObject, request: ApplyRequest): JsonObject {
    const root = this.root(def);
    const { manager, force, subresource } = request;
    let entries = parseEntries(live);
    const liveObject = live ? structuredClone(live) : {};
    if (isJsonObject(liveObject.metadata)) delete liveObject.metadata.managedFields;
    if (live && entries.length === 0) {
      entries = [{ manager: 'before-first-apply', operation: 'Update', apiVersion: apiVersionOf(def), time: undefined, subresource: '', set: new FieldSet([...this.owned(def, liveObject, '').values()].map((field) => field.path)) }];
    }
    const configSet = new FieldSet([...this.owned(def, config, subresource).values()].map((field) => field.path));
    const previous = entries.find((entry) => entry.manager === manager && entry.operation === 'Apply' && entry.subresource === subresource);
    const others = entries.filter((entry) => entry !== previous);

    const merged = this.typed.merge(liveObject, config, root) as JsonObject;
    if (previous) {
      let othersOwn = new FieldSet();
      for (const entry of others) othersOwn = othersOwn.union(entry.set);
      const dropped = previous.set.difference(configSet).difference(othersOwn);
      // Deepest first, so an item's fields go before the item.
      for (const path of [...dropped].sort((a, b) => b.length - a.length)) this.typed.remove(merged, path, root);
    }

    const { changed } = compareFields(this.owned(def, liveObject, subresource), this.owned(def, merged, subresource));
    const changedSet = new FieldSet(changed);
    const conflicts: { entry: ManagedEntry; path: FieldPath }[] = [];
    for (const entry of others) for (const path of entry.set.intersection(changedSet)) conflicts.push({ entry, path });
    if (conflicts.length > 0 && !force) throw conflictError(conflicts);
    for (const entry of others) entry.set = entry.set.difference(changedSet);

    const time = kubeTime(this.now());
    const mine: ManagedEntry = { manager, operation: 'Apply', apiVersion: apiVersionOf(def), time: previous && previous.set.equals(configSet) ? previous.time : time, subresource, set: configSet };
    const next = previous ? entries.map((entry) => (entry === previous ? mine : entry)) : [...entries, mine];
    setManagedFields(merged, serializeEntries(next));
    return merged;
  }

  /** True when two objects' managedFields record the same ownership (times aside). */
  static sameOwnership(a: JsonObject, b: JsonObject): boolean {
    const strip = (obj: JsonObject): JsonValue[] => serializeEntries(parseEntries(obj)).map((entry) => ({ ...(entry as JsonObject), time: null }));
    return jsonEqual(strip(a), strip(b));
  }
}

/** Whether a write by `subresource` can own the field at `path` (whose FieldSet.key is `key`). */
function ownable(def: ManagedKind, subresource: string, key: string, path: FieldPath): boolean {
  const underStatus = path[0] === 'f:status';
  return !(NEVER_OWNED_KEYS.has(key) || (def.statusSubresource && (subresource === 'status' ? !underStatus : underStatus)));
}

function setManagedFields(obj: JsonObject, entries: JsonValue[]): void {
  const meta: JsonObject = isJsonObject(obj.metadata) ? obj.metadata : (obj.metadata = {});
  if (entries.length > 0) meta.managedFields = entries;
  else delete meta.managedFields;
}
