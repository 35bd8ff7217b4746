/**
 * The Pod map both runtimes keep (process-runtime.ts and cri/cri-runtime.ts): one worker per Pod
 * key, the workers still finishing a deletion while a re-created Pod owns their key, the newest
 * spec of such a re-created Pod, and the runtime's change listeners. Constructed by each runtime
 * with its logger; no module state.
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../../protocol/index.js';
import type { RuntimeEvent } from './runtime.js';

/** What the table needs of a Pod worker. */
export interface TableWorker {
  readonly key: string;
  readonly uid: string;
  dispose(): Promise<void>;
}

export class PodWorkerTable<W extends TableWorker> {
  private readonly workers = new Map<string, W>();
  /** Workers finishing a deletion while another worker owns their key (a Pod re-created with a new uid). */
  private readonly draining = new Set<W>();
  /** The newest spec of a Pod re-created under a key whose old instance is still being deleted. */
  private readonly replacements = new Map<string, JsonObject>();
  private readonly listeners = new Set<(key: string, event?: RuntimeEvent) => void>();

  constructor(private readonly logger: Logger) {}

  get(key: string): W | undefined {
    return this.workers.get(key);
  }

  has(key: string): boolean {
    return this.workers.has(key);
  }

  set(key: string, worker: W): void {
    this.workers.set(key, worker);
  }

  get size(): number {
    return this.workers.size;
  }

  keys(): string[] {
    return [...this.workers.keys()];
  }

  /** The workers owning a key. */
  owners(): W[] {
    return [...this.workers.values()];
  }

  /** Every worker: the owners and those still draining. */
  all(): W[] {
    return [...this.workers.values(), ...this.draining];
  }

  addDraining(worker: W): void {
    this.draining.add(worker);
  }

  /** Remembers the newest spec of a Pod re-created under `key` while its old instance goes. */
  setReplacement(key: string, pod: JsonObject): void {
    this.replacements.set(key, pod);
  }

  /** Updates the waiting replacement, if there is one. */
  updateReplacement(key: string, pod: JsonObject): void {
    if (this.replacements.has(key)) this.replacements.set(key, pod);
  }

  dropReplacement(key: string): void {
    this.replacements.delete(key);
  }

  /**
   * A worker finished its deletion: it leaves the table; when it owned its key and a
   * re-created Pod waits for it, `replace` gets that Pod's spec.
   */
  gone(worker: W, replace: (pod: JsonObject) => void): void {
    if (this.draining.delete(worker)) return;
    if (this.workers.get(worker.key) !== worker) return;
    this.workers.delete(worker.key);
    const replacement = this.replacements.get(worker.key);
    this.replacements.delete(worker.key);
    if (replacement) replace(replacement);
  }

  /** Work nobody awaits: its failure is logged rather than left as an unhandled rejection. */
  background(work: Promise<void>, key: string): void {
    work.catch((err: unknown) => this.logger.error({ pod: key, err }, 'pod supervision failed'));
  }

  onChange(listener: (key: string, event?: RuntimeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(key: string, event?: RuntimeEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(key, event);
      } catch (err) {
        this.logger.error({ pod: key, err }, 'runtime listener failed');
      }
    }
  }

  /** Disposes of every worker (their containers keep running) and empties the table. */
  async disposeAll(): Promise<void> {
    await Promise.all(this.all().map((worker) => worker.dispose()));
    this.workers.clear();
    this.draining.clear();
  }
}
