/**
 * The fleet the fan-out benchmarks share: one Pod per node, all mounting one ConfigMap, and
 * virtual nodes (the agent's link code) that time each round's change reaching every cache.
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../../protocol/index.js';
import type { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import { VirtualNode } from '../fleet/virtual-node.js';
import { forEachLimited, until } from './cluster.js';

export const FANOUT_NAMESPACE = 'bench';
const SHARED = `ConfigMap/${FANOUT_NAMESPACE}/shared`;

/** Creates the namespace, the shared ConfigMap and one Pod per node mounting it. */
export async function seedSharedConfigFleet(client: KubeClient, names: readonly string[]): Promise<void> {
  await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: FANOUT_NAMESPACE } });
  await client.create(`/api/v1/namespaces/${FANOUT_NAMESPACE}/configmaps`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'shared', namespace: FANOUT_NAMESPACE },
    data: { round: '0', setting: 'x'.repeat(200) },
  });
  await forEachLimited(names, 64, async (node) => {
    await client.create(`/api/v1/namespaces/${FANOUT_NAMESPACE}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `app-${node}`, namespace: FANOUT_NAMESPACE },
      spec: { nodeName: node, containers: [{ name: 'app', image: 'app:1', command: ['/app'] }], volumes: [{ name: 'cfg', configMap: { name: 'shared' } }] },
    });
  });
}

/** Virtual nodes that record when each round's version of the shared ConfigMap lands in their cache. */
export class FanoutFleet {
  readonly nodes: VirtualNode[] = [];
  private readonly arrivals = new Map<number, number[]>();

  constructor(hubUrl: string, tokens: ReadonlyMap<string, string>, logger: Logger) {
    for (const [name, token] of tokens) {
      this.nodes.push(
        new VirtualNode({
          name,
          hubUrl,
          token,
          logger,
          onChanges: (_node, changes) => {
            for (const change of changes) {
              if (change.key !== SHARED || change.type !== 'put') continue;
              const round = Number((change.obj?.data as JsonObject | undefined)?.round);
              if (round > 0) (this.arrivals.get(round) ?? this.arrivals.set(round, []).get(round)!).push(performance.now());
            }
          },
        }),
      );
    }
  }

  /** Starts every node, `concurrency` at a time, and waits until all hold the shared ConfigMap. */
  async connect(concurrency: number, timeoutMs: number): Promise<void> {
    await forEachLimited(this.nodes, concurrency, async (node) => node.start());
    await until(() => this.nodes.every((node) => node.inSync && node.cache.rvOf(SHARED) !== undefined), timeoutMs, 'every node in sync');
  }

  /** Writes round `round` through `client` and returns ms until the last node applied it, and the bytes one node received. */
  async round(client: KubeClient, round: number): Promise<{ ms: number; bytes: number }> {
    const probe = this.nodes[0]!;
    const before = probe.counters.bytesIn;
    const started = performance.now();
    await client.mergePatch(`/api/v1/namespaces/${FANOUT_NAMESPACE}/configmaps/shared`, { data: { round: String(round) } });
    await until(() => (this.arrivals.get(round)?.length ?? 0) >= this.nodes.length, 60_000, `round ${round} delivered`, 1);
    return { ms: Math.max(...this.arrivals.get(round)!) - started, bytes: probe.counters.bytesIn - before };
  }

  /** `count` rounds in a row: each round's delivery time, and the bytes one node received for the last. */
  async rounds(client: KubeClient, count: number): Promise<{ times: number[]; frameBytes: number }> {
    const times: number[] = [];
    let frameBytes = 0;
    for (let round = 1; round <= count; round++) {
      const result = await this.round(client, round);
      times.push(result.ms);
      frameBytes = result.bytes;
    }
    return { times, frameBytes };
  }

  stop(): void {
    for (const node of this.nodes) node.stop();
  }
}
