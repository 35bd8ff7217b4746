/**
 * Level-triggered reconciliation of the Pods bound to this node: desired (the cached Pods,
 * available offline) against actual (the runtime). Woken by cache changes, by the runtime,
 * and by a periodic resync; one pass at a time, a wake-up during a pass runs another after it.
 * Stopping a Pod runs in the background (it can take its whole grace period) so other Pods
 * are not held up.
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../../protocol/index.js';
import type { SyncCache } from '../store/sync-cache.js';
import type { Runtime } from '../runtime/runtime.js';

export interface ReconcilerOptions {
  nodeName: string;
  cache: Pick<SyncCache, 'entries' | 'get' | 'onChange'>;
  runtime: Runtime;
  logger: Logger;
  /** Full pass even without a wake-up (the kubelet's sync frequency). */
  resyncIntervalMs?: number;
  /** Called when a Pod's processes are gone after deletion; the status reporter sends its final status. */
  onTerminated?: (key: string, pod: JsonObject | undefined) => void;
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
        if (changes.some((change) => !change.key.startsWith('Node/'))) wake();
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
        await this.pass();
        this.passes += 1;
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
    }
  }

  private async pass(): Promise<void> {
    const { cache, runtime, logger, nodeName } = this.options;
    const desired = new Map<string, JsonObject>();
    for (const [key] of cache.entries()) {
      if (!key.startsWith('Pod/')) continue;
      const pod = cache.get(key);
      if (!pod || (pod.spec as { nodeName?: string } | undefined)?.nodeName !== nodeName) continue;
      desired.set(key, pod);
    }
    for (const [key, pod] of desired) {
      this.grace.set(key, gracePeriodOf(pod));
      const metadata = pod.metadata as { deletionTimestamp?: string; deletionGracePeriodSeconds?: number } | undefined;
      if (metadata?.deletionTimestamp) {
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
      if (!desired.has(key)) this.stopPod(key, this.grace.get(key) ?? DEFAULT_GRACE_SECONDS, undefined);
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
    const done = runtime
      .killPod(key, graceSeconds)
      .catch((err: unknown) => logger.error({ key, err: (err as Error).message }, 'could not stop pod'))
      .finally(() => {
        this.stopping.delete(key);
        this.grace.delete(key);
        this.options.onTerminated?.(key, pod);
        this.wake();
      });
    this.stopping.set(key, done);
  }
}

function gracePeriodOf(pod: JsonObject): number {
  const seconds = (pod.spec as { terminationGracePeriodSeconds?: unknown } | undefined)?.terminationGracePeriodSeconds;
  return typeof seconds === 'number' && seconds >= 0 ? seconds : DEFAULT_GRACE_SECONDS;
}
