/**
 * Level-triggered reconciliation of the Pods bound to this node: desired (the cached Pods,
 * available offline) against actual (the runtime). Woken by cache changes, by the runtime,
 * and by a periodic resync; one pass at a time, a wake-up during a pass runs another after it.
 * Stopping a Pod runs in the background (it can take its whole grace period) so other Pods
 * are not held up.
 *
 * Two rules keep the agent from hurting its own workloads:
 * - **Unknown is not deleted.** A Pod the runtime has but the cache lacks is stopped only once
 *   the cache is known to be complete (`cacheComplete`: a resync with the hub has finished since
 *   the cache was created, and no row was lost to damage since). A cache that was just created,
 *   or replaced after corruption, or that dropped a row it could not read, does not know: what
 *   runs keeps running, with its restart count and history, until the hub's resync says otherwise.
 * - **Quarantine.** A cached Pod that fails validation (pod-validation.ts: names that would
 *   become paths, a body that does not match its key) is never given to the runtime; it is
 *   reported once: its status through `onQuarantined` (Failed, reason InvalidSpec) and a Warning
 *   event with the same reason through `onEvent`, and
 *   everything else goes on. An instance of it that was running (its spec was valid before) is
 *   stopped: the Pod the cache holds is not one the node may run.
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../../protocol/index.js';
import type { SyncCache } from '../store/sync-cache.js';
import { podProblems, summarise } from '../runtime/pod-validation.js';
import type { Runtime, RuntimeEvent } from '../runtime/runtime.js';

export interface ReconcilerOptions {
  nodeName: string;
  cache: Pick<SyncCache, 'keysOfKind' | 'get' | 'onChange'>;
  runtime: Runtime;
  logger: Logger;
  /** Full pass even without a wake-up (the kubelet's sync frequency). */
  resyncIntervalMs?: number;
  /** Called when a Pod's processes are gone after deletion; the status reporter sends its final status. */
  onTerminated?: (key: string, pod: JsonObject | undefined) => void;
  /**
   * Whether the cache holds every Pod the hub wants on this node (the store's `complete`: a
   * resync has completed since the cache was created, and it has lost no rows since). Until
   * then a Pod the runtime has and the cache lacks is kept. Read after the pass's reads, so a
   * row a read found unreadable counts. Default: always (a cache that is never reset).
   */
  cacheComplete?: () => boolean;
  /** A cached Pod failed validation and is not run (called again only when the reason changes). */
  onQuarantined?: (key: string, pod: JsonObject, message: string) => void;
  /** Events about Pods the runtime does not run: a quarantined Pod's InvalidSpec Warning. */
  onEvent?: (event: RuntimeEvent) => void;
  /** A quarantined Pod was fixed or removed from the cache. */
  onReleased?: (key: string) => void;
}

const DEFAULT_GRACE_SECONDS = 30;

export class Reconciler {
  private running = false;
  private again = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private unsubscribe: (() => void)[] = [];
  /** Pods being stopped, so a pass does not stop one twice. */
  private readonly stopping = new Map<string, Promise<void>>();
  /** Grace period last seen per Pod, for Pods that vanish from the cache. */
  private readonly grace = new Map<string, number>();
  /** Pods in the cache that failed validation, with the reason reported. */
  private readonly quarantined = new Map<string, string>();
  /** Pods kept only because the cache is not complete yet (logged once each). */
  private readonly keptUnknown = new Set<string>();
  private passes = 0;

  constructor(private readonly options: ReconcilerOptions) {}

  get completedPasses(): number {
    return this.passes;
  }

