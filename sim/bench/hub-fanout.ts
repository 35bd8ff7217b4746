/**
 * Hub figures at 1,000 connected nodes: RSS per idle connected node, and one ConfigMap change
 * referenced by a Pod on every node delivered to all of them, next to a bare `ws` server
 * broadcasting the same bytes to the same number of sockets. The API server, the hub and the
 * baseline server each run in their own process; the nodes are the agent's real link code.
 */
import pino from 'pino';
import WebSocket from 'ws';
import type { JsonObject } from '../../protocol/index.js';
import { VirtualNode } from '../fleet/virtual-node.js';
import { BINARIES } from '../launch/binaries.js';
import { launch } from '../launch/managed-process.js';
import { forEachLimited, median, readyz, startApiServer, startHubProcess, until } from './cluster.js';
import { verdict } from './measure.js';
import type { BenchSection } from './section.js';
import path from 'node:path';

const NS = 'bench';
const ROUNDS = 7;

export async function hubFanoutBench(): Promise<BenchSection> {
  const nodeCount = Number(process.env.BENCH_HUB_NODES ?? 1000);
  const names = Array.from({ length: nodeCount }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
  const cluster = await startApiServer();
  const logger = pino({ level: 'silent' });
  const nodes: VirtualNode[] = [];
  try {
    const { client } = cluster;
    const tokens = await cluster.tokens.createMany(names, 64);
    await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await client.create(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared', namespace: NS }, data: { round: '0', setting: 'x'.repeat(200) } });
    await forEachLimited(names, 64, async (node) => {
      await client.create(`/api/v1/namespaces/${NS}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `app-${node}`, namespace: NS },
        spec: { nodeName: node, containers: [{ name: 'app', image: 'app:1', command: ['/app'] }], volumes: [{ name: 'cfg', configMap: { name: 'shared' } }] },
      });
    });

    const hub = await startHubProcess(cluster.kubeconfig, ['--heartbeat-interval', '30000', '--api-qps', '2000']);
    await until(() => readyz(hub.metrics), 60_000, 'hub informers synced');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const rssBefore = hub.proc.rssBytes();

    let round = 0;
    const arrivals = new Map<number, number[]>();
    for (const name of names) {
      nodes.push(
        new VirtualNode({
          name,
          hubUrl: hub.ws,
          token: tokens.get(name)!,
          logger,
          onChanges: (_node, changes) => {
            for (const change of changes) {
              if (change.key !== `ConfigMap/${NS}/shared` || change.type !== 'put') continue;
              const value = Number((change.obj?.data as JsonObject | undefined)?.round);
              if (value > 0) (arrivals.get(value) ?? arrivals.set(value, []).get(value)!).push(performance.now());
            }
          },
        }),
      );
    }
    await forEachLimited(nodes, 50, async (node) => node.start());
    await until(() => nodes.every((node) => node.inSync && node.cache.rvOf(`ConfigMap/${NS}/shared`) !== undefined), 120_000, 'every node in sync');
    // Registrations (Node objects, status, Leases) come through the hub's write queue; let them finish.
    await until(async () => (await client.get<{ items: unknown[] }>('/api/v1/nodes')).items.length >= nodeCount, 120_000, 'nodes registered');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const rssAfter = hub.proc.rssBytes();
    const rssPerNode = (rssAfter - rssBefore) / nodeCount;

    const hubTimes: number[] = [];
    const probe = nodes[0]!;
    let frameBytes = 0;
    for (let r = 1; r <= ROUNDS; r++) {
      round = r;
      const bytesBefore = probe.counters.bytesIn;
      const started = performance.now();
      await client.mergePatch(`/api/v1/namespaces/${NS}/configmaps/shared`, { data: { round: String(r) } });
      await until(() => (arrivals.get(r)?.length ?? 0) >= nodeCount, 30_000, `round ${r} delivered`, 1);
      hubTimes.push(Math.max(...arrivals.get(r)!) - started);
      if (process.env.BENCH_DEBUG) console.error(`round ${r}: first ${(Math.min(...arrivals.get(r)!) - started).toFixed(1)} ms, last ${(Math.max(...arrivals.get(r)!) - started).toFixed(1)} ms`);
      frameBytes = probe.counters.bytesIn - bytesBefore;
    }
    void round;
    for (const node of nodes) node.stop();
    const hubCpu = hub.proc.cpuSeconds();
    await hub.proc.stop();

    // Baseline: the same number of sockets, the same bytes, a bare ws server.
    const server = await launch(path.join(BINARIES.dist, 'sim/bench/broadcast-server.js'), [], { name: 'broadcast-server' });
    const ready = server.logs[0]!;
    const baselineRssBefore = server.rssBytes();
    const received = new Map<number, number>();
    let expected = 0;
    let lastArrival = 0;
    const sockets: WebSocket[] = [];
    await forEachLimited(names, 50, async () => {
      const ws = new WebSocket(ready.ws as string);
      ws.on('message', () => {
        received.set(expected, (received.get(expected) ?? 0) + 1);
        lastArrival = performance.now();
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      sockets.push(ws);
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const baselineRssPerSocket = (server.rssBytes() - baselineRssBefore) / nodeCount;
    const baseTimes: number[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      expected = r;
      const started = performance.now();
      await fetch(`${ready.http as string}/broadcast?bytes=${frameBytes}`, { method: 'POST' });
      await until(() => (received.get(r) ?? 0) >= nodeCount, 30_000, `baseline round ${r}`, 1);
      baseTimes.push(lastArrival - started);
    }
    for (const ws of sockets) ws.terminate();
    await server.stop();

    const hubMedian = median(hubTimes);
    const baseMedian = median(baseTimes);
    return {
      title: `Hub at ${nodeCount.toLocaleString('en-US')} connected nodes (WebSocket)`,
      header: ['measure', 'edge-sync hub', 'baseline', 'baseline is', 'target', 'verdict'],
      rows: [
        [
          'RSS per idle connected node, KB',
          Math.round(rssPerNode / 1024),
          Math.round(baselineRssPerSocket / 1024),
          'bare ws server, RSS per open socket',
          '<= 16',
          verdict(rssPerNode / 1024, 16, false),
        ],
        [
          `one ConfigMap change to all ${nodeCount} nodes, median of ${ROUNDS}, ms`,
          Number(hubMedian.toFixed(1)),
          Number(baseMedian.toFixed(1)),
          `bare ws broadcast of the same ${frameBytes} B to ${nodeCount} sockets`,
          '<= 2x baseline',
          verdict(hubMedian, baseMedian * 2, false),
        ],
        ['  same, slowest round, ms', Number(Math.max(...hubTimes).toFixed(1)), Number(Math.max(...baseTimes).toFixed(1)), '', '', ''],
      ],
      notes: [
        `Hub RSS ${Math.round(rssBefore / 1048576)} MB synced with ${nodeCount} Pods before any node connected, ${Math.round(rssAfter / 1048576)} MB with all connected and idle; hub CPU ${hubCpu.toFixed(1)} s for the whole run.`,
        'Delivery is timed from the API write to the last node applying the change (through the watch, the hub, the socket and the agent link); the baseline from the broadcast request to the last socket receiving.',
      ],
    };
  } finally {
    for (const node of nodes) node.stop();
    await cluster.close();
  }
}
