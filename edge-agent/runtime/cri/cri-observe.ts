/**
 * What a Pod's sandbox holds, as the worker's pass sees it: per container name the newest
 * instance (highest attempt) and the one before it, with their ContainerStatus (an exited
 * instance's status cannot change, so the previous answer is reused). Instances older than
 * those two are removed, as the kubelet keeps one dead container per name.
 */
import type { CriClient } from './cri-client.js';
import { isExited, seenOf, type Observed } from './cri-container-status.js';
import type { Container, ContainerStatus, Labels } from './cri-types.js';

export interface Observation {
  /** The ids and states of all the Pod's containers (every sandbox): what polls compare. */
  seen: string;
  observed: Map<string, Observed>;
}

export async function observeSandbox(client: CriClient, podLabels: Labels, sandboxId: string, before: ReadonlyMap<string, Observed>): Promise<Observation> {
  const all = await client.listContainers({ labelSelector: podLabels });
  const byName = new Map<string, Container[]>();
  for (const item of all.filter((candidate) => candidate.podSandboxId === sandboxId)) byName.set(item.metadata.name, [...(byName.get(item.metadata.name) ?? []), item]);
  const statusOf = async (item: Container): Promise<ContainerStatus> => {
    for (const entry of before.values()) {
      for (const known of [entry.current, entry.previous]) if (known?.id === item.id && known.state === item.state && isExited(known)) return known;
    }
    return client.containerStatus(item.id);
  };
  const observed = new Map<string, Observed>();
  for (const [name, items] of byName) {
    items.sort((a, b) => b.metadata.attempt - a.metadata.attempt || b.createdAt - a.createdAt);
    const [current, previous, ...older] = items;
    const entry: Observed = {};
    if (current) entry.current = await statusOf(current);
    if (previous) entry.previous = await statusOf(previous);
    observed.set(name, entry);
    for (const stale of older) await client.removeContainer(stale.id).catch(() => undefined);
  }
  return { seen: seenOf(all), observed };
}
