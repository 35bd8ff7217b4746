/**
 * Hub figures at 1,000 connected nodes: RSS per idle connected node, and one ConfigMap change
 * referenced by a Pod on every node delivered to all of them, next to a bare `ws` server
 * broadcasting the same bytes to the same number of sockets. The API server, the hub and the
 * baseline server each run in their own process; the nodes are the agent's real link code.
 * BENCH_HUB_FANOUT_HEAP_SNAPSHOT=DIR writes two heap snapshots of the hub there, before any node
 * connects and with all of them connected and idle (node --heapsnapshot-signal=SIGUSR2); what
 * one idle node costs is their difference: `node dist/sim/bench/heap-summary.js AFTER BEFORE`
 * (divide by the node count); the second one is taken after the later RSS look.
 */
import pino from 'pino';
import WebSocket from 'ws';
import { BINARIES } from '../launch/binaries.js';
import { launch, type ManagedProcess } from '../launch/managed-process.js';
import { FanoutFleet, seedSharedConfigFleet } from './fanout-fleet.js';
import { forEachLimited, median, readyz, startApiServer, startHubProcess, until } from './cluster.js';
import { heapSpaces, hubMetrics } from './hub-rss.js';
import { verdict } from './measure.js';
import { TARGETS } from '../report/targets.js';
import type { BenchSection } from './section.js';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

const ROUNDS = 7;
/** The second look at the idle hub's RSS. */
const LATER_MS = 30_000;

/** Writes a heap snapshot of `proc` (started with --heapsnapshot-signal=SIGUSR2) into `dir`; resolves once it is complete. */
async function heapSnapshot(proc: ManagedProcess, metricsUrl: string, dir: string): Promise<void> {
  const before = new Set(readdirSync(dir));
  proc.child.kill('SIGUSR2');
  await until(() => readdirSync(dir).some((file) => !before.has(file) && file.endsWith('.heapsnapshot')), 300_000, 'heap snapshot written');
  // The snapshot is complete once the hub answers again.
  await until(() => readyz(metricsUrl), 300_000, 'hub answering after the snapshot');
}

export async function hubFanoutBench(): Promise<BenchSection> {
  const nodeCount = Number(process.env.BENCH_HUB_NODES ?? 1000);
  const names = Array.from({ length: nodeCount }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
  const cluster = await startApiServer();
  const logger = pino({ level: 'silent' });
  let fleet: FanoutFleet | undefined;
  let stopHub: (() => Promise<unknown>) | undefined;
  try {
    const { client } = cluster;
    const tokens = await cluster.tokens.createMany(names, 64);
    await seedSharedConfigFleet(client, names);

    const snapshotDir = process.env.BENCH_HUB_FANOUT_HEAP_SNAPSHOT;
    if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });
    const hub = await startHubProcess(
      cluster.kubeconfig,
      ['--heartbeat-interval', '30000', '--api-qps', '2000'],
      snapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`] : [],
    );
    stopHub = () => hub.proc.stop();
    await until(() => readyz(hub.metrics), 60_000, 'hub informers synced');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const rssBefore = hub.proc.rssBytes();
    const readyMetrics = await hubMetrics(hub.metrics);
    const heapBefore = readyMetrics.get('nodejs_heap_size_used_bytes') ?? NaN;
    if (snapshotDir) await heapSnapshot(hub.proc, hub.metrics, snapshotDir);

    fleet = new FanoutFleet(hub.ws, tokens, logger);
    await fleet.connect(50, 120_000);
    // Registrations (Node objects, status, Leases) come through the hub's write queue; let them finish.
    await until(async () => (await client.get<{ items: unknown[] }>('/api/v1/nodes')).items.length >= nodeCount, 120_000, 'nodes registered');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const rssAfter = hub.proc.rssBytes();
    const rssPerNode = (rssAfter - rssBefore) / nodeCount;
    // V8 heap used (live and not yet collected): what of the RSS is the hub's objects, not V8's reservations.
    const idleMetrics = await hubMetrics(hub.metrics);
    const heapPerNode = ((idleMetrics.get('nodejs_heap_size_used_bytes') ?? NaN) - heapBefore) / nodeCount;
    // Idle, V8 collects the garbage of the connect storm only when its memory reducer runs: the
    // same figure later says how much of the first one was garbage rather than what a node keeps.
    await new Promise((resolve) => setTimeout(resolve, LATER_MS));
    const rssLaterPerNode = (hub.proc.rssBytes() - rssBefore) / nodeCount;
    const laterMetrics = await hubMetrics(hub.metrics);
    const heapLaterPerNode = ((laterMetrics.get('nodejs_heap_size_used_bytes') ?? NaN) - heapBefore) / nodeCount;
    if (snapshotDir) await heapSnapshot(hub.proc, hub.metrics, snapshotDir);

    const cpuBeforeRounds = hub.proc.cpuSeconds();
    const { times: hubTimes, frameBytes } = await fleet.rounds(client, ROUNDS);
    // CPU the hub spent per round (the change in, a frame out to every node, every node's ack in):
    // unlike the delivery time, hardly moved by other processes on the machine.
    const hubCpuMsPerRound = ((hub.proc.cpuSeconds() - cpuBeforeRounds) * 1000) / ROUNDS;
    fleet.stop();
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
          `<= ${TARGETS.rssPerIdleNodeKB}`,
          verdict(rssPerNode / 1024, TARGETS.rssPerIdleNodeKB, false),
        ],
        ['  of which V8 heap used, KB', Math.round(heapPerNode / 1024), '', '', '', ''],
        [`  same, ${LATER_MS / 1000} s later, RSS / V8 heap used, KB`, `${Math.round(rssLaterPerNode / 1024)} / ${Math.round(heapLaterPerNode / 1024)}`, '', '', '', ''],
        [
          `one ConfigMap change to all ${nodeCount} nodes, median of ${ROUNDS}, ms`,
          Number(hubMedian.toFixed(1)),
          Number(baseMedian.toFixed(1)),
          `bare ws broadcast of the same ${frameBytes} B to ${nodeCount} sockets`,
          '<= 2x baseline',
          verdict(hubMedian, baseMedian * 2, false),
        ],
        ['  same, slowest round, ms', Number(Math.max(...hubTimes).toFixed(1)), Number(Math.max(...baseTimes).toFixed(1)), '', '', ''],
        ['  hub CPU per round (user + system), ms', Math.round(hubCpuMsPerRound), '', '', '', ''],
      ],
      notes: [
        `Hub RSS ${Math.round(rssBefore / 1048576)} MB synced with ${nodeCount} Pods before any node connected, ${Math.round(rssAfter / 1048576)} MB with all connected and idle; hub CPU ${hubCpu.toFixed(1)} s for the whole run.`,
        `Hub V8 heap spaces used/reserved, MiB, before any node: ${heapSpaces(readyMetrics)}; with all connected and idle: ${heapSpaces(idleMetrics)}; ${LATER_MS / 1000} s later: ${heapSpaces(laterMetrics)}.`,
        'Delivery is timed from the API write to the last node applying the change (through the watch, the hub, the socket and the agent link); the baseline from the broadcast request to the last socket receiving.',
      ],
    };
  } finally {
    fleet?.stop();
    // Also when a step timed out: no hub left running.
    await stopHub?.();
    await cluster.close();
  }
}
