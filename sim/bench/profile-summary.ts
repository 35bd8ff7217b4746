#!/usr/bin/env node
/**
 * `node dist/sim/bench/profile-summary.js FILE.cpuprofile [N]`: the top functions of a V8 CPU
 * profile (what `edge-sim --hub-cpu-prof` writes), by self time and by total time, as Markdown.
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
}

export interface FunctionTime {
  name: string;
  selfMs: number;
  totalMs: number;
}

export function summarizeProfile(profile: CpuProfile): { totalMs: number; functions: FunctionTime[] } {
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const hits = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const msPerHit = hits > 0 ? totalMs / hits : 0;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const node of profile.nodes) {
    const ms = (node.hitCount ?? 0) * msPerHit;
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

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url ? `${path.basename(path.dirname(url.replace(/^file:\/\//, '')))}/${path.basename(url)}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'}${file ? ` ${file}` : ''}`;
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const [file, count = '25'] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: profile-summary FILE.cpuprofile [N]\n');
    process.exit(2);
  }
  const { totalMs, functions } = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const n = Number(count);
  const row = (f: FunctionTime) => [f.name, Math.round(f.selfMs), `${((f.selfMs / totalMs) * 100).toFixed(1)} %`, Math.round(f.totalMs), `${((f.totalMs / totalMs) * 100).toFixed(1)} %`];
  const skip = (f: FunctionTime) => !['(root)', '(program)', '(idle)'].includes(f.name);
  process.stdout.write(`profile of ${(totalMs / 1000).toFixed(1)} s\n\n## by self time\n\n`);
  process.stdout.write(`${markdownTable(['function', 'self ms', 'self', 'total ms', 'total'], [...functions].sort((a, b) => b.selfMs - a.selfMs).slice(0, n).map(row))}\n\n## by total time\n\n`);
  process.stdout.write(`${markdownTable(['function', 'self ms', 'self', 'total ms', 'total'], [...functions].filter(skip).sort((a, b) => b.totalMs - a.totalMs).slice(0, n).map(row))}\n`);
}
