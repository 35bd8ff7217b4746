/**
 * The fleet's objects before any node connects: a shared ConfigMap and Secret that every Pod
 * references, and per node a ConfigMap, a Secret and K Pods. Leftovers of an earlier run (by
 * label) are removed first, so a run against a long-lived cluster starts from a known state.
 */
import { forEachLimited } from './for-each-limited.js';
import type { KubeWriter, SimKind } from './kube-writer.js';
import { SHARED_CONFIG, SHARED_SECRET, type FleetNames } from './names.js';
import { simConfigMap, simPod, simSecret, wallClockMs } from './objects.js';
import { PodRegistry } from './pod-registry.js';

export interface SetupResult {
  pods: PodRegistry;
  created: number;
  removed: number;
  seconds: number;
}

export async function createWorkload(writer: KubeWriter, names: FleetNames, nodes: readonly string[], podsPerNode: number, concurrency = 64): Promise<SetupResult> {
  const started = performance.now();
  await writer.ensureNamespace();
  let removed = 0;
  for (const kind of ['Pod', 'ConfigMap', 'Secret'] as SimKind[]) {
    const leftovers = await writer.listSimObjects(kind);
    await forEachLimited(leftovers, concurrency, async (name) => writer.delete(kind, name));
    removed += leftovers.length;
  }
  const at = wallClockMs();
  await writer.create('ConfigMap', simConfigMap(names, SHARED_CONFIG, at, { round: '0', setting: 'x'.repeat(200) }));
  await writer.create('Secret', simSecret(names, SHARED_SECRET, at, { token: 'shared-secret-value' }));
  let created = 2;
  const pods = new PodRegistry();
  await forEachLimited(nodes, concurrency, async (node) => {
    // Configuration before the Pods that reference it, as an operator would apply it.
    await writer.create('ConfigMap', simConfigMap(names, names.nodeConfig(node), wallClockMs(), { NODE: node, value: '0' }));
    await writer.create('Secret', simSecret(names, names.nodeSecret(node), wallClockMs(), { value: '0' }));
    created += 2;
    for (let i = 0; i < podsPerNode; i++) {
      const name = names.pod(node, i);
      await writer.create('Pod', simPod(names, node, name, wallClockMs()));
      pods.add({ node, name, churned: false });
      created += 1;
    }
  });
  return { pods, created, removed, seconds: (performance.now() - started) / 1000 };
}
