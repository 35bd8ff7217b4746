/**
 * The fleet benchmark: `edge-sim` (its own process, with its own embedded API and hub as two
 * more processes) at BENCH_FLEET_NODES nodes (default 10,000): connect and sync, churn at
 * BENCH_FLEET_CHURN changes/s (default 1,000), fan-out of one change to every node, and a hub
 * kill -9. Next to it, in the same run, a bare `ws` server broadcasting the same bytes to the
 * same number of sockets. BENCH_FLEET_CPU_PROF=DIR profiles the hub (node --cpu-prof; the
 * storm's kill -9 loses the first hub's profile, so profile `edge-sim --scenario steady,fanout`
 * for the churn and fan-out, and summarise with `node dist/sim/bench/profile-summary.js`).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { BINARIES } from '../launch/binaries.js';
import { launch } from '../launch/managed-process.js';
import type { SimReport } from '../report/model.js';
import { TARGETS } from '../report/targets.js';
import { forEachLimited, hubScript, median, until } from './cluster.js';
import { verdict } from './measure.js';
import type { BenchSection } from './section.js';

const ROUNDS = 7;

export async function fleetBench(): Promise<BenchSection> {
  const nodes = Number(process.env.BENCH_FLEET_NODES ?? 10_000);
  const churn = Number(process.env.BENCH_FLEET_CHURN ?? 1_000);
  const duration = Number(process.env.BENCH_FLEET_DURATION ?? 20);
  const dir = mkdtempSync(path.join(tmpdir(), 'edge-bench-fleet-'));
  try {
    const report = await runSimulator(dir, nodes, churn, duration);
    const fanout = report.scenarios.find((s) => s.fanout)?.fanout;
    const steady = report.scenarios.find((s) => s.name === 'steady');
    const storm = report.scenarios.find((s) => s.storm)?.storm;
    const baseline = await broadcastBaseline(nodes, fanout?.frameBytes ?? 300);
    const rssKB = report.hub.rssPerIdleNodeBytes === null ? NaN : report.hub.rssPerIdleNodeBytes / 1024;
    const n = nodes.toLocaleString('en-US');
    const num = (value: number | undefined, digits = 1): number | string => (value === undefined || !Number.isFinite(value) ? '-' : Number(value.toFixed(digits)));
    return {
      title: `Fleet of ${n} virtual nodes against one hub (edge-sim, WebSocket)`,
      header: ['measure', 'edge-sync hub', 'baseline', 'baseline is', 'target', 'verdict'],
      rows: [
        [`nodes connected and in sync (s to get there)`, `${report.verification.nodes} (${report.setup.connectSeconds} s)`, '', '', `${n}`, report.verification.nodes === nodes ? 'met' : `missed by ${nodes - report.verification.nodes}`],
        [`one change to all ${n} caches, median of ${fanout?.rounds ?? 0}, ms`, num(fanout?.medianMs), num(baseline.medianMs), `bare ws broadcast of the same ${fanout?.frameBytes ?? '?'} B to ${n} sockets, median of ${ROUNDS}`, '<= 2x baseline', fanout ? verdict(fanout.medianMs, baseline.medianMs * 2, false) : 'not measured'],
        ['  same, slowest round, ms', num(fanout?.maxMs), num(baseline.maxMs), '', '', ''],
        [`p99 write -> edge apply at ${churn.toLocaleString('en-US')} changes/s (achieved ${num(steady?.churn?.achievedRate, 0)}/s), ms`, num(steady?.latency.p99), '', '', `<= ${TARGETS.p99Ms}`, steady ? verdict(steady.latency.p99, TARGETS.p99Ms, false) : 'not measured'],
        ['  p50 / max, ms', `${num(steady?.latency.p50)} / ${num(steady?.latency.max)}`, '', '', '', ''],
        ['  of which the API write itself, p50, ms', num(steady?.churn?.writeP50Ms), '', '', `<= ${TARGETS.apiWriteP50Ms}`, steady?.churn ? verdict(steady.churn.writeP50Ms, TARGETS.apiWriteP50Ms, false) : 'not measured'],
        ['  of which the API write itself, p99, ms', num(steady?.churn?.writeP99Ms), '', '', `<= ${TARGETS.apiWriteP99Ms}`, steady?.churn ? verdict(steady.churn.writeP99Ms, TARGETS.apiWriteP99Ms, false) : 'not measured'],
        ['hub kill -9 -> every node back in sync, s', num(storm ? storm.recoveryMs / 1000 : undefined), '', '', `<= ${TARGETS.stormRecoveryS}`, storm ? verdict(storm.recoveryMs / 1000, TARGETS.stormRecoveryS, false) : 'not measured'],
        ['  of which hub restart (kill -> /readyz), s', num(storm ? storm.hubRestartMs / 1000 : undefined), '', '', `<= ${TARGETS.hubRestartS}`, storm ? verdict(storm.hubRestartMs / 1000, TARGETS.hubRestartS, false) : 'not measured'],
        ['frames down per unchanged node after the restart (max)', storm ? storm.framesDownPerNode.max : '-', '', '', `<= ${TARGETS.unchangedNodeFrames}`, storm ? verdict(storm.framesDownPerNode.max, TARGETS.unchangedNodeFrames, false) : 'not measured'],
        ['bytes down per unchanged node after the restart (max)', storm ? storm.bytesDownPerNode.max : '-', '', '', `<= ${TARGETS.unchangedNodeBytes}`, storm ? verdict(storm.bytesDownPerNode.max, TARGETS.unchangedNodeBytes, false) : 'not measured'],
        ['hub RSS per idle connected node, KB', num(rssKB), num(baseline.rssPerSocketKB), 'bare ws server, RSS per open socket', `<= ${TARGETS.rssPerIdleNodeKB}`, verdict(rssKB, TARGETS.rssPerIdleNodeKB, false)],
        [
          `hub RSS with the workload listed (${(report.config.podsPerNode * nodes).toLocaleString('en-US')} Pods, ${(2 * nodes).toLocaleString('en-US')} ConfigMaps/Secrets), no node connected, MB`,
          report.hub.rssBeforeNodesBytes === null ? '-' : Number(mb(report.hub.rssBeforeNodesBytes)),
          '',
          '',
          `<= ${TARGETS.hubWorkloadRssMB}`,
          report.hub.rssBeforeNodesBytes === null ? 'not measured' : verdict(report.hub.rssBeforeNodesBytes / 1048576, TARGETS.hubWorkloadRssMB, false),
        ],
        ['divergent nodes at the end', report.verification.divergent, '', '', '0', report.verification.divergent === 0 ? 'met' : `missed by ${report.verification.divergent}`],
      ],
      notes: [
        `edge-sim ${report.config.scenarios.join(' + ')}: ${report.config.podsPerNode} Pods per node, ${report.config.workers} worker threads, ${duration} s per scenario, ${report.wallSeconds} s in all; ` +
          `hub CPU ${steady?.hubCpuPercent ?? '-'} % of a core during the churn; hub RSS ${mb(report.hub.rssBeforeNodesBytes)} MB with the workload and no node, ${mb(report.hub.rssIdleBytes)} MB with all connected and idle.`,
        'API server, hub, simulator and the baseline server are separate processes on the same 2-core machine (shared with other work), so every figure includes their contention.',
        'Latency is timed from the API write (annotation) to the virtual node committing the change; the baseline from the broadcast request to the last socket receiving.',
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runSimulator(dir: string, nodes: number, churn: number, duration: number): Promise<SimReport> {
  const file = path.join(dir, 'fleet.json');
  const args = [
    BINARIES.edgeSim,
    '--nodes', String(nodes),
    '--churn', String(churn),
    '--duration', String(duration),
    '--scenario', 'steady,fanout,storm',
    '--fanout-interval', '2000',
    '--settle-timeout', '180',
    '--report', file,
    '--hub-bin', hubScript(),
    ...(process.env.BENCH_FLEET_CPU_PROF ? ['--hub-cpu-prof', process.env.BENCH_FLEET_CPU_PROF] : []),
  ];
  // The simulator's progress goes to our stderr: a 10,000-node run takes minutes.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number | null];
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SimReport;
  } catch {
    throw new Error(`edge-sim exited with code ${code} and wrote no report`);
  }
}

/** A bare ws server broadcasting `bytes` to `count` sockets: the ceiling of fan-out from one Node.js process. */
async function broadcastBaseline(count: number, bytes: number): Promise<{ medianMs: number; maxMs: number; rssPerSocketKB: number }> {
  const server = await launch(path.join(BINARIES.dist, 'sim/bench/broadcast-server.js'), [], { name: 'broadcast-server' });
  const ready = server.logs[0]!;
  const sockets: WebSocket[] = [];
  try {
    const rssBefore = server.rssBytes();
    let round = 0;
    let received = 0;
    let last = 0;
    await forEachLimited(Array.from({ length: count }, (_, i) => i), 100, async () => {
      const ws = new WebSocket(ready.ws as string, { perMessageDeflate: false });
      ws.on('message', () => {
        if (round === 0) return;
        received += 1;
        last = performance.now();
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      sockets.push(ws);
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const rssPerSocketKB = (server.rssBytes() - rssBefore) / count / 1024;
    const times: number[] = [];
    for (round = 1; round <= ROUNDS; round++) {
      received = 0;
      const started = performance.now();
      await fetch(`${ready.http as string}/broadcast?bytes=${bytes}`, { method: 'POST' });
      await until(() => received >= count, 60_000, `baseline round ${round}`, 1);
      times.push(last - started);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return { medianMs: median(times), maxMs: Math.max(...times), rssPerSocketKB };
  } finally {
    for (const ws of sockets) ws.terminate();
    await server.stop();
  }
}

function mb(bytes: number | null): string {
  return bytes === null ? '-' : (bytes / 1048576).toFixed(0);
}
