/** The Pods the driver believes exist, for picking random churn targets in O(1). */

export interface PodRef {
  node: string;
  name: string;
  /** Created by the churn (deletable); the initial Pods stay so every node keeps its references. */
  churned: boolean;
}

export class PodRegistry {
  private readonly pods: PodRef[] = [];
  private readonly churned: PodRef[] = [];

  get size(): number {
    return this.pods.length;
  }

  add(pod: PodRef): void {
    this.pods.push(pod);
    if (pod.churned) this.churned.push(pod);
  }

  random(random: () => number): PodRef | undefined {
    return this.pods[Math.floor(random() * this.pods.length)];
  }

  /** Removes and returns a random churn-created Pod. */
  takeChurned(random: () => number): PodRef | undefined {
    if (this.churned.length === 0) return undefined;
    const pod = swapRemove(this.churned, Math.floor(random() * this.churned.length));
    swapRemove(this.pods, this.pods.indexOf(pod));
    return pod;
  }
}

function swapRemove<T>(list: T[], index: number): T {
  const item = list[index] as T;
  list[index] = list[list.length - 1] as T;
  list.pop();
  return item;
}
