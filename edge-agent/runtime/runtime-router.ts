/**
 * Two runtimes behind one Runtime contract: with a container runtime configured, Pods run as
 * containers (CRI), except those whose `spec.runtimeClassName` is `edge-process`, which run as
 * processes; the reconciler never knows which. A Pod stays with the runtime that has it; one
 * re-created under the same name for the other runtime waits until the first has stopped it.
 */
import type { JsonObject } from '../../protocol/index.js';
import { parsePod } from './pod-spec.js';
import type { Runtime, RuntimeEvent } from './runtime.js';

/** The RuntimeClass (handler `edge-process`) whose Pods run as processes next to a container runtime. */
export const PROCESS_RUNTIME_CLASS = 'edge-process';

export class RuntimeRouter implements Runtime {
  private readonly moving = new Set<string>();

  constructor(
    private readonly containers: Runtime,
    private readonly processes: Runtime,
  ) {}

  /** The runtime a Pod belongs on by its spec. */
  private wanted(pod: JsonObject): Runtime {
    return parsePod(pod).runtimeClassName === PROCESS_RUNTIME_CLASS ? this.processes : this.containers;
  }

  private owner(key: string): Runtime | undefined {
    if (this.processes.pods().includes(key)) return this.processes;
    if (this.containers.pods().includes(key)) return this.containers;
    return undefined;
  }

  async start(): Promise<void> {
    await this.processes.start();
    await this.containers.start();
  }

  async syncPod(pod: JsonObject): Promise<void> {
    const wanted = this.wanted(pod);
    const key = parsePod(pod).key;
    const owner = this.owner(key);
    if (owner && owner !== wanted) {
      // Deleted and re-created for the other runtime: the old instance goes first (its grace
      // period, not awaited here); the reconciler's next pass, woken by its end, starts the new one.
      if (!this.moving.has(key)) {
        this.moving.add(key);
        void owner
          .killPod(key, parsePod(pod).terminationGracePeriodSeconds)
          .catch(() => undefined)
          .finally(() => this.moving.delete(key));
      }
      return;
    }
    await wanted.syncPod(pod);
  }

  async killPod(key: string, gracePeriodSeconds: number): Promise<void> {
    await Promise.all([this.processes, this.containers].filter((runtime) => runtime.pods().includes(key)).map((runtime) => runtime.killPod(key, gracePeriodSeconds)));
  }

  pods(): string[] {
    return [...new Set([...this.processes.pods(), ...this.containers.pods()])];
  }

  podStatus(key: string): JsonObject | undefined {
    return this.owner(key)?.podStatus(key);
  }

  podUid(key: string): string | undefined {
    return this.owner(key)?.podUid?.(key);
  }

  onChange(listener: (key: string, event?: RuntimeEvent) => void): () => void {
    const offs = [this.processes.onChange(listener), this.containers.onChange(listener)];
    return () => offs.forEach((off) => off());
  }

  async stop(): Promise<void> {
    await Promise.all([this.processes.stop(), this.containers.stop()]);
  }
}
