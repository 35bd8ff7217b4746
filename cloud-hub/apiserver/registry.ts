/**
 * The verbs' semantics over storage: create, get, list, update, patch, delete, the status and
 * binding subresources, and where a watch starts. This is where the embedded API behaves like
 * kube-apiserver's generic registry:
 *
 * - server-owned metadata (uid, creationTimestamp, resourceVersion, generation, deletion
 *   fields) is set here and never taken from a client;
 * - an update with a stale metadata.resourceVersion is a 409 Conflict; a write that changes
 *   nothing is not written (no new resourceVersion, no watch event);
 * - deletion (graceful for Pods on a node, finalizers, Namespaces) is deletion.ts.
 *
 * Writes are group-committed (group-commit.ts): a write method returns at once, its changes
 * reach the watches when the batch is flushed, and callers answer it after whenDurable(). Public
 * reads flush first, so no client ever sees a write that is not on disk yet.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { isJsonObject, type JsonObject, type JsonValue } from '../../protocol/index.js';
import { ApiError, kubeTime, numberField, objectField, statusErrors, stringField, type FieldError, type ObjectFilter } from '../../protocol/kube/index.js';
import { decodeContinue, encodeContinue } from './continue-token.js';
import { DeletionLifecycle, type DeleteRequest, type DeleteResult } from './deletion.js';
import { GroupCommit } from './group-commit.js';
import { metadataOf } from './objects.js';
import { applyPatch, type PatchType } from './patch.js';
import { apiVersionOf, INITIAL_NAMESPACES, resourceKey, storedNamespace, type ResourceCatalog, type ResourceDefinition } from './resources.js';
import type { ChangeInput, CommittedChange, SqliteObjectStorage } from './sqlite-storage.js';
import { prepareForCreate, prepareForStatusUpdate, prepareForUpdate, specChanged } from './strategy.js';
import { validateKind, validateObjectMeta } from './validation.js';
import type { WatchFanout } from './watch-fanout.js';

export interface RegistryDependencies {
  storage: SqliteObjectStorage;
  fanout: WatchFanout;
  catalog: ResourceCatalog;
  /** The clock for creationTimestamp and deletionTimestamp. */
  now: () => Date;
}

export interface WriteOptions {
  /** `dryRun=All`: validate and answer as if written, write nothing. */
  dryRun?: boolean;
}

export interface UpdateOptions extends WriteOptions {
  subresource?: 'status';
}

export interface ListResult {
  items: JsonObject[];
  resourceVersion: string;
  continueToken?: string;
}

/** Where a watch starts: the events to send first, or `expired` for a resourceVersion older than the history. */
export type WatchStart = { initial: CommittedChange[] } | { expired: string };

const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const GENERATE_NAME_ATTEMPTS = 8;

export class ObjectRegistry {
  private readonly storage: SqliteObjectStorage;
  private readonly catalog: ResourceCatalog;
  private readonly now: () => Date;
  private readonly batch: GroupCommit;
  private readonly deletion: DeletionLifecycle;
  /** Committed objects -> their JSON text (see committedBody). */
  private readonly bodies = new WeakMap<JsonObject, string>();

  constructor(deps: RegistryDependencies) {
    this.storage = deps.storage;
    this.catalog = deps.catalog;
    this.now = deps.now;
    this.batch = new GroupCommit(deps.storage, deps.fanout);
    this.deletion = new DeletionLifecycle({
      storage: deps.storage,
      catalog: deps.catalog,
      now: deps.now,
      load: (def, namespace, name) => this.load(def, namespace, name),
      commit: (changes) => this.commit(changes),
    });
  }

