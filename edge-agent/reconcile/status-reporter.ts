/**
 * Reports Pod status upstream when it changes, never on a timer. Each report goes through the
 * outbox (one row per Pod, a newer status replacing a waiting older one), so reports made
 * while offline are sent after reconnect and a restart loses none.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { parseKey, type JsonObject } from '../../protocol/index.js';
import type { Outbox } from '../store/outbox.js';
import type { Runtime } from '../runtime/runtime.js';

export interface StatusReporterOptions {
  runtime: Runtime;
  cache: { get(key: string): JsonObject | undefined };
  outbox: Outbox;
  logger: Logger;
  /** Wakes the upstream pump. */
  notify: () => void;
  /** Outbox priority of status rows (events use theirs; status outranks routine events). */
  priority?: number;
}

export class StatusReporter {
  private readonly last = new Map<string, JsonObject>();
  private readonly dirty = new Set<string>();
  private scheduled = false;
  private unsubscribe?: () => void;

  constructor(private readonly options: StatusReporterOptions) {}

  start(): void {
    this.unsubscribe = this.options.runtime.onChange((key) => this.markDirty(key));
    for (const key of this.options.runtime.pods()) this.markDirty(key);
  }

  stop(): void {
    this.unsubscribe?.();
  }

  markDirty(key: string): void {
    this.dirty.add(key);
    if (this.scheduled) return;
    this.scheduled = true;
    // Changes of the same tick (a Pod's containers starting together) become one report.
    setImmediate(() => {
      this.scheduled = false;
      const keys = [...this.dirty];
      this.dirty.clear();
      for (const dirtyKey of keys) this.report(dirtyKey);
    });
  }

  /**
   * The Pod's processes are gone after a deletion: report every container terminated, so the
   * hub can finish the deletion (it deletes the Pod with grace 0, as a kubelet does).
   */
  terminated(key: string, pod: JsonObject | undefined): void {
    const cached = pod ?? this.options.cache.get(key);
    const previous = this.last.get(key) ?? {};
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const finish = (statuses: unknown): JsonObject[] =>
      (Array.isArray(statuses) ? (statuses as JsonObject[]) : []).map((status) => {
        const state = status.state as JsonObject | undefined;
        if (state?.terminated) return { ...status, ready: false, started: false };
        const running = state?.running as JsonObject | undefined;
        return {
          ...status,
          ready: false,
          started: false,
          state: { terminated: { exitCode: 137, reason: 'Killed', message: 'stopped for Pod deletion', ...(running?.startedAt ? { startedAt: running.startedAt } : {}), finishedAt: now } },
        };
      });
    const status: JsonObject = {
      ...previous,
      phase: previous.phase === 'Succeeded' ? 'Succeeded' : 'Failed',
      conditions: ((previous.conditions as JsonObject[] | undefined) ?? []).map((condition) =>
        condition.type === 'Ready' || condition.type === 'ContainersReady' ? { ...condition, status: 'False', reason: 'PodCompleted', lastTransitionTime: now } : condition,
      ),
      containerStatuses: finish(previous.containerStatuses),
      initContainerStatuses: finish(previous.initContainerStatuses),
    };
    this.send(key, cached, status);
    this.last.delete(key);
  }

  private report(key: string): void {
    const status = this.options.runtime.podStatus(key);
    if (!status) return;
    if (isDeepStrictEqual(this.last.get(key), status)) return;
    this.send(key, this.options.cache.get(key), status);
    this.last.set(key, status);
  }

  private send(key: string, pod: JsonObject | undefined, status: JsonObject): void {
    const { namespace, name } = parseKey(key);
    const uid = ((pod?.metadata as { uid?: string } | undefined)?.uid ?? '') as string;
    this.options.outbox.add({
      kind: 'status',
      priority: this.options.priority ?? 7,
      dedupe: `status:${key}`,
      body: { ns: namespace, name, uid, status },
    });
    this.options.logger.debug({ key, phase: status.phase }, 'pod status queued');
    this.options.notify();
  }
}
