/**
 * Reports Pod status upstream when it changes, never on a timer. Each report goes through the
 * outbox (one row per Pod, a newer status replacing a waiting older one), so reports made
 * while offline are sent after reconnect and a restart loses none.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { keyError, parseKey, type JsonObject } from '../../protocol/index.js';
import type { UpstreamOutbox } from '../store/outbox.js';
import type { Runtime } from '../runtime/runtime.js';
import { invalidSpecPodStatus, terminatedPodStatus } from '../runtime/synthesized-status.js';

/** The limits of a pod report in a `status` frame (protocol/frames.ts). */
const STATUS_NS_MAX = 63;
const STATUS_NAME_MAX = 253;
const STATUS_UID_MAX = 64;

export interface StatusReporterOptions {
  runtime: Runtime;
  cache: { get(key: string): JsonObject | undefined };
  outbox: UpstreamOutbox;
  logger: Logger;
  /** Wakes the upstream pump. */
  notify: () => void;
  /** Clock for the transition and finish times this reporter writes, ms since the epoch. */
  now?: () => number;
  /** Outbox priority of status rows (events use theirs; status outranks routine events). */
  priority?: number;
}

export class StatusReporter {
  private readonly last = new Map<string, JsonObject>();
  /** Status of quarantined Pods (reconciler.ts): sent instead of whatever the runtime still has. */
  private readonly quarantine = new Map<string, JsonObject>();
  private readonly dirty = new Set<string>();
  /** The cached body of each quarantined Pod (its uid goes with the status). */
  private readonly cachedPods = new Map<string, JsonObject>();
  private scheduled = false;
  private unsubscribe?: () => void;

  private readonly now: () => number;

  constructor(private readonly options: StatusReporterOptions) {
    this.now = options.now ?? Date.now;
  }

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
      for (const dirtyKey of keys) {
        try {
          this.report(dirtyKey);
        } catch (err) {
          this.options.logger.error({ key: dirtyKey, err: (err as Error).message }, 'could not queue pod status');
        }
      }
    });
  }

  /**
   * A Pod the node will not run because it fails validation: reported Failed with reason
   * InvalidSpec and the reason in `message` (runtime/synthesized-status.ts). Kept until
   * `released`, whatever the runtime says meanwhile.
   */
  quarantined(key: string, pod: JsonObject, message: string): void {
    this.quarantine.set(key, invalidSpecPodStatus(message, this.now()));
    this.cachedPods.set(key, pod);
    this.markDirty(key);
  }

  /** The status reported for a quarantined Pod, or undefined when it is not quarantined. */
  quarantineStatus(key: string): JsonObject | undefined {
    return this.quarantine.get(key);
  }

  /** The Pod is no longer quarantined (fixed, or gone from the cache). */
  released(key: string): void {
    this.quarantine.delete(key);
    this.cachedPods.delete(key);
    this.last.delete(key);
    this.markDirty(key);
  }

  /**
   * The Pod's processes are gone after a deletion: report every container terminated
   * (runtime/synthesized-status.ts), so the hub can finish the deletion.
   */
  terminated(key: string, pod: JsonObject | undefined): void {
    if (this.quarantine.has(key)) return this.report(key);
    const cached = pod ?? this.options.cache.get(key);
    const status = terminatedPodStatus(this.last.get(key) ?? {}, this.now());
    this.send(key, cached, status);
    this.last.delete(key);
  }

  private report(key: string): void {
    const quarantined = this.quarantine.get(key);
    const status = quarantined ?? this.options.runtime.podStatus(key);
    if (!status) return;
    if (isDeepStrictEqual(this.last.get(key), status)) return;
    // The status is of the instance the runtime has: its uid, which the cache may not hold (a
    // reset cache) or may hold for a newer Pod of the same name; the hub ignores a stale one.
    const uid = quarantined ? undefined : this.options.runtime.podUid?.(key);
    this.send(key, this.cachedPods.get(key) ?? this.options.cache.get(key), status, uid);
    this.last.set(key, status);
  }

  private send(key: string, pod: JsonObject | undefined, status: JsonObject, runtimeUid?: string): void {
    // Keys come from the cache (checked by the frame codec) or from the runtime (validated Pods);
    // one that does not parse is logged, never thrown out of a timer callback.
    if (keyError(key) !== undefined) {
      this.options.logger.error({ key: key.slice(0, 300) }, 'not reporting the status of a pod with a malformed key');
      return;
    }
    const { namespace, name } = parseKey(key);
    // A report the hub's frame schema would refuse would hold up every status behind it: a
    // quarantined Pod's names can be anything, so they are checked against the frame's limits.
    if (namespace.length > STATUS_NS_MAX || name.length > STATUS_NAME_MAX) {
      this.options.logger.warn({ key: key.slice(0, 300) }, 'not reporting the status of a pod whose namespace or name is too long for a status frame');
      return;
    }
    const rawUid = runtimeUid || (pod?.metadata as { uid?: unknown } | undefined)?.uid;
    const uid = typeof rawUid === 'string' && rawUid.length <= STATUS_UID_MAX ? rawUid : '';
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
