/**
 * kill -9 at random moments: a child process applies random batches to the built CacheStore in
 * a loop and is killed 20 times. After each kill the cache must open without being moved aside,
 * pass the integrity check, agree with itself (digest, index, rows, bodies), show every batch
 * as all or nothing (the manifest written in each batch matches the rest), and keep what the
 * child reported committed.
 */
import path from 'node:path';
import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheDigest, contentVersion, type CacheEntry, type JsonObject } from '../../../protocol/index.js';
import { openEdgeStore } from '../../../edge-agent/store/index.js';
import { REPO, startProcess } from '../../helpers/process.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { captureLog } from './helpers.js';

const FIXTURE = path.join(REPO, 'test/edge-agent/store/fixtures/apply-loop.mjs');
const MANIFEST = 'ConfigMap/crash-test/manifest';
const ROUNDS = 20;

const tmp = makeTempDir('edge-store-crash-');
afterAll(() => tmp.remove());

describe('crash safety', () => {
  it(`survives kill -9 of a writer at ${ROUNDS} random moments`, { timeout: 180_000 }, async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
    let random = seed;
    const next = (n: number): number => {
      random = (random * 1103515245 + 12345) % 2147483648;
      return random % n;
    };
    for (let round = 0; round < ROUNDS; round++) {
      const context = `seed ${seed}, round ${round}`;
      const child = await startProcess(FIXTURE, [tmp.path, String(round), String(seed + round)], { env: { LOG_LEVEL: 'warn' } });
      // A random number of committed batches (0: during the first one), then a random delay of
      // up to a few batches' time: the delay is not synchronisation (nothing waits on the child
      // being anywhere), it is what places the kill at a random point inside a batch rather
      // than right after the progress line, where the writer always is when the line arrives.
      const target = next(25);
      const reported = target === 0 ? undefined : await child.waitForLog((line) => line.msg === 'batch' && Number(line.n) >= target, 20_000, `batch ${target}`);
      await new Promise((resolve) => setTimeout(resolve, next(40)));
      const { signal } = await child.kill();
      expect(signal, context).toBe('SIGKILL');

      const log = captureLog();
      const store = openEdgeStore({ dir: tmp.path, logger: log.logger });
      try {
        expect(log.lines.filter((line) => line.level >= 40), context).toEqual([]);
        expect(readdirSync(tmp.path).filter((name) => name.includes('corrupt')), context).toEqual([]);
        expect(store.cache.db.pragma('quick_check', { simple: true }), context).toBe('ok');

        const entries = [...store.cache.entries()];
        expect(store.cache.digest(), context).toBe(cacheDigest(entries));
        const rows = store.cache.db.prepare<[], { key: string; rv: string }>('SELECT key, rv FROM objects').all();
        expect(new Map(rows.map((row) => [row.key, row.rv])), context).toEqual(new Map(entries));
        for (const [key, rv] of entries) expect(contentVersion(store.cache.get(key) as JsonObject), `${context}: ${key}`).toBe(rv);

        const manifest = store.cache.get(MANIFEST);
        if (reported !== undefined) {
          // What the child reported committed before it died is there.
          expect(manifest, context).toBeDefined();
          expect(Number((manifest?.data as JsonObject).run), context).toBe(round);
          expect(Number((manifest?.data as JsonObject).batch), context).toBeGreaterThanOrEqual(Number(reported.n));
        }
        if (manifest) {
          const rest = entries.filter(([key]) => key !== MANIFEST) as CacheEntry[];
          expect(cacheDigest(rest), context).toBe((manifest.data as JsonObject).digest);
          expect(rest.length, context).toBe(Number((manifest.data as JsonObject).size));
        }

        const totals = store.cache.db.prepare<[], { n: number; bytes: number }>('SELECT count(*) AS n, total(bytes) AS bytes FROM outbox').get();
        expect({ n: store.outbox.size, bytes: store.outbox.bytes }, context).toEqual(totals);
        expect(store.outbox.bytes, context).toBeLessThanOrEqual(store.outbox.maxBytes);
        // The fixture's rows are not upstream reports: read them untyped.
        for (const item of store.outbox.peek(1000)) expect(typeof (item.body as JsonObject).batch, context).toBe('number');
      } finally {
        store.close();
      }
    }
  });
});
