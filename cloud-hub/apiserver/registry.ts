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
import { randomUUID } from 'node:crypto';
import { jsonEqual, type JsonObject, type JsonValue } from '../../protocol/index.js';
import { ApiError, kubeTime, numberField, statusErrors, stringField, type FieldError, type ObjectFilter } from '../../protocol/kube/index.js';
import { FieldManager } from './apply/field-manager.js';
import { bindingTarget, boundPod } from './binding.js';
import { DeletionLifecycle, type DeleteRequest, type DeleteResult } from './deletion.js';
import { GENERATE_NAME_ATTEMPTS, generatedName } from './generate-name.js';
import { GroupCommit } from './group-commit.js';
import { metadataOf, objectOfKind } from './objects.js';
import { applyPatch, type PatchType } from './patch.js';
import { listBodies, listObjects, watchStartOf, type ListResult, type WatchStart } from './reads.js';
import { INITIAL_NAMESPACES, resourceKey, storedNamespace, type ResourceCatalog, type ResourceDefinition } from './resources.js';
import type { FieldValidation, ObjectDecoder } from './schema/decode.js';
import type { ChangeInput, CommittedChange, SqliteObjectStorage } from './sqlite-storage.js';
import { canonicalize, prepareForCreate, prepareForStatusUpdate, prepareForUpdate, specChanged } from './strategy.js';
import { validateKind, validateObjectMeta } from './validation.js';
import type { WatchFanout } from './watch-fanout.js';

export interface RegistryDependencies {
  storage: SqliteObjectStorage;
  fanout: WatchFanout;
  catalog: ResourceCatalog;
  /** The clock for creationTimestamp and deletionTimestamp. */
  now: () => Date;
  /** Decodes write bodies against the kinds' schemas (schema/decode.ts); without it bodies are stored as sent. */
  decoder?: ObjectDecoder;
  /** Records managedFields and does server-side apply (apply/field-manager.ts); without it neither happens. */
  fieldManager?: FieldManager;
  /** Mutating admission of a new object, after defaulting and before validation (default-tolerations.ts). */
  admit?: (def: ResourceDefinition, obj: JsonObject) => void;
}

export interface WriteOptions {
  /** `dryRun=All`: validate and answer as if written, write nothing. */
  dryRun?: boolean;
  /** What unknown fields do (default Warn, as kube). */
  fieldValidation?: FieldValidation;
  /** Receives the warnings of the write (unknown fields under Warn), for the Warning header. */
  warnings?: string[];
  /** The field manager the write is recorded under (managedFields). */
  manager?: string;
  /** Set by apply(): the object already carries the managedFields the apply computed. */
  applied?: boolean;
}

export interface ApplyOptions extends UpdateOptions {
  manager: string;
  force?: boolean;
}

export interface UpdateOptions extends WriteOptions {
  subresource?: 'status';
}

export type { ListResult, WatchStart } from './reads.js';

export class ObjectRegistry {
  private readonly storage: SqliteObjectStorage;
  private readonly catalog: ResourceCatalog;
  private readonly now: () => Date;
  private readonly batch: GroupCommit;
  private readonly deletion: DeletionLifecycle;
  private readonly decoder: ObjectDecoder | undefined;
  private readonly fields: FieldManager | undefined;
  private readonly admit: ((def: ResourceDefinition, obj: JsonObject) => void) | undefined;
  /** Committed objects -> their JSON text (see committedBody). */
  private readonly bodies = new WeakMap<JsonObject, string>();

  constructor(deps: RegistryDependencies) {
    this.decoder = deps.decoder;
    this.fields = deps.fieldManager;
    this.admit = deps.admit;
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
      this.create(namespaces, '', { metadata: { name } });
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
    return listObjects(this.storage, def, filter, limit, continueToken);
  }

  /** list() as the stored JSON texts, for a filter on the namespace alone (reads.ts). */
  listBodies(def: ResourceDefinition, filter: ObjectFilter, limit?: number, continueToken?: string): ListResult<string> {
    this.flush();
    return listBodies(this.storage, def, filter, limit, continueToken);
  }

  create(def: ResourceDefinition, namespace: string, body: JsonValue, options: WriteOptions = {}): JsonObject {
    const obj = objectOfKind(def, body);
    this.decode(def, obj, options);
    const meta = metadataOf(obj);
    if (typeof meta.resourceVersion === 'string' && meta.resourceVersion !== '') {
      throw statusErrors.badRequest('resourceVersion should not be set on objects to be created');
    }
    this.placeInNamespace(def, obj, namespace);
    if (def.namespaced) this.requireActiveNamespace(def, namespace, stringField(meta, 'name') ?? '');
    const generateName = stringField(meta, 'generateName');
    const generated = (stringField(meta, 'name') ?? '') === '' && generateName !== undefined && generateName !== '';
    if (generated) meta.name = generatedName(generateName);

    const applied = options.applied ? meta.managedFields : undefined;
    prepareForCreate(def, obj);
    this.admit?.(def, obj);
    this.stampNewObject(def, obj);
    this.validate(def, obj, []);
    if (applied !== undefined) meta.managedFields = applied;
    else this.fields?.recordUpdate(def, undefined, obj, options.manager ?? 'unknown', '');

    for (let attempt = 1; ; attempt++) {
      const name = stringField(meta, 'name') as string;
      if (!this.storage.exists(resourceKey(def), storedNamespace(def, namespace), name)) break;
      if (!generated || attempt >= GENERATE_NAME_ATTEMPTS) throw statusErrors.alreadyExists(def, name);
      meta.name = generatedName(generateName);
    }
    canonicalize(def, obj);
    if (options.dryRun) return obj;
    this.commit([{ resource: resourceKey(def), namespace: storedNamespace(def, namespace), name: meta.name as string, type: 'ADDED', object: obj }]);
    return obj;
  }

