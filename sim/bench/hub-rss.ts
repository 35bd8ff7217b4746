/**
 * The hub's memory with a large workload and no node: BENCH_HUB_RSS_NODES (default 10,000)
 * nodes' worth of the simulator's objects (2 Pods, a ConfigMap and a Secret per node, so 20,000
 * Pods and 20,000 ConfigMaps/Secrets by default) created through the API of a separate
 * `cloud-hub apiserver` process, then a hub (`cloud-hub --kubeconfig`, its own process) started
 * against it: its RSS once ready and settled, and its V8 heap (its own metrics), next to a bare
 * `node` process measured the same way. BENCH_HUB_RSS_HEAP_SNAPSHOT=DIR writes a heap snapshot
 * of the settled hub there (node --heapsnapshot-signal=SIGUSR2); summarise it with
 * `node dist/sim/bench/heap-summary.js FILE.heapsnapshot`. BENCH_HUB_RSS_NODE_ARGS adds node flags
 * to the hub's (space-separated, e.g. `--max-semi-space-size=1`).
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { launch } from '../launch/managed-process.js';
import { TARGETS } from '../report/targets.js';
import { KubeWriter } from '../workload/kube-writer.js';
import { FleetNames } from '../workload/names.js';
import { createWorkload } from '../workload/setup.js';
import { readyz, startApiServer, startHubProcess, until } from './cluster.js';
import { verdict } from './measure.js';
import type { BenchSection } from './section.js';

const PODS_PER_NODE = 2;
const SETTLE_MS = 5_000;
const LATER_MS = 30_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number): number => Number((bytes / 1048576).toFixed(1));
const load = (): string => loadavg().map((value) => value.toFixed(1)).join(' ');

/** The hub's default metrics (prefix edge_hub_): `name{labels}` -> value. */
export async function hubMetrics(metricsUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const values = new Map<string, number>();
  for (const match of text.matchAll(/^edge_hub_(\S+) (\S+)$/gm)) values.set(match[1]!, Number(match[2]));
  return values;
}

/** V8's heap spaces as `space used/total` MiB. */
export function heapSpaces(metrics: Map<string, number>): string {
  const spaces: string[] = [];
  for (const [name, total] of metrics) {
    const space = /^nodejs_heap_space_size_total_bytes\{space="([^"]+)"\}$/.exec(name)?.[1];
    if (!space || total === 0) continue;
    const used = metrics.get(`nodejs_heap_space_size_used_bytes{space="${space}"}`) ?? NaN;
    spaces.push(`${space} ${mib(used)}/${mib(total)}`);
  }
  return spaces.join(', ');
}

export async function hubRssBench(): Promise<BenchSection> {
  const nodes = Number(process.env.BENCH_HUB_RSS_NODES ?? 10_000);
  const snapshotDir = process.env.BENCH_HUB_RSS_HEAP_SNAPSHOT;
  const nodeArgs = (process.env.BENCH_HUB_RSS_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const loadBefore = load();
  const cluster = await startApiServer();
  try {
    const names = new FleetNames('rss', 'rss');
    const setup = await createWorkload(new KubeWriter(cluster.client, names.namespace), names, names.nodes(nodes), PODS_PER_NODE);
    const bare = await launch('-e', ['console.log(JSON.stringify({msg:"ready"})); setInterval(() => {}, 1000)'], { name: 'bare node' });
    let bareRss: number;
    try {
      await sleep(SETTLE_MS);
      bareRss = bare.rssBytes();
    } finally {
      await bare.stop();
    }
    if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });
    const hub = await startHubProcess(cluster.kubeconfig, [], [...nodeArgs, ...(snapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`] : [])]);
    try {
      const started = performance.now();
      await until(() => readyz(hub.metrics), 300_000, 'hub ready (every kind listed)');
      const readySeconds = (performance.now() - started) / 1000;
      await sleep(SETTLE_MS);
      const rss = hub.proc.rssBytes();
      // Idle, V8 collects only when its memory reducer runs (or never): the same figure later.
      await sleep(LATER_MS - SETTLE_MS);
      const rssLater = hub.proc.rssBytes();
      const metrics = await hubMetrics(hub.metrics);
      const heapUsed = metrics.get('nodejs_heap_size_used_bytes') ?? NaN;
      const heapTotal = metrics.get('nodejs_heap_size_total_bytes') ?? NaN;
      const external = metrics.get('nodejs_external_memory_bytes') ?? NaN;
      if (snapshotDir) {
        const before = new Set(readdirSync(snapshotDir));
        hub.proc.child.kill('SIGUSR2');
        await until(() => readdirSync(snapshotDir).some((file) => !before.has(file) && file.endsWith('.heapsnapshot')), 300_000, 'heap snapshot written');
        // The snapshot is complete once the hub answers again.
        await until(() => readyz(hub.metrics), 300_000, 'hub answering after the snapshot');
      }
      const pods = (nodes * PODS_PER_NODE).toLocaleString('en-US');
      const configs = (nodes * 2 + 2).toLocaleString('en-US');
      return {
        title: `Hub memory with ${pods} Pods and ${configs} ConfigMaps/Secrets, no node`,
        header: ['measure', 'edge-sync hub', 'baseline', 'baseline is', 'target', 'verdict'],
        rows: [
          ['hub RSS, ready and settled, MiB', mib(rss), mib(bareRss), 'bare node process', `<= ${TARGETS.hubWorkloadRssMB}`, verdict(rss / 1048576, TARGETS.hubWorkloadRssMB, false)],
          [`  same, ${LATER_MS / 1000} s after ready, MiB`, mib(rssLater), '', '', `<= ${TARGETS.hubWorkloadRssMB}`, verdict(rssLater / 1048576, TARGETS.hubWorkloadRssMB, false)],
          [`  V8 heap used / reserved ${LATER_MS / 1000} s after ready, MiB`, `${mib(heapUsed)} / ${mib(heapTotal)}`, '', '', '', ''],
          ['  external (Buffers), MiB', mib(external), '', '', '', ''],
          ['hub start -> ready (every kind listed), s', Number(readySeconds.toFixed(1)), '', '', '', ''],
        ],
        notes: [
          `${setup.created.toLocaleString('en-US')} objects created through a separate \`cloud-hub apiserver\` process in ${setup.seconds.toFixed(0)} s; the hub is \`cloud-hub --kubeconfig\` in its own process, measured ${SETTLE_MS / 1000} s after /readyz; load average ${loadBefore} before, ${load()} after${nodeArgs.length ? `; hub node flags ${nodeArgs.join(' ')}` : ''}.`,
          `V8 heap spaces used/reserved, MiB: ${heapSpaces(metrics)}.`,
        ],
      };
    } finally {
      await hub.proc.stop();
    }
  } finally {
    await cluster.close();
  }
}
