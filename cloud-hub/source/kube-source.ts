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
 * objects.
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
  /** Items per list page. */
  pageSize?: number;
}

type ListResponse = { metadata?: { resourceVersion?: string; continue?: string }; items?: JsonObject[] };

/** Stub -> the projected object it stands for, until a handler has taken it. */
type Carried = WeakMap<object, JsonObject>;

/** The cache entry client-node keeps for `projected`, carrying the projected object to our handlers. */
function stubFor(info: KindInfo, projected: JsonObject, carried: Carried): KubernetesObject {
  const metadata = (projected.metadata ?? {}) as { name?: string; namespace?: string; resourceVersion?: string };
  const stub: KubernetesObject = {
    apiVersion: info.apiVersion,
    kind: info.kind,
    metadata: {
      ...(metadata.name !== undefined ? { name: metadata.name } : {}),
      ...(metadata.namespace !== undefined ? { namespace: metadata.namespace } : {}),
      ...(metadata.resourceVersion !== undefined ? { resourceVersion: metadata.resourceVersion } : {}),
    },
  };
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
        const forCache = phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' ? stubFor(this.info, projectObject(this.info, obj as JsonObject), this.carried) : obj;
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
    const informer = new ListWatch<KubernetesObject>(info.path, watch, () => this.listAll(info), false);
    const initialDelay = this.options.restartDelayMs ?? 500;
    let delay = initialDelay;
    const emit = (type: WatchEvent['type']) => (obj: KubernetesObject) => {
      // Events flow again: the next outage starts from the first delay.
      delay = initialDelay;
      // The projected object rides with its stub; a relist's delete passes the cached stub, whose
      // name is all a delete needs.
      const projected = this.carried.get(obj) ?? (obj as unknown as JsonObject);
      this.carried.delete(obj);
      const event: WatchEvent = { kind: info.kind, type, obj: projected, at: Date.now() };
      for (const handler of this.handlers) handler.apply(event);
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

  /** A raw, paginated list, projected item by item. */
  private async listAll(info: KindInfo): Promise<{ metadata: { resourceVersion: string }; items: KubernetesObject[] }> {
    const items: KubernetesObject[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.options.client.get<ListResponse>(info.path, {
        limit: String(this.options.pageSize ?? 2000),
        continue: continueToken,
      });
      for (const item of page.items ?? []) {
        this.options.observeRaw?.(info.kind, item, false);
        items.push(stubFor(info, projectObject(info, item), this.carried));
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