  start(): void {
    const wake = (): void => this.wake();
    this.unsubscribe.push(
      this.options.cache.onChange((changes) => {
        // Any Pod change, and any ConfigMap/Secret change (mounted files follow it).
        if (changes.some((change) => change.kind !== 'Node')) wake();
      }),
    );
    this.timer = setInterval(wake, this.options.resyncIntervalMs ?? 10_000);
    this.timer.unref();
    wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const off of this.unsubscribe) off();
    // Stops in progress finish; nothing new starts.
    await Promise.all(this.stopping.values());
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        try {
          await this.pass();
        } catch (err) {
          // Nothing from the cache may take the agent down; the next wake-up tries again.
          this.options.logger.error({ err: (err as Error).message }, 'reconcile pass failed');
        }
        this.passes += 1;
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
    }
  }

  /** Keys of the Pods held in quarantine now. */
  quarantinedPods(): string[] {
    return [...this.quarantined.keys()];
  }

  private async pass(): Promise<void> {
    const { cache, runtime, logger, nodeName } = this.options;
    const desired = new Map<string, JsonObject>();
    const invalid = new Set<string>();
    for (const key of cache.keysOfKind('Pod')) {
      const pod = cache.get(key);
      if (!pod || (pod.spec as { nodeName?: unknown } | null | undefined)?.nodeName !== nodeName) continue;
      const problems = podProblems(pod, key);
      if (problems.length > 0) {
        invalid.add(key);
        this.quarantine(key, pod, summarise(problems));
        continue;
      }
      desired.set(key, pod);
    }
    for (const key of [...this.quarantined.keys()]) {
      if (invalid.has(key)) continue;
      this.quarantined.delete(key);
      logger.info({ key }, 'pod released from quarantine');
      this.options.onReleased?.(key);
    }
    const complete = this.options.cacheComplete?.() ?? true;
    for (const [key, pod] of desired) {
      this.grace.set(key, gracePeriodOf(pod));
      const metadata = pod.metadata as { deletionTimestamp?: string; deletionGracePeriodSeconds?: number } | undefined;
      if (metadata?.deletionTimestamp) {
        this.keptUnknown.delete(key);
        this.stopPod(key, metadata.deletionGracePeriodSeconds ?? gracePeriodOf(pod), pod);
        continue;
      }
      if (this.stopping.has(key)) continue;
      try {
        await runtime.syncPod(pod);
      } catch (err) {
        logger.error({ key, err: (err as Error).message }, 'could not sync pod');
      }
    }
    for (const key of runtime.pods()) {
      if (desired.has(key)) continue;
      if (!complete && !invalid.has(key)) {
        // Not in a cache that does not know everything yet: unknown, not deleted.
        if (!this.keptUnknown.has(key)) logger.info({ key }, 'keeping a pod the cache does not hold until the hub resync confirms whether it still exists');
        this.keptUnknown.add(key);
        continue;
      }
      this.stopPod(key, this.grace.get(key) ?? DEFAULT_GRACE_SECONDS, undefined);
    }
    if (complete) this.keptUnknown.clear();
  }

  private quarantine(key: string, pod: JsonObject, message: string): void {
    if (this.quarantined.get(key) === message) return;
    this.quarantined.set(key, message);
    this.options.logger.warn({ key, reason: 'InvalidSpec', message }, 'pod quarantined: it fails validation and is not run');
    try {
      this.options.onQuarantined?.(key, pod, message);
      this.options.onEvent?.({ pod: key, type: 'Warning', reason: 'InvalidSpec', message, at: Date.now() });
    } catch (err) {
      this.options.logger.error({ key, err: (err as Error).message }, 'could not report a quarantined pod');
    }
  }

  private stopPod(key: string, graceSeconds: number, pod: JsonObject | undefined): void {
    if (this.stopping.has(key)) return;
    const { runtime, logger } = this.options;
    if (!runtime.pods().includes(key)) {
      // Nothing runs (it never started, or a previous stop finished): only the final report is due.
      this.options.onTerminated?.(key, pod);
      return;
    }
    logger.info({ key, graceSeconds }, 'stopping pod');
    // The final report names the instance that stopped, also when the cache no longer has it.
    const uid = runtime.podUid?.(key);
    const stopped = pod ?? (uid ? { metadata: { uid } } : undefined);
    const done = runtime
      .killPod(key, graceSeconds)
      .catch((err: unknown) => logger.error({ key, err: (err as Error).message }, 'could not stop pod'))
      .finally(() => {
        this.stopping.delete(key);
        this.grace.delete(key);
        this.options.onTerminated?.(key, stopped);
        this.wake();
      });
    this.stopping.set(key, done);
  }
}

function gracePeriodOf(pod: JsonObject): number {
  const seconds = (pod.spec as { terminationGracePeriodSeconds?: unknown } | undefined)?.terminationGracePeriodSeconds;
  return typeof seconds === 'number' && seconds >= 0 ? seconds : DEFAULT_GRACE_SECONDS;
}
