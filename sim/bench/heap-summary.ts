#!/usr/bin/env node
/**
 * `node dist/sim/bench/heap-summary.js FILE.heapsnapshot [BEFORE.heapsnapshot] [N]`: what a V8 heap snapshot holds (or what grew since BEFORE),
 * by node type and constructor name (self size and count, largest first), as Markdown. For
 * reading what fills the hub's heap (`BENCH_HUB_RSS_HEAP_SNAPSHOT`) without opening DevTools.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { markdownTable } from '../report/table.js';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: (string[] | string)[] } };
  nodes: number[];
  strings: string[];
}

export interface HeapGroup {
  type: string;
  name: string;
  count: number;
  selfBytes: number;
}

/** Self size and count per (node type, constructor name); strings grouped as one row per type. */
export function summariseHeap(snapshot: HeapSnapshot): HeapGroup[] {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0] as string[];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, HeapGroup>();
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]!] ?? '?';
    // A string's "name" is its text: group strings by type alone.
    const name = type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' ? '' : (strings[nodes[i + nameAt]!] ?? '?');
    const key = `${type}\u0000${name}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { type, name, count: 0, selfBytes: 0 }));
    group.count++;
    group.selfBytes += nodes[i + sizeAt]!;
  }
  return [...groups.values()].sort((a, b) => b.selfBytes - a.selfBytes);
}

/** `after` minus `before`, per (type, constructor), largest growth first. */
export function diffHeap(after: HeapGroup[], before: HeapGroup[]): HeapGroup[] {
  const base = new Map(before.map((group) => [`${group.type}\u0000${group.name}`, group]));
  const diff = after.map((group) => {
    const was = base.get(`${group.type}\u0000${group.name}`);
    base.delete(`${group.type}\u0000${group.name}`);
    return { ...group, count: group.count - (was?.count ?? 0), selfBytes: group.selfBytes - (was?.selfBytes ?? 0) };
  });
  for (const gone of base.values()) diff.push({ ...gone, count: -gone.count, selfBytes: -gone.selfBytes });
  return diff.sort((a, b) => b.selfBytes - a.selfBytes);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: heap-summary FILE.heapsnapshot [BEFORE.heapsnapshot] [N]\n');
    process.exit(2);
  }
  // With a second snapshot: what grew between the two (e.g. N idle nodes connecting).
  const beforeFile = process.argv[3]?.endsWith('.heapsnapshot') ? process.argv[3] : undefined;
  const top = Number(process.argv[beforeFile ? 4 : 3] ?? 30);
  const read = (name: string): HeapGroup[] => summariseHeap(JSON.parse(readFileSync(name, 'utf8')) as HeapSnapshot);
  const groups = beforeFile ? diffHeap(read(file), read(beforeFile)) : read(file);
  const total = groups.reduce((sum, group) => sum + group.selfBytes, 0);
  const mib = (bytes: number): string => (bytes / 1048576).toFixed(2);
  const what = beforeFile ? `${path.basename(file)} - ${path.basename(beforeFile)}` : path.basename(file);
  process.stdout.write(`${what}: ${mib(total)} MiB in ${groups.reduce((sum, g) => sum + g.count, 0).toLocaleString('en-US')} heap objects\n\n`);
  process.stdout.write(
    `${markdownTable(
      ['type', 'constructor', 'count', 'self MiB', '%'],
      groups.slice(0, top).map((g) => [g.type, g.name, g.count, mib(g.selfBytes), ((100 * g.selfBytes) / total).toFixed(1)]),
    )}\n`,
  );
}
