/**
 * The chaos benchmark: `edge-sim --scenario chaos` (its own process, with its own embedded API
 * and hub) at BENCH_CHAOS_NODES nodes (default 1,000) with BENCH_CHAOS_FAULTS faults (default
 * 50) over BENCH_CHAOS_DURATION seconds (default 150), seed BENCH_CHAOS_SEED (default 1);
 * BENCH_CHAOS_REPORT=FILE keeps edge-sim's report (FILE, FILE.md, FILE.svg). The
 * target is the one the project set for it: the whole run fits in a few minutes on a 2-core
 * machine and ends with no divergent node and no lost priority event.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BINARIES } from '../launch/binaries.js';
import type { SimReport } from '../report/model.js';
import { verdict } from './measure.js';
import type { BenchSection } from './section.js';

/** "A few minutes", for the whole run (cluster, workload, connect, chaos, convergence, check). */
const WALL_TARGET_S = 300;

export async function chaosBench(): Promise<BenchSection> {
  const nodes = Number(process.env.BENCH_CHAOS_NODES ?? 1_000);
  const faults = Number(process.env.BENCH_CHAOS_FAULTS ?? 50);
  const duration = Number(process.env.BENCH_CHAOS_DURATION ?? 150);
  const seed = Number(process.env.BENCH_CHAOS_SEED ?? 1);
  const dir = mkdtempSync(path.join(tmpdir(), 'edge-bench-chaos-'));
  try {
    const file = process.env.BENCH_CHAOS_REPORT || path.join(dir, 'chaos.json');
    const args = [BINARIES.edgeSim, '--scenario', 'chaos', '--nodes', String(nodes), '--faults', String(faults), '--duration', String(duration), '--seed', String(seed), '--report', file];
    // The simulator's progress and fault lines go to our stderr: the run takes minutes.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    const [code] = (await once(child, 'exit')) as [number | null];
    let report: SimReport;
    try {
      report = JSON.parse(readFileSync(file, 'utf8')) as SimReport;
    } catch {
      throw new Error(`edge-sim exited with code ${code} and wrote no report`);
    }
    const chaos = report.scenarios.find((scenario) => scenario.chaos)!.chaos!;
    const events = chaos.priorityEvents;
    const lastHubKill = [...chaos.timeline].reverse().find((fault) => fault.kind === 'hub-kill' && fault.recoveredMs !== null);
    const zero = (value: number): string => (value === 0 ? 'met' : `missed by ${value}`);
    const s = (ms: number | null | undefined): number | string => (ms === null || ms === undefined ? '-' : Number((ms / 1000).toFixed(1)));
    return {
      title: `Chaos: ${nodes.toLocaleString('en-US')} virtual nodes, ${faults} faults in ${duration} s (edge-sim --scenario chaos --seed ${seed})`,
      header: ['measure', 'value', 'target', 'verdict'],
      rows: [
        ['whole run, s', report.wallSeconds, `<= ${WALL_TARGET_S}`, verdict(report.wallSeconds, WALL_TARGET_S, false)],
        ['faults injected (planned)', `${chaos.injected} (${chaos.planned})`, String(chaos.planned), zero(chaos.planned - chaos.injected)],
        ['divergent nodes at the end', report.verification.divergent, '0', zero(report.verification.divergent)],
        ['priority events lost (of emitted)', `${events.lost} (of ${events.emitted})`, '0', zero(events.lost)],
        ['priority events in the cluster more than once', events.duplicated, '0', zero(events.duplicated)],
        ['damaged caches detected on open', `${chaos.corruptedCaches.detected} of ${chaos.corruptedCaches.injected}`, 'all', zero(chaos.corruptedCaches.injected - chaos.corruptedCaches.detected)],
        ['end of the faults -> every node in sync, s', s(chaos.convergedMs), '', ''],
        ['last hub kill -> every node back in sync (median node), s', lastHubKill ? `${s(lastHubKill.recoveredMs)} (${s(lastHubKill.nodesBack?.p50Ms)})` : '-', '', ''],
        ['priority events queued in a damaged cache file', events.destroyedWithCache, '', ''],
      ],
      notes: [
        `edge-sim exited with code ${code}; ${report.config.workers} worker threads, churn ${report.config.churn}/s, SQLite caches; the API server, the hub and the simulator share the machine, so every figure includes their contention.`,
        `Faults by kind: ${Object.entries(chaos.byKind).map(([kind, k]) => `${kind} ${k.injected} (${k.recovered} recovered, ${k.overtaken} overtaken by a hub kill)`).join(', ')}.`,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