  /** PUT: replaces the object (or its status). Creates it for kinds that allow create-on-update. */
  update(def: ResourceDefinition, namespace: string, name: string, body: JsonValue, options: UpdateOptions = {}): { object: JsonObject; created: boolean } {
    const obj = objectOfKind(def, body);
    this.decode(def, obj, options);
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
    this.decode(def, patched, options);
    const meta = metadataOf(patched);
    if (meta.name !== name) {
      throw statusErrors.invalid(def, name, [{ field: 'metadata.name', type: 'Invalid value', value: meta.name ?? '', detail: 'field is immutable' }]);
    }
    this.placeInNamespace(def, patched, namespace);
    const requested = stringField(meta, 'resourceVersion') ?? '';
    if (requested !== '' && requested !== stringField(metadataOf(old), 'resourceVersion')) throw statusErrors.staleResourceVersion(def, name);
    return this.replace(def, patched, old, options, body);
  }

  /**
   * PATCH with application/apply-patch+yaml: server-side apply of `body` (the manager's whole
   * configuration) by apply/field-manager.ts; creates the object when it does not exist.
   */
  apply(def: ResourceDefinition, namespace: string, name: string, body: JsonValue, options: ApplyOptions): { object: JsonObject; created: boolean } {
    if (!this.fields) throw statusErrors.unsupportedMediaType('application/apply-patch+yaml', []);
    const config = objectOfKind(def, body);
    this.decode(def, config, options);
    const meta = metadataOf(config);
    if (meta.name !== name) throw statusErrors.badRequest(`the name of the object (${stringField(meta, 'name') ?? ''}) does not match the name on the URL (${name})`);
    this.placeInNamespace(def, config, namespace);
    const request = { manager: options.manager, force: options.force ?? false, subresource: options.subresource ?? '' };
    const row = this.storage.get(resourceKey(def), storedNamespace(def, namespace), name);
    if (!row) {
      if (options.subresource) throw statusErrors.notFound(def, name);
      return { object: this.create(def, namespace, this.fields.apply(def, undefined, config, request), { ...options, applied: true }), created: true };
    }
    const old = JSON.parse(row.body) as JsonObject;
    const requested = stringField(meta, 'resourceVersion') ?? '';
    if (requested !== '' && requested !== String(row.rv)) throw statusErrors.staleResourceVersion(def, name);
    const merged = this.fields.apply(def, old, config, request);
    metadataOf(merged).resourceVersion = String(row.rv);
    return { object: this.replace(def, merged, old, { ...options, applied: true }), created: false };
  }

  /** POST pods/NAME/binding: sets spec.nodeName of an unbound pod (what a scheduler does). */
  bind(def: ResourceDefinition, namespace: string, name: string, body: JsonValue, options: WriteOptions = {}): void {
    const nodeName = bindingTarget(body, name);
    const pod = this.load(def, namespace, name);
    const next = boundPod(pod, name, nodeName, this.now());
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

  /** Where a watch from `resourceVersion` starts (reads.ts). */
  watchStart(def: ResourceDefinition, filter: ObjectFilter, resourceVersion: string, sendInitialEvents: boolean): WatchStart {
    // Replay only committed changes; later ones reach the caller's subscription at their flush.
    this.flush();
    return watchStartOf(this.storage, def, filter, resourceVersion, sendInitialEvents);
  }

  // -------------------------------------------------------------------------------------------

  /** Typed decoding (schema/decode.ts): unknown fields dropped, warned about or refused. */
  private decode(def: ResourceDefinition, obj: JsonObject, options: WriteOptions): void {
    if (!this.decoder) return;
    const warnings = this.decoder.decode(def, obj, options.fieldValidation ?? 'Warn');
    if (warnings.length > 0) options.warnings?.push(...warnings);
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
    // An apply's object carries the managedFields it computed (a status write's `next` is built from `old`).
    const applied = options.applied ? metadataOf(obj).managedFields : undefined;
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
    canonicalize(def, next);
    this.validate(def, next, errors);
    if (def.tracksGeneration && specChanged(next, old)) meta.generation = (numberField(oldMeta, 'generation') ?? 0) + 1;
    const { managedFields: _oldManaged, ...oldMetaRest } = oldMeta;
    const unchanged = jsonEqual(next, { ...old, metadata: oldMetaRest });
    if (applied !== undefined) meta.managedFields = applied;
    if (unchanged && (applied === undefined || FieldManager.sameOwnership(next, old))) return old;
    if (applied === undefined) this.fields?.recordUpdate(def, old, next, options.manager ?? 'unknown', options.subresource ?? '');
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
