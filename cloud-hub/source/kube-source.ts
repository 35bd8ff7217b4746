/**
 * One client-node informer (ListWatch) per watched kind for the whole hub, never one per node.
 *
 * Several handlers subscribe to the same informers (`addEventHandler`, as with client-go's
 * shared informers): the fleet view and the node tokens each see every event and keep what
 * concerns them.
 *
 * What client-node caches is a stub per object (kind, name, namespace, resourceVersion: all its
 * ListWatch needs to tell adds, updates and relist deletions apart). The projected object
 * (projection.ts) travels with the stub to our handlers only, and the fleet view's watch cache
 * keeps it once, as JSON text; a fleet's objects are not held twice, and never as full parsed
 * objects. A list goes to the handlers page by page as it arrives (listAll), not at its end.
 */
import { ListWatch, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { JsonObject } from '../../protocol/index.js';
import type { KubeClient } from '../kube/kube-client.js';
import { WATCHED_KINDS, type KindInfo, type WatchEvent, type WatchEventHandler, type WatchedKind } from '../kube/watched-kinds.js';
import { projectObject } from './projection.js';

export interface KubeSourceOptions {
  kubeConfig: KubeConfig;
  client: KubeClient;
  logger: Logger;
  /** Sees each object as the API server sent it, before projection strips it (lists and watch events). */
  observeRaw?: (kind: WatchedKind, raw: JsonObject, deleted: boolean) => void;
  kinds?: readonly WatchedKind[];
  /** First delay before restarting a failed informer; doubles up to 30 s. */
  restartDelayMs?: number;
  /** Items per list page (default 250: a page's text and parsed objects stay small enough to die young). */
  pageSize?: number;
}

type ListResponse = { metadata?: { resourceVersion?: string; continue?: string }; items?: JsonObject[] };

/** Stub -> the projected object it stands for, until a handler has taken it. */
type Carried = WeakMap<object, JsonObject>;

/** The cache entry client-node keeps for `projected`: what its ListWatch compares, nothing more. */
function stubFor(info: KindInfo, projected: JsonObject): KubernetesObject {
  const metadata = (projected.metadata ?? {}) as { name?: string; namespace?: string; resourceVersion?: string };
  // One literal of a fixed shape: built from conditional spreads, each of the 40,000 stubs of a
  // large fleet had a hidden class of its own (8 MiB of maps and descriptors). An absent field
  // is undefined, which ListWatch reads as it reads a missing one (`namespace || ''`, no version).
  return {
    apiVersion: info.apiVersion,
    kind: info.kind,
    metadata: { name: metadata.name, namespace: metadata.namespace, resourceVersion: metadata.resourceVersion },
  };
}

/** A stub carrying the projected object to our handlers (a watch event's). */
function carryingStub(info: KindInfo, projected: JsonObject, carried: Carried): KubernetesObject {
  const stub = stubFor(info, projected);
  carried.set(stub, projected);
  return stub;
}

/** A Watch that hands the informer stubs of projected objects and tells us when the initial list is done. */
class ProjectingWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly info: KindInfo,
    private readonly carried: Carried,
    private readonly onWatchStart: () => void,
    private readonly observeRaw?: (kind: WatchedKind, raw: JsonObject, deleted: boolean) => void,
  ) {
    super(config);
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    // ListWatch calls watch() right after it has processed a list: the cache is complete.
    this.onWatchStart();
    return super.watch(
      path,
      queryParams,
      (phase, obj, watchObj) => {
        if (this.observeRaw && (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED')) this.observeRaw(this.info.kind, obj as JsonObject, phase === 'DELETED');
        const forCache = phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' ? carryingStub(this.info, projectObject(this.info, obj as JsonObject), this.carried) : obj;
        callback(phase, forCache, watchObj);
      },
      done,
    );
  }
}

export class KubeSource {
  private readonly informers = new Map<WatchedKind, ListWatch<KubernetesObject>>();
  private readonly synced = new Set<WatchedKind>();
  private readonly syncWaiters: (() => void)[] = [];
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readonly carried: Carried = new WeakMap();
  private readonly handlers: WatchEventHandler[] = [];
  private stopped = false;

  constructor(private readonly options: KubeSourceOptions) {}

  get kinds(): readonly WatchedKind[] {
    return this.options.kinds ?? (Object.keys(WATCHED_KINDS) as WatchedKind[]);
  }

  /** True once every informer has finished its initial list. */
  hasSynced(): boolean {
    return this.synced.size === this.kinds.length;
  }

  whenSynced(): Promise<void> {
    if (this.hasSynced()) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** Hands every event from now on to `handler` too, after the handlers added before it. */
  addEventHandler(handler: WatchEventHandler): void {
    this.handlers.push(handler);
  }

  start(): void {
    for (const kind of this.kinds) this.startInformer(WATCHED_KINDS[kind]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.restartTimers) clearTimeout(timer);
    await Promise.all([...this.informers.values()].map((informer) => informer.stop()));
  }

  /** How many objects of `kind` the informer holds. */
  count(kind: WatchedKind): number {
    return this.informers.get(kind)?.list().length ?? 0;
  }

  private startInformer(info: KindInfo): void {
    const { logger } = this.options;
    const log = logger.child({ kind: info.kind });
    const watch = new ProjectingWatch(this.options.kubeConfig, info, this.carried, () => this.markSynced(info.kind), this.options.observeRaw);
    const informer: ListWatch<KubernetesObject> = new ListWatch<KubernetesObject>(info.path, watch, () => this.listAll(info, informer), false);
    const initialDelay = this.options.restartDelayMs ?? 500;
    let delay = initialDelay;
    const emit = (type: WatchEvent['type']) => (obj: KubernetesObject) => {
      // Events flow again: the next outage starts from the first delay.
      delay = initialDelay;
      // The projected object rides with its stub; a relist's delete passes the cached stub, whose
      // name is all a delete needs.
      const projected = this.carried.get(obj);
      // A listed object was handed to the handlers with its page (listAll): its stub carries nothing.
      if (type === 'upsert' && projected === undefined) return;
      this.carried.delete(obj);
      this.deliver({ kind: info.kind, type, obj: projected ?? (obj as unknown as JsonObject), at: Date.now() });
    };
    informer.on('add', emit('upsert'));
    informer.on('update', emit('upsert'));
    informer.on('delete', emit('delete'));
    informer.on('connect', () => log.debug('informer (re)connecting'));
    informer.on('error', (err: unknown) => {
      // client-node stops an informer on any error but 410 Gone; we keep ours running.
      if (this.stopped) return;
      if (this.synced.has(info.kind)) log.warn({ err: errorMessage(err), retryInMs: delay }, 'informer failed; restarting');
      // Before its first list the hub is not ready: say so, and where it is trying to reach.
      else log.warn({ err: errorMessage(err), retryInMs: delay, cluster: this.options.client.server }, 'informer cannot list from the cluster API; not ready until every kind has listed');
      const timer = setTimeout(() => {
        this.restartTimers.delete(timer);
        if (!this.stopped) void informer.start().catch((startErr: unknown) => log.warn({ err: errorMessage(startErr) }, 'informer restart failed'));
      }, delay);
      this.restartTimers.add(timer);
      delay = Math.min(delay * 2, 30_000);
    });
    this.informers.set(info.kind, informer);
    void informer.start().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'informer start failed'));
  }

  private markSynced(kind: WatchedKind): void {
    if (this.synced.has(kind)) return;
    this.synced.add(kind);
    this.options.logger.info({ kind, objects: this.count(kind) }, 'informer synced');
    // Waiters want the complete view: every kind listed, not just this one.
    if (!this.hasSynced()) return;
    const waiters = this.syncWaiters.splice(0);
    for (const waiter of waiters) waiter();
  }

  private deliver(event: WatchEvent): void {
    for (const handler of this.handlers) handler.apply(event);
  }

  /**
   * A raw, paginated list, projected item by item and handed to the handlers page by page, so a
   * page's parsed and projected objects are garbage before the next page arrives (held to the end
   * of the list, 20,000 projected Pods outlived V8's young generation and grew the old one). The
   * informer gets stubs that carry nothing and caches them. An item is handed on exactly when
   * the informer will see it as added or changed (a name it does not hold, or another
   * resourceVersion); what a relist no longer returns the informer deletes after the list (so
   * on a relist those deletes now follow the upserts; they concern other keys). A list that
   * fails half way has handed on its first pages: the retry hands them on again, and the fleet
   * view finds their content unchanged.
   */
  private async listAll(info: KindInfo, informer: ListWatch<KubernetesObject>): Promise<{ metadata: { resourceVersion: string }; items: KubernetesObject[] }> {
    const items: KubernetesObject[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.options.client.get<ListResponse>(info.path, {
        limit: String(this.options.pageSize ?? 250),
        continue: continueToken,
      });
      const at = Date.now();
      for (const item of page.items ?? []) {
        this.options.observeRaw?.(info.kind, item, false);
        const projected = projectObject(info, item);
        const stub = stubFor(info, projected);
        items.push(stub);
        // The informer's own test (client-node cache.js isSameVersion): same resourceVersion, no event.
        const rv = stub.metadata?.resourceVersion;
        const cached = informer.get(stub.metadata?.name ?? '', stub.metadata?.namespace);
        if (rv !== undefined && rv !== null && cached?.metadata?.resourceVersion === rv) continue;
        this.deliver({ kind: info.kind, type: 'upsert', obj: projected, at });
      }
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    return { metadata: { resourceVersion }, items };
  }
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'object' ? JSON.stringify(err) : String(err);
}
