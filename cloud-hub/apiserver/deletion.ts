/**
 * The deletion lifecycle, as kube-apiserver's generic registry and namespace controller run it:
 *
 * - a Pod bound to a node (spec.nodeName) is deleted gracefully: it gets deletionTimestamp and
 *   deletionGracePeriodSeconds and stays until a delete with gracePeriodSeconds=0 (the edge
 *   confirming the pod is gone); unbound or finished pods and every other kind go at once. A new
 *   delete may only shorten a grace period;
 * - metadata.finalizers hold any object (with deletionTimestamp set) until an update removes the
 *   last one, and none may be added once it is being deleted;
 * - deleting a Namespace marks it Terminating, deletes everything in it by the same rules, and
 *   removes it once it is empty (afterCommit() sees the last object go).
 *
 * Writes go through the registry's commit (group commit plus afterCommit()), given as `commit`.
 */
import { jsonEqual, type JsonObject } from '../../protocol/index.js';
import { kubeTime, numberField, objectField, statusErrors, stringField, type FieldError } from '../../protocol/kube/index.js';
import { finalizersOf, metadataOf } from './objects.js';
import { resourceKey, storedNamespace, UNDELETABLE_NAMESPACES, type ResourceCatalog, type ResourceDefinition } from './resources.js';
import type { ChangeInput, CommittedChange, SqliteObjectStorage } from './sqlite-storage.js';

export interface DeleteRequest {
  /** `dryRun=All`: answer as if deleted, change nothing. */
  dryRun?: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface DeleteResult {
  /** The object's last state: deleted, or marked for deletion. */
  object: JsonObject;
  /** False while a grace period or finalizers keep it. */
  gone: boolean;
}

export interface DeletionDependencies {
  storage: SqliteObjectStorage;
  catalog: ResourceCatalog;
  /** The clock for deletionTimestamp. */
  now: () => Date;
  /** The stored object, or a 404 (the registry's, read inside the open batch). */
  load: (def: ResourceDefinition, namespace: string, name: string) => JsonObject;
  /** Writes changes (the registry's commit, which calls afterCommit()). */
  commit: (changes: ChangeInput[]) => CommittedChange[];
}

export class DeletionLifecycle {
  constructor(private readonly deps: DeletionDependencies) {}

  /** DELETE of one object. */
  delete(def: ResourceDefinition, namespace: string, name: string, request: DeleteRequest): DeleteResult {
    if (def.kind === 'Namespace') return this.deleteNamespace(def, name, request);
    const obj = this.deps.load(def, namespace, name);
    this.checkPreconditions(def, obj, request);
    return this.deleteObject(def, storedNamespace(def, namespace), obj, request);
  }

  /** What an update of an object being deleted may not do: add finalizers. */
  updateErrors(next: JsonObject, old: JsonObject): FieldError[] {
    if (metadataOf(old).deletionTimestamp === undefined) return [];
    const added = finalizersOf(next).filter((finalizer) => !finalizersOf(old).includes(finalizer));
    if (added.length === 0) return [];
    return [{ field: 'metadata.finalizers', type: 'Forbidden', detail: `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` }];
  }

  /** An update that removes the last finalizer of an object whose deletion only waited for them deletes it. */
  deletionDue(next: JsonObject, old: JsonObject): boolean {
    const oldMeta = metadataOf(old);
    return oldMeta.deletionTimestamp !== undefined && numberField(oldMeta, 'deletionGracePeriodSeconds') === 0 && finalizersOf(next).length === 0;
  }

  /** After every commit: a Terminating namespace whose last object just went is removed. */
  afterCommit(committed: readonly CommittedChange[]): void {
    for (const change of committed) {
      if (change.type === 'DELETED' && change.namespace !== '' && this.deps.catalog.byResourceKey(change.resource)?.namespaced) this.finalizeNamespaceIfEmpty(change.namespace);
    }
  }

  private checkPreconditions(def: ResourceDefinition, obj: JsonObject, request: DeleteRequest): void {
    const meta = metadataOf(obj);
    const name = stringField(meta, 'name') ?? '';
    const wantUid = request.preconditions?.uid;
    if (wantUid && wantUid !== meta.uid) {
      throw statusErrors.conflict(def, name, `Precondition failed: UID in precondition: ${wantUid}, UID in object meta: ${String(meta.uid)}`);
    }
    const wantRv = request.preconditions?.resourceVersion;
    if (wantRv && wantRv !== meta.resourceVersion) {
      throw statusErrors.conflict(
        def,
        name,
        `the ResourceVersion in the precondition (${wantRv}) does not match the ResourceVersion in record (${String(meta.resourceVersion)}). The object might have been modified`,
      );
    }
  }

