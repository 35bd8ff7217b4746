/**
 * Runs tasks one after another. Each Pod has one, so that syncPod, killPod, exit
 * notifications and timers never interleave on the same Pod's state, while different Pods
 * proceed independently (a Pod in a long grace period holds up nobody else).
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Resolves once everything queued so far has finished. */
  idle(): Promise<void> {
    return this.tail;
  }
}