  /** Creates the namespaces Kubernetes starts with, when they are missing (first start). */
  ensureInitialNamespaces(): void {
    const namespaces = this.catalog.get('', 'namespaces');
    for (const name of INITIAL_NAMESPACES) {
      if (this.storage.get(resourceKey(namespaces), '', name)) continue;
      this.create(namespaces, '', { metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } });
    }
  }

  /** The newest committed resourceVersion. */
  get currentRv(): number {
    return this.storage.currentRv;
  }

  /** Resolves when every write made so far is committed (rejects if that commit failed). */
  whenDurable(): Promise<void> {
    return this.batch.whenDurable();
  }

  /** Commits the open batch now, then tells the watches and the waiting writers. */
  flush(): void {
    this.batch.flush();
  }

  get(def: ResourceDefinition, namespace: string, name: string): JsonObject {
    this.flush();
    return this.load(def, namespace, name);
  }

  /** The stored object, read inside the open batch (for writes). */
  private load(def: ResourceDefinition, namespace: string, name: string): JsonObject {
    return JSON.parse(this.loadBody(def, namespace, name)) as JsonObject;
  }

  /** The stored object's JSON text, read inside the open batch. */
  private loadBody(def: ResourceDefinition, namespace: string, name: string): string {
    const row = this.storage.get(resourceKey(def), storedNamespace(def, namespace), name);
    if (!row) throw statusErrors.notFound(def, name);
    return row.body;
  }

  /**
   * The JSON text of an object a write of this registry returned, as it was committed (the
   * body the watches got), or undefined for any other object. Answers to writes send it instead
   * of serialising the object a second time; the object must not have been changed since.
   */
  committedBody(obj: JsonObject): string | undefined {
    return this.bodies.get(obj);
  }

  list(def: ResourceDefinition, filter: ObjectFilter, limit?: number, continueToken?: string): ListResult {
    this.flush();
    const token = continueToken ? decodeContinue(continueToken) : undefined;
    const rv = token?.rv ?? this.storage.currentRv;
    const namespace = def.namespaced ? filter.namespace : undefined;
    const items: JsonObject[] = [];
    let after: { namespace: string; name: string } | undefined = token ? { namespace: token.namespace, name: token.name } : undefined;
    const want = limit !== undefined && limit > 0 ? limit : Number.MAX_SAFE_INTEGER;
    const batch = Math.min(want === Number.MAX_SAFE_INTEGER ? 1000 : want, 1000);
    for (;;) {
      const rows = this.storage.list(resourceKey(def), namespace, after, batch);
      for (const row of rows) {
        const obj = JSON.parse(row.body) as JsonObject;
        if (filter.selectsOnNamespaceOnly || filter.matches(obj, row.namespace)) items.push(obj);
        after = { namespace: row.namespace, name: row.name };
        if (items.length === want) {
          const more = this.storage.list(resourceKey(def), namespace, after, 1).length > 0;
          return more ? { items, resourceVersion: String(rv), continueToken: encodeContinue({ rv, ...after }) } : { items, resourceVersion: String(rv) };
        }
      }
      if (rows.length < batch) return { items, resourceVersion: String(rv) };
    }
  }

  create(def: ResourceDefinition, namespace: string, body: JsonValue, options: WriteOptions = {}): JsonObject {
    const obj = this.checkBody(def, body);
    const meta = metadataOf(obj);
    if (typeof meta.resourceVersion === 'string' && meta.resourceVersion !== '') {
      throw statusErrors.badRequest('resourceVersion should not be set on objects to be created');
    }
    this.placeInNamespace(def, obj, namespace);
    if (def.namespaced) this.requireActiveNamespace(def, namespace, stringField(meta, 'name') ?? '');
    const generateName = stringField(meta, 'generateName');
    const generated = (stringField(meta, 'name') ?? '') === '' && generateName !== undefined && generateName !== '';
    if (generated) meta.name = generateName + randomSuffix();

    prepareForCreate(def, obj);
    this.stampNewObject(def, obj);
    this.validate(def, obj, []);

    for (let attempt = 1; ; attempt++) {
      const name = stringField(meta, 'name') as string;
      if (!this.storage.exists(resourceKey(def), storedNamespace(def, namespace), name)) break;
      if (!generated || attempt >= GENERATE_NAME_ATTEMPTS) throw statusErrors.alreadyExists(def, name);
      meta.name = generateName + randomSuffix();
    }
    if (options.dryRun) return obj;
    this.commit([{ resource: resourceKey(def), namespace: storedNamespace(def, namespace), name: meta.name as string, type: 'ADDED', object: obj }]);
    return obj;
  }

  /** PUT: replaces the object (or its status). Creates it for kinds that allow create-on-update. */
  update(def: ResourceDefinition, namespace: string, name: string, body: JsonValue, options: UpdateOptions = {}): { object: JsonObject; created: boolean } {
    const obj = this.checkBody(def, body);
    const meta = metadataOf(obj);
    if (meta.name !== name) throw statusErrors.badRequest(`the name of the object (${stringField(meta, 'name') ?? ''}) does not match the name on the URL (${name})`);
    this.placeInNamespace(def, obj, namespace);
    const row = this.storage.get(resourceKey(def), storedNamespace(def, namespace), name);
    if (!row) {
      if (options.subresource || !def.allowCreateOnUpdate) throw statusErrors.notFound(def, name);
      delete meta.resourceVersion;
      return { object: this.create(def, namespace, obj, options), created: true };
    }
    const old = JSON.parse(row.body) as JsonObject;
    const requested = stringField(meta, 'resourceVersion') ?? '';
    if (requested === '') {
      if (!def.allowUnconditionalUpdate) {
        throw statusErrors.invalid(def, name, [{ field: 'metadata.resourceVersion', type: 'Invalid value', value: 0, detail: 'must be specified for an update' }]);
      }
    } else if (requested !== String(row.rv)) {
      throw statusErrors.staleResourceVersion(def, name);
    }
    return { object: this.replace(def, obj, old, options, row.body), created: false };
  }

  /** PATCH: applies the patch to the stored object (or its status) and writes the result as an update. */
  patch(def: ResourceDefinition, namespace: string, name: string, type: PatchType, patch: JsonValue, options: UpdateOptions = {}): JsonObject {
    const body = this.loadBody(def, namespace, name);
    const old = JSON.parse(body) as JsonObject;
    // Patch a copy (parsing the text again costs less than structuredClone): merge results
    // share untouched subtrees with their input, and the write below adjusts metadata in place
    // while `old` must stay what was stored (it becomes the watch event's previous state).
    const patched = applyPatch(type, JSON.parse(body) as JsonObject, patch);
    const meta = metadataOf(patched);
    if (meta.name !== name) {
      throw statusErrors.invalid(def, name, [{ field: 'metadata.name', type: 'Invalid value', value: meta.name ?? '', detail: 'field is immutable' }]);
    }
    this.placeInNamespace(def, patched, namespace);
    const requested = stringField(meta, 'resourceVersion') ?? '';
    if (requested !== '' && requested !== stringField(metadataOf(old), 'resourceVersion')) throw statusErrors.staleResourceVersion(def, name);
    return this.replace(def, patched, old, options, body);
  }

  /** POST pods/NAME/binding: sets spec.nodeName of an unbound pod (what a scheduler does). */
  bind(def: ResourceDefinition, namespace: string, name: string, body: JsonValue, options: WriteOptions = {}): void {
    if (!isJsonObject(body)) throw statusErrors.badRequest('the body must be a Binding object');
    const target = objectField(body, 'target');
    const nodeName = stringField(target, 'name') ?? '';
    if (nodeName === '') throw statusErrors.invalid({ group: '', kind: 'Binding' }, name, [{ field: 'target.name', type: 'Required value' }]);
    const pod = this.load(def, namespace, name);
    const binding = { group: '', resource: 'pods/binding' };
    const meta = metadataOf(pod);
    if (meta.deletionTimestamp !== undefined) throw statusErrors.conflict(binding, name, `pod ${name} is being deleted, cannot be assigned to a host`);
    const spec: JsonObject = isJsonObject(pod.spec) ? pod.spec : {};
    const current = stringField(spec, 'nodeName') ?? '';
    if (current !== '') throw statusErrors.conflict(binding, name, `pod ${name} is already assigned to node "${current}"`);
    const next = structuredClone(pod);
    (next.spec as JsonObject).nodeName = nodeName;
    const status: JsonObject = isJsonObject(next.status) ? next.status : {};
    const conditions = Array.isArray(status.conditions) ? status.conditions.filter((c) => !(isJsonObject(c) && c.type === 'PodScheduled')) : [];
    conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: kubeTime(this.now()) });
    status.conditions = conditions;
    next.status = status;
    if (options.dryRun) return;
    this.commit([{ resource: resourceKey(def), namespace, name, type: 'MODIFIED', object: next, prev: pod }]);
  }

  delete(def: ResourceDefinition, namespace: string, name: string, request: DeleteRequest = {}): DeleteResult {
    return this.deletion.delete(def, namespace, name, request);
  }

  /** DELETE on a collection: each matching object, by the same rules as a single delete. */
  deleteCollection(def: ResourceDefinition, filter: ObjectFilter, request: DeleteRequest = {}): JsonObject[] {
    const results: JsonObject[] = [];
    for (const obj of this.list(def, filter).items) {
      const namespace = stringField(metadataOf(obj), 'namespace') ?? '';
      const name = stringField(metadataOf(obj), 'name') ?? '';
      try {
        results.push(this.delete(def, namespace, name, { ...request, preconditions: undefined }).object);
      } catch (err) {
        // Undeletable namespaces and objects that went meanwhile are skipped.
        if (!(err instanceof ApiError && (err.code === 404 || err.code === 403))) throw err;
      }
    }
    return results;
  }

  /** Where a watch from `resourceVersion` starts. '' and '0' (or sendInitialEvents) start with the current objects as ADDED. */
  watchStart(def: ResourceDefinition, filter: ObjectFilter, resourceVersion: string, sendInitialEvents: boolean): WatchStart {
    // Replay only committed changes; later ones reach the caller's subscription at their flush.
    this.flush();
    if (resourceVersion === '' || resourceVersion === '0' || sendInitialEvents) {
      const { items } = this.list(def, filter);
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
    const compacted = this.storage.compactedThrough;
    if (from < compacted) return { expired: `too old resource version: ${from} (${compacted + 1})` };
    return { initial: this.storage.changesSince(resourceKey(def), from) };
  }

  // -------------------------------------------------------------------------------------------

  /**
   * The request body as an object of this resource's kind (kind/apiVersion may be omitted).
   * The registry takes ownership of request bodies (they are freshly parsed) and adjusts them in place.
   */
  private checkBody(def: ResourceDefinition, body: JsonValue): JsonObject {
    if (!isJsonObject(body)) throw statusErrors.badRequest(`the body of the request must be a JSON object of kind ${def.kind}`);
    const obj = body;
    const name = stringField(objectField(obj, 'metadata'), 'name') ?? '';
    const errors: FieldError[] = [];
    if (obj.kind !== undefined && obj.kind !== def.kind) errors.push({ field: 'kind', type: 'Invalid value', value: obj.kind, detail: `must be ${def.kind}` });
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(def)) {
      errors.push({ field: 'apiVersion', type: 'Invalid value', value: obj.apiVersion, detail: `must be ${apiVersionOf(def)}` });
    }
    if (obj.metadata !== undefined && !isJsonObject(obj.metadata)) errors.push({ field: 'metadata', type: 'Invalid value', value: obj.metadata, detail: 'must be an object' });
    if (errors.length > 0) throw statusErrors.invalid(def, name, errors);
    obj.kind = def.kind;
    obj.apiVersion = apiVersionOf(def);
    return obj;
  }

  /** metadata.namespace is the path's; a different one in the body is a 400, as in kube. */
  private placeInNamespace(def: ResourceDefinition, obj: JsonObject, namespace: string): void {
    const meta = metadataOf(obj);
    if (!def.namespaced) {
      delete meta.namespace;
      return;
    }
    const given = stringField(meta, 'namespace') ?? '';
    if (given !== '' && given !== namespace) throw statusErrors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    meta.namespace = namespace;
  }

  private requireActiveNamespace(def: ResourceDefinition, namespace: string, name: string): void {
    const namespaces = this.catalog.get('', 'namespaces');
    const row = this.storage.get(resourceKey(namespaces), '', namespace);
    if (!row) throw statusErrors.notFound(namespaces, namespace);
    const ns = JSON.parse(row.body) as JsonObject;
    if (metadataOf(ns).deletionTimestamp !== undefined) {
      throw statusErrors.forbidden(def, name, `unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }

  /** Server-owned metadata of a new object. */
  private stampNewObject(def: ResourceDefinition, obj: JsonObject): void {
    const meta = metadataOf(obj);
    meta.uid = randomUUID();
    meta.creationTimestamp = kubeTime(this.now());
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.managedFields;
    delete meta.selfLink;
    if (def.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
  }

  private validate(def: ResourceDefinition, obj: JsonObject, earlier: FieldError[]): void {
    const errors = [...earlier, ...validateObjectMeta(def, obj), ...validateKind(def, obj)];
    if (errors.length > 0) throw statusErrors.invalid(def, stringField(metadataOf(obj), 'name') ?? '', errors);
  }

  /** The common tail of update and patch: `obj` replaces `old`, whose resourceVersion it was checked against. */
  private replace(def: ResourceDefinition, obj: JsonObject, old: JsonObject, options: UpdateOptions, oldBody?: string): JsonObject {
    const oldMeta = metadataOf(old);
    const name = stringField(oldMeta, 'name') as string;
    const namespace = stringField(oldMeta, 'namespace') ?? '';
    const errors: FieldError[] = [];
    let next: JsonObject;
    if (options.subresource === 'status') {
      next = prepareForStatusUpdate(obj, old);
    } else {
      next = obj;
      errors.push(...prepareForUpdate(def, next, old));
    }
    const meta = metadataOf(next);
    const uid = stringField(meta, 'uid');
    if (uid !== undefined && uid !== '' && uid !== oldMeta.uid) errors.push({ field: 'metadata.uid', type: 'Invalid value', value: uid, detail: 'field is immutable' });
    for (const field of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation']) {
      if (oldMeta[field] === undefined) delete meta[field];
      else meta[field] = oldMeta[field] as JsonValue;
    }
    delete meta.managedFields;
    delete meta.selfLink;
    meta.resourceVersion = oldMeta.resourceVersion as JsonValue;
    errors.push(...this.deletion.updateErrors(next, old));
    this.validate(def, next, errors);
    if (def.tracksGeneration && specChanged(next, old)) meta.generation = (numberField(oldMeta, 'generation') ?? 0) + 1;
    if (isDeepStrictEqual(next, old)) return old;
    if (options.dryRun) return next;
    const resource = resourceKey(def);
    // An object whose deletion only waited for finalizers goes when the last one is removed.
    if (this.deletion.deletionDue(next, old)) this.commit([{ resource, namespace, name, type: 'DELETED', object: next }]);
    else this.commit([{ resource, namespace, name, type: 'MODIFIED', object: next, prev: old, ...(oldBody === undefined ? {} : { prevBody: oldBody }) }]);
    return next;
  }

  /** Writes into the open batch (flushed at the end of this event-loop turn), and finishes namespaces whose last object just went. */
  private commit(changes: ChangeInput[]): CommittedChange[] {
    const committed = this.batch.write(changes);
    for (const change of committed) this.bodies.set(change.object, change.body);
    this.deletion.afterCommit(committed);
    return committed;
  }
}

function randomSuffix(): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += GENERATE_NAME_ALPHABET[randomInt(GENERATE_NAME_ALPHABET.length)];
  return suffix;
}

function parseResourceVersion(value: string): number {
  if (!/^\d+$/.test(value)) throw statusErrors.badRequest(`invalid resource version ${JSON.stringify(value)}`);
  return Number(value);
}
