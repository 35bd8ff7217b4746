#!/usr/bin/env node
/**
 * `node dist/sim/bench/profile-summary.js FILE.cpuprofile [N] [FROM-TO]`: the top functions of a
 * V8 CPU profile (what `edge-sim --hub-cpu-prof` writes), by self time and by total time, as
 * Markdown; with FROM-TO (seconds since the profile started, e.g. `45-65`), only the samples taken
 * then, to read one phase of a run (the steady churn) without the set-up around it.
 * For reading where the hub's time goes without opening DevTools.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { markdownTable } from '../report/table.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** A part of the profile, in ms since it started. */
export interface ProfileWindow {
  fromMs: number;
  toMs: number;
}

export interface FunctionTime {
  name: string;
  selfMs: number;
  totalMs: number;
}

export function summarizeProfile(profile: CpuProfile, window?: ProfileWindow): { totalMs: number; functions: FunctionTime[] } {
  const hitCounts = window ? hitsWithin(profile, window) : new Map(profile.nodes.map((node) => [node.id, node.hitCount ?? 0]));
  const totalMs = window ? Math.min(window.toMs, (profile.endTime - profile.startTime) / 1000) - window.fromMs : (profile.endTime - profile.startTime) / 1000;
  const hits = [...hitCounts.values()].reduce((sum, n) => sum + n, 0);
  const msPerHit = hits > 0 ? totalMs / hits : 0;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const node of profile.nodes) {
    const ms = (hitCounts.get(node.id) ?? 0) * msPerHit;
    if (ms === 0) continue;
    const name = label(node);
    self.set(name, (self.get(name) ?? 0) + ms);
    // Inclusive time: every distinct function on the stack once (recursion counted once).
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id);
      if (!frame) break;
      const key = label(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + ms);
    }
  }
  const functions = [...total.keys()].map((name) => ({ name, selfMs: self.get(name) ?? 0, totalMs: total.get(name) ?? 0 }));
  return { totalMs, functions };
}

/** Samples per node taken inside `window` (the profile's samples and timeDeltas, in µs). */
function hitsWithin(profile: CpuProfile, window: ProfileWindow): Map<number, number> {
  const { samples = [], timeDeltas = [] } = profile;
  const hits = new Map<number, number>();
  let at = 0;
  for (let i = 0; i < samples.length; i++) {
    at += (timeDeltas[i] ?? 0) / 1000;
    if (at < window.fromMs || at > window.toMs) continue;
    hits.set(samples[i]!, (hits.get(samples[i]!) ?? 0) + 1);
  }
  return hits;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url ? `${path.basename(path.dirname(url.replace(/^file:\/\//, '')))}/${path.basename(url)}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'}${file ? ` ${file}` : ''}`;
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const [file, count = '25', range] = process.argv.slice(2);
  const bounds = range?.match(/^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/);
  if (!file || (range !== undefined && !bounds)) {
    process.stderr.write('usage: profile-summary FILE.cpuprofile [N] [FROM-TO seconds]\n');
    process.exit(2);
  }
  const window = bounds ? { fromMs: Number(bounds[1]) * 1000, toMs: Number(bounds[2]) * 1000 } : undefined;
  const { totalMs, functions } = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, window);
  const n = Number(count);
  const row = (f: FunctionTime) => [f.name, Math.round(f.selfMs), `${((f.selfMs / totalMs) * 100).toFixed(1)} %`, Math.round(f.totalMs), `${((f.totalMs / totalMs) * 100).toFixed(1)} %`];
  const skip = (f: FunctionTime) => !['(root)', '(program)', '(idle)'].includes(f.name);
  process.stdout.write(`profile of ${(totalMs / 1000).toFixed(1)} s\n\n## by self time\n\n`);
  process.stdout.write(`${markdownTable(['function', 'self ms', 'self', 'total ms', 'total'], [...functions].sort((a, b) => b.selfMs - a.selfMs).slice(0, n).map(row))}\n\n## by total time\n\n`);
  process.stdout.write(`${markdownTable(['function', 'self ms', 'self', 'total ms', 'total'], [...functions].filter(skip).sort((a, b) => b.totalMs - a.totalMs).slice(0, n).map(row))}\n`);
}