  /** The grace period a delete gets: pods bound to a node and still running wait for the node. */
  private gracePeriod(def: ResourceDefinition, obj: JsonObject, request: DeleteRequest): number {
    if (def.kind !== 'Pod') return 0;
    const spec = objectField(obj, 'spec') ?? {};
    const phase = stringField(objectField(obj, 'status'), 'phase');
    if ((stringField(spec, 'nodeName') ?? '') === '' || phase === 'Succeeded' || phase === 'Failed') return 0;
    const requested = request.gracePeriodSeconds ?? numberField(spec, 'terminationGracePeriodSeconds') ?? 30;
    return Math.max(0, Math.floor(requested));
  }

  private deleteObject(def: ResourceDefinition, namespace: string, obj: JsonObject, request: DeleteRequest): DeleteResult {
    const meta = metadataOf(obj);
    const name = stringField(meta, 'name') as string;
    const resource = resourceKey(def);
    const grace = this.gracePeriod(def, obj, request);
    const currentGrace = numberField(meta, 'deletionGracePeriodSeconds');
    const deleting = meta.deletionTimestamp !== undefined;
    const finalizers = finalizersOf(obj);

    if (grace === 0 && finalizers.length === 0) {
      if (request.dryRun) return { object: obj, gone: true };
      const [committed] = this.deps.commit([{ resource, namespace, name, type: 'DELETED', object: structuredClone(obj) }]);
      return { object: committed?.object ?? obj, gone: true };
    }
    // Graceful deletion or finalizers: mark the object and keep it. A new delete may only shorten the grace period.
    if (deleting && currentGrace !== undefined && currentGrace <= grace) return { object: obj, gone: false };
    const next = structuredClone(obj);
    const nextMeta = metadataOf(next);
    nextMeta.deletionTimestamp = kubeTime(new Date(this.deps.now().getTime() + grace * 1000));
    nextMeta.deletionGracePeriodSeconds = grace;
    if (def.tracksGeneration) nextMeta.generation = (numberField(meta, 'generation') ?? 0) + 1;
    if (request.dryRun) return { object: next, gone: false };
    this.deps.commit([{ resource, namespace, name, type: 'MODIFIED', object: next, prev: obj }]);
    return { object: next, gone: false };
  }

  private deleteNamespace(def: ResourceDefinition, name: string, request: DeleteRequest): DeleteResult {
    const { storage, catalog } = this.deps;
    if (UNDELETABLE_NAMESPACES.has(name)) throw statusErrors.forbidden(def, name, 'this namespace may not be deleted');
    let ns = this.deps.load(def, '', name);
    this.checkPreconditions(def, ns, request);
    if (request.dryRun) return { object: ns, gone: false };
    if (metadataOf(ns).deletionTimestamp === undefined) {
      const next = structuredClone(ns);
      metadataOf(next).deletionTimestamp = kubeTime(this.deps.now());
      metadataOf(next).deletionGracePeriodSeconds = 0;
      next.status = { ...(objectField(next, 'status') ?? {}), phase: 'Terminating' };
      ns = this.deps.commit([{ resource: resourceKey(def), namespace: '', name, type: 'MODIFIED', object: next, prev: ns }])[0]?.object ?? next;
    }
    // What the namespace controller does in kube: delete the contents (each by its own rules),
    // then the namespace; a commit that removes the last object finishes it (afterCommit()).
    for (const contentDef of catalog.namespacedResources()) {
      for (const row of storage.list(resourceKey(contentDef), name)) {
        const obj = JSON.parse(row.body) as JsonObject;
        if (metadataOf(obj).deletionTimestamp !== undefined) continue;
        this.deleteObject(contentDef, name, obj, { gracePeriodSeconds: request.gracePeriodSeconds });
      }
    }
    this.finalizeNamespaceIfEmpty(name);
    const row = storage.get(resourceKey(def), '', name);
    return row ? { object: JSON.parse(row.body) as JsonObject, gone: false } : { object: ns, gone: true };
  }

  /** Removes a Terminating namespace once nothing is left in it (and no finalizer holds it). */
  private finalizeNamespaceIfEmpty(namespace: string): void {
    const { storage, catalog } = this.deps;
    const def = catalog.get('', 'namespaces');
    const row = storage.get(resourceKey(def), '', namespace);
    if (!row) return;
    const ns = JSON.parse(row.body) as JsonObject;
    if (metadataOf(ns).deletionTimestamp === undefined) return;
    for (const contentDef of catalog.namespacedResources()) if (storage.countInNamespace(resourceKey(contentDef), namespace) > 0) return;
    const next = structuredClone(ns);
    next.spec = { ...(objectField(next, 'spec') ?? {}), finalizers: [] };
    const type = finalizersOf(next).length === 0 ? 'DELETED' : 'MODIFIED';
    if (type === 'MODIFIED' && jsonEqual(next, ns)) return;
    this.deps.commit([{ resource: resourceKey(def), namespace: '', name: namespace, type, object: next, prev: ns }]);
  }
}
