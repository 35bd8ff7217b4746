/**
 * Edge store figures: how fast a `sync` batch goes into the agent's SQLite cache (CacheStore,
 * with everything it adds: apply rules, the in-memory index, seq and tombstones, change
 * events) next to a plain batched upsert of the same rows in one transaction, and what
 * `synchronous` FULL would cost instead of NORMAL (the store's choice, see
 * edge-agent/store/open-database.ts), for big batches and for the one-op frames of a steady stream.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { contentVersion, parseKey, type JsonObject, type SyncOp } from '../../protocol/index.js';
import { configureConnection, migrate, openCacheStore, type Synchronous } from '../../edge-agent/store/index.js';
import { verdict } from './measure.js';
import { samplePod } from './protocol.js';
import type { BenchSection } from './section.js';

const BATCH_OPS = 1000;
/** Distinct keys written: batches cycle over them, so most puts replace an existing row, as resyncs and updates do. */
const KEY_WINDOWS = 6;
const PREPARED_BATCHES = 12;

function configMapOf(index: number, version: number): JsonObject {
  const data: JsonObject = {};
  for (let i = 0; i < 12; i++) data[`setting-${i}.conf`] = `# version ${version}\nvalue_${i}=${'x'.repeat(100)}`;
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cfg-${index}`, namespace: 'default', labels: { app: 'web' } }, data };
}

function podOf(index: number, version: number): JsonObject {
  const pod = samplePod(index, `registry.example/app:${version}`);
  (pod.metadata as JsonObject).annotations = { 'edge-sync.io/written-at': String(1_700_000_000_000 + version), note: 'n'.repeat(200) };
  return pod;
}

/** `count` batches of BATCH_OPS puts, half Pods, half ConfigMaps, every one at a new rv. */
function prepareBatches(count: number): { batches: SyncOp[][]; meanBytes: number } {
  const batches: SyncOp[][] = [];
  let bytes = 0;
  for (let b = 0; b < count; b++) {
    const window = b % KEY_WINDOWS;
    const ops: SyncOp[] = [];
    for (let i = 0; i < BATCH_OPS; i++) {
      const index = window * BATCH_OPS + i;
      const obj = i % 2 === 0 ? podOf(index, b) : configMapOf(index, b);
      const key = `${String(obj.kind)}/default/${String((obj.metadata as JsonObject).name)}`;
      bytes += JSON.stringify(obj).length;
      ops.push({ op: 'put', key, rv: contentVersion(obj), obj });
    }
    batches.push(ops);
  }
  return { batches, meanBytes: bytes / (count * BATCH_OPS) };
}

interface BatchRate {
  opsPerSecond: number;
  /** Ops per second of this process's CPU time (user + system): steadier than wall time on a shared machine. */
  opsPerCpuSecond: number;
  p50: number;
  p99: number;
  batches: number;
}

/** Applies `batches` round-robin for at least `ms` (and at least `minBatches`) after two warm-up batches. */
function measureBatches(apply: (ops: SyncOp[]) => void, batches: SyncOp[][], ms: number, minBatches: number): BatchRate {
  let next = 0;
  const take = (): SyncOp[] => batches[next++ % batches.length] as SyncOp[];
  apply(take());
  apply(take());
  const latencies: number[] = [];
  let ops = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  while (performance.now() - start < ms || latencies.length < minBatches) {
    const batch = take();
    const t0 = performance.now();
    apply(batch);
    latencies.push(performance.now() - t0);
    ops += batch.length;
  }
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] as number;
  return { opsPerSecond: (ops * 1000) / elapsed, opsPerCpuSecond: (ops * 1e6) / (cpu.user + cpu.system), p50: at(0.5), p99: at(0.99), batches: latencies.length };
}

function withDir<T>(run: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'edge-store-bench-'));
  try {
    return run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const silent = pino({ level: 'silent' });

function storeRate(synchronous: Synchronous, batches: SyncOp[][], ms: number, minBatches: number): BatchRate {
  return withDir((dir) => {
    const store = openCacheStore({ dir, logger: silent, synchronous });
    try {
      return measureBatches((ops) => store.apply(ops), batches, ms, minBatches);
    } finally {
      store.close();
    }
  });
}

/** The baseline: the same rows upserted with one prepared statement in one transaction into a file configured like the store's, nothing else. */
function plainUpsertRate(synchronous: Synchronous, batches: SyncOp[][], ms: number, minBatches: number): BatchRate {
  return withDir((dir) => {
    const db = new Database(path.join(dir, 'cache.db'));
    try {
      configureConnection(db, synchronous);
      migrate(db);
      const upsert = db.prepare(
        `INSERT INTO objects (key, kind, ns, name, rv, body, seq, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET rv = excluded.rv, body = excluded.body, seq = excluded.seq, updated = excluded.updated`,
      );
      let seq = 0;
      const write = db.transaction((ops: SyncOp[]) => {
        const now = Date.now();
        for (const op of ops) {
          if (op.op !== 'put') continue;
          const ref = parseKey(op.key);
          upsert.run(op.key, ref.kind, ref.namespace, ref.name, op.rv, JSON.stringify(op.obj), ++seq, now);
        }
      });
      return measureBatches(write, batches, ms, minBatches);
    } finally {
      db.close();
    }
  });
}

const latency = (rate: BatchRate): string => `${rate.p50.toFixed(2)} / ${rate.p99.toFixed(2)}`;

export function edgeStoreBench(ms: number): BenchSection {
  const { batches, meanBytes } = prepareBatches(PREPARED_BATCHES);
  const singles = batches.flatMap((batch) => batch.slice(0, 500).map((op) => [op]));

  const normal = storeRate('NORMAL', batches, ms, 5);
  const normalPlain = plainUpsertRate('NORMAL', batches, ms, 5);
  const full = storeRate('FULL', batches, ms, 5);
  const fullPlain = plainUpsertRate('FULL', batches, ms, 5);
  const singleNormal = storeRate('NORMAL', singles, ms, 50);
  const singleFull = storeRate('FULL', singles, ms, 50);

  const size = `~${(meanBytes / 1024).toFixed(1)} KB`;
  return {
    title: 'Edge store (SQLite cache)',
    header: ['measure', 'edge-sync', 'baseline', 'baseline is', 'target', 'verdict'],
    rows: [
      [
        `apply 1,000-put batches (${size} Pods/ConfigMaps), synchronous=NORMAL, ops/s`,
        Math.round(normal.opsPerSecond),
        Math.round(normalPlain.opsPerSecond),
        'plain batched upsert of the same rows, one transaction',
        '>= 50,000',
        verdict(normal.opsPerSecond, 50_000),
      ],
      ['  per-batch latency p50 / p99, ms', latency(normal), latency(normalPlain), 'same', '', ''],
      ['  ops per CPU second', Math.round(normal.opsPerCpuSecond), Math.round(normalPlain.opsPerCpuSecond), 'same', '', ''],
      [
        `apply 1,000-put batches, synchronous=FULL, ops/s`,
        Math.round(full.opsPerSecond),
        Math.round(fullPlain.opsPerSecond),
        'plain batched upsert, FULL',
        '',
        '',
      ],
      ['  per-batch latency p50 / p99, ms', latency(full), latency(fullPlain), 'same', '', ''],
      [
        'apply 1-op batches (steady stream), NORMAL, latency p50 / p99, ms',
        latency(singleNormal),
        latency(singleFull),
        'the same with synchronous=FULL',
        '',
        '',
      ],
      ['apply 1-op batches, ops/s', Math.round(singleNormal.opsPerSecond), Math.round(singleFull.opsPerSecond), 'the same with synchronous=FULL', '', ''],
    ],
    notes: [
      `SQLite files in ${tmpdir()} (WAL, 8 KiB pages). The store's rate includes the apply rules, reading each replaced body (for the change's \`previous\`), the in-memory key->rv index, seq and meta writes, and change events; the baseline is only the upsert. ${normal.batches} / ${full.batches} timed 1,000-op batches (NORMAL / FULL). Wall-clock rates vary with other load on the machine; ops per CPU second much less.`,
    ],
  };
}
