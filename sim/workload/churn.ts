/**
 * Changes at a fixed rate (open loop: writes are issued on schedule whether or not earlier
 * ones have finished, up to a cap in flight), each stamped with the time it was sent. The mix
 * covers what a fleet sees: Pod label, annotation and image changes, per-node ConfigMap and
 * Secret changes, Pod creates and deletes.
 */
import { isNotFound } from '../../cloud-hub/kube/kube-client.js';
import type { KubeWriter, SimKind } from './kube-writer.js';
import { SHARED_CONFIG, WRITTEN_AT, type FleetNames } from './names.js';
import { simContainer, simPod, wallClockMs, writtenAt } from './objects.js';
import type { PodRegistry } from './pod-registry.js';

export type ChangeType = 'pod-label' | 'pod-annotation' | 'pod-image' | 'node-config' | 'node-secret' | 'pod-create' | 'pod-delete';

const MIX: [ChangeType, number][] = [
  ['pod-label', 0.3],
  ['pod-annotation', 0.2],
  ['pod-image', 0.1],
  ['node-config', 0.15],
  ['node-secret', 0.05],
  ['pod-create', 0.1],
  ['pod-delete', 0.1],
];

export interface ChurnStats {
  /** Changes per second asked for. */
  rate: number;
  seconds: number;
  issued: number;
  done: number;
  failed: number;
  /** Patches that found their Pod deleted by a delete still in flight when they were sent. */
  raced: number;
  /** The write rate achieved (done / seconds). */
  achievedRate: number;
  byType: Partial<Record<ChangeType, number>>;
  /** Median and 99th percentile of the API write itself, ms. */
  writeP50Ms: number;
  writeP99Ms: number;
  firstError?: string;
}

export interface ChurnOptions {
  writer: KubeWriter;
  names: FleetNames;
  nodes: readonly string[];
  pods: PodRegistry;
  maxInFlight?: number;
  random?: () => number;
}

export class ChurnDriver {
  private serial = 0;
  private readonly random: () => number;

  constructor(private readonly options: ChurnOptions) {
    this.random = options.random ?? Math.random;
  }

  /** Writes `rate` changes per second for `ms`, or until `stop()` resolves true. */
  async run(rate: number, ms: number, stop: () => boolean = () => false): Promise<ChurnStats> {
    const stats: ChurnStats = { rate, seconds: 0, issued: 0, done: 0, failed: 0, raced: 0, achievedRate: 0, byType: {}, writeP50Ms: NaN, writeP99Ms: NaN };
    if (rate <= 0 || ms <= 0) {
      if (ms > 0) await sleepUnless(ms, stop);
      return stats;
    }
    const maxInFlight = this.options.maxInFlight ?? 256;
    const writeTimes: number[] = [];
    const inFlight = new Set<Promise<void>>();
    const started = performance.now();
    while (!stop()) {
      const elapsed = performance.now() - started;
      if (elapsed >= ms) break;
      const due = Math.floor((rate * elapsed) / 1000);
      while (stats.issued < due && inFlight.size < maxInFlight) {
        const type = this.pick();
        stats.issued += 1;
        stats.byType[type] = (stats.byType[type] ?? 0) + 1;
        const sent = performance.now();
        const write = this.change(type).then(
          () => {
            stats.done += 1;
            writeTimes.push(performance.now() - sent);
          },
          (err: unknown) => {
            // A patch can lose a race with the delete of its Pod (both in flight): not a failure of the API.
            if (isNotFound(err)) {
              stats.raced += 1;
              return;
            }
            stats.failed += 1;
            // KubeApiError's message names the request, the status and the API's message.
            stats.firstError ??= err instanceof Error ? err.message : String(err);
          },
        );
        inFlight.add(write);
        void write.finally(() => inFlight.delete(write));
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(inFlight);
    stats.seconds = (performance.now() - started) / 1000;
    stats.achievedRate = stats.done / stats.seconds;
    writeTimes.sort((a, b) => a - b);
    stats.writeP50Ms = writeTimes[Math.floor(writeTimes.length * 0.5)] ?? NaN;
    stats.writeP99Ms = writeTimes[Math.min(writeTimes.length - 1, Math.floor(writeTimes.length * 0.99))] ?? NaN;
    return stats;
  }

  /** One change of the object every node references; returns its written-at stamp. */
  async fanoutWrite(round: number): Promise<string> {
    const at = wallClockMs();
    await this.options.writer.mergePatch('ConfigMap', SHARED_CONFIG, { metadata: { annotations: writtenAt(at) }, data: { round: String(round) } });
    return writtenAt(at)[WRITTEN_AT]!;
  }

  private pick(): ChangeType {
    let roll = this.random();
    for (const [type, weight] of MIX) {
      roll -= weight;
      if (roll < 0) return type;
    }
    return 'pod-label';
  }

  private async change(type: ChangeType): Promise<void> {
    const { writer, names, nodes, pods } = this.options;
    const serial = ++this.serial;
    const at = wallClockMs();
    const annotations = writtenAt(at);
    const patch = (kind: SimKind, name: string, body: object): Promise<void> => writer.mergePatch(kind, name, body);
    switch (type) {
      case 'pod-label': {
        const pod = pods.random(this.random)!;
        return patch('Pod', pod.name, { metadata: { labels: { rev: String(serial) }, annotations } });
      }
      case 'pod-annotation': {
        const pod = pods.random(this.random)!;
        return patch('Pod', pod.name, { metadata: { annotations: { ...annotations, 'edge-sync.io/sim-note': `note-${serial}` } } });
      }
      case 'pod-image': {
        const pod = pods.random(this.random)!;
        // A merge patch replaces lists whole, so the container goes in complete.
        return patch('Pod', pod.name, { metadata: { annotations }, spec: { containers: [simContainer(pod.node, names, `registry.local/sim-app:${serial}`)] } });
      }
      case 'node-config': {
        const node = this.randomNode(nodes);
        return patch('ConfigMap', names.nodeConfig(node), { metadata: { annotations }, data: { value: String(serial) } });
      }
      case 'node-secret': {
        const node = this.randomNode(nodes);
        return patch('Secret', names.nodeSecret(node), { metadata: { annotations }, data: { value: Buffer.from(String(serial)).toString('base64') } });
      }
      case 'pod-create': {
        const node = this.randomNode(nodes);
        const name = names.churnPod(node, serial);
        await writer.create('Pod', simPod(names, node, name, at));
        pods.add({ node, name, churned: true });
        return;
      }
      case 'pod-delete': {
        const pod = pods.takeChurned(this.random);
        // Nothing the churn created is left: create one instead, so the mix stays balanced.
        if (!pod) return this.change('pod-create');
        return writer.delete('Pod', pod.name);
      }
    }
  }

  private randomNode(nodes: readonly string[]): string {
    return nodes[Math.floor(this.random() * nodes.length)]!;
  }
}

async function sleepUnless(ms: number, stop: () => boolean): Promise<void> {
  const until = performance.now() + ms;
  while (!stop() && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, Math.min(50, until - performance.now())));
}
