/**
 * The chaos scenario's parts that need no cluster: the seeded schedule (the same seed gives the
 * same faults, every kind is hit, cuts end inside the run), the cache damage against the real
 * SQLite store (every damaged file is detected and moved aside on open), and the verdicts that
 * fail a run.
 */
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { openEdgeStore } from '../../edge-agent/store/open.js';
import { FAULT_KINDS, defaultFaultCount, planChaos } from '../../sim/chaos/plan.js';
import { SeededRandom } from '../../sim/random/seeded-random.js';
import { movedAsideCount } from '../../sim/fleet/agent-storage.js';
import { corruptCacheFile } from '../../sim/fleet/cache-corruption.js';
import type { SimReport } from '../../sim/report/model.js';
import { gateFailures } from '../../sim/report/targets.js';
import { makeTempDir } from '../helpers/tmp.js';

const dir = makeTempDir('chaos-plan-test-');
afterAll(() => dir.remove());

const nodes = Array.from({ length: 200 }, (_, i) => `sim-${String(i).padStart(5, '0')}`);
const shape = { nodes, durationMs: 150_000, faults: 50, kinds: FAULT_KINDS };

describe('the chaos schedule', () => {
  it('is the same for the same seed, and another for another seed', () => {
    const one = planChaos({ ...shape, seed: 42 });
    expect(planChaos({ ...shape, seed: 42 })).toEqual(one);
    expect(planChaos({ ...shape, seed: 43 })).not.toEqual(one);
    expect(one).toHaveLength(50);
    expect(one.map((fault) => fault.n)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('hits every kind equally, in time order, within the fault window, and restores every cut before the end', () => {
    const plan = planChaos({ ...shape, seed: 7 });
    for (const kind of FAULT_KINDS) expect(plan.filter((fault) => fault.kind === kind)).toHaveLength(10);
    for (let i = 1; i < plan.length; i++) expect(plan[i]!.atMs).toBeGreaterThanOrEqual(plan[i - 1]!.atMs);
    expect(plan[0]!.atMs).toBeGreaterThanOrEqual(150_000 * 0.05);
    expect(plan[plan.length - 1]!.atMs).toBeLessThanOrEqual(150_000 * 0.75);
    for (const fault of plan) {
      if (fault.kind === 'link-cut' || fault.kind === 'agent-restart' || fault.kind === 'cache-corrupt') expect(fault.nodes.length).toBeGreaterThan(0);
      if (fault.kind === 'link-cut') expect(fault.atMs + fault.holdMs).toBeLessThanOrEqual(150_000 * 0.9);
      if (fault.kind === 'cache-corrupt') expect(['header', 'page']).toContain(fault.corruption);
      if (fault.kind === 'hub-kill') expect(fault.signal).toBe('SIGKILL');
      expect(new Set(fault.nodes).size).toBe(fault.nodes.length);
    }
  });

  it('does not damage the cache of a node whose link is cut around the same time (its outbox could not drain)', () => {
    for (let seed = 0; seed < 20; seed++) {
      const plan = planChaos({ ...shape, seed });
      for (const corrupt of plan.filter((fault) => fault.kind === 'cache-corrupt')) {
        for (const cut of plan.filter((fault) => fault.kind === 'link-cut' && fault.atMs <= corrupt.atMs && corrupt.atMs <= fault.atMs + fault.holdMs)) {
          expect(corrupt.nodes.filter((node) => cut.nodes.includes(node))).toEqual([]);
        }
      }
    }
  });

  it('hits every kind at least once with one fault per kind, and defaults to one fault every 3 s', () => {
    const plan = planChaos({ ...shape, faults: FAULT_KINDS.length, seed: 1 });
    expect(new Set(plan.map((fault) => fault.kind))).toEqual(new Set(FAULT_KINDS));
    expect(defaultFaultCount(150, 5)).toBe(50);
    expect(defaultFaultCount(6, 5)).toBe(5);
    expect(() => planChaos({ ...shape, kinds: [], seed: 1 })).toThrow(/fault kind/);
  });

  it('derives independent, reproducible streams from one seed', () => {
    const a = new SeededRandom(9);
    const draws = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => new SeededRandom(9)).map((r) => r.next())).toEqual(Array(5).fill(draws[0]));
    expect(new SeededRandom(9).derive(1).seed).toBe(new SeededRandom(9).derive(1).seed);
    expect(new SeededRandom(9).derive(1).seed).not.toBe(new SeededRandom(9).derive(2).seed);
    expect(() => new SeededRandom(-1)).toThrow(/seed/);
  });
});

describe('cache damage', () => {
  const logger = pino({ level: 'silent' });

  function filledStore(name: string): string {
    const storeDir = path.join(dir.path, name);
    const store = openEdgeStore({ dir: storeDir, logger });
    store.cache.apply(
      Array.from({ length: 12 }, (_, i) => ({
        op: 'put' as const,
        key: `ConfigMap/ns/c${i}`,
        rv: `r${i}`,
        obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}`, namespace: 'ns' }, data: { value: 'x'.repeat(2_000) } },
      })),
    );
    store.outbox.add({ kind: 'event', priority: 8, body: { id: 'e1', ts: 1, source: 'node', type: 'Warning', reason: 'X', priority: 8 } });
    store.close();
    return storeDir;
  }

  it.each(['header', 'page'] as const)('over the %s is detected on open: the file is moved aside and the store starts empty', (how) => {
    for (let seed = 0; seed < 10; seed++) {
      const storeDir = filledStore(`${how}-${seed}`);
      const what = corruptCacheFile(path.join(storeDir, 'cache.db'), how, seed);
      expect(what).toContain(how === 'page' ? 'page' : 'header');
      const reopened = openEdgeStore({ dir: storeDir, logger });
      try {
        expect(movedAsideCount(storeDir), `${how} seed ${seed}: ${what}`).toBe(1);
        expect(reopened.cache.size).toBe(0);
        expect(reopened.outbox.size).toBe(0);
      } finally {
        reopened.close();
      }
    }
  });

  it('writes the same garbage for the same seed', () => {
    const a = filledStore('same-a');
    const b = filledStore('same-b');
    expect(corruptCacheFile(path.join(a, 'cache.db'), 'page', 5)).toBe(corruptCacheFile(path.join(b, 'cache.db'), 'page', 5));
  });
});

describe('verdicts that fail a run', () => {
  const report = (rows: SimReport['targets']): SimReport => ({ targets: rows }) as SimReport;

  it('are divergence and the chaos rows, not the performance targets', () => {
    expect(
      gateFailures(
        report([
          { measure: 'divergent nodes at the end', value: 0, unit: 'nodes', target: '0', verdict: 'met' },
          { measure: 'p99 write -> edge apply, chaos at 20 changes/s', value: 900, unit: 'ms', target: '<= 250', verdict: 'missed (3.60x)' },
          { measure: 'chaos: lost priority events', value: 0, unit: 'events', target: '0', verdict: 'met' },
        ]),
      ),
    ).toEqual([]);
    expect(
      gateFailures(
        report([
          { measure: 'divergent nodes at the end', value: 2, unit: 'nodes', target: '0', verdict: 'missed by 2' },
          { measure: 'chaos: lost priority events', value: 3, unit: 'events', target: '0', verdict: 'missed by 3' },
        ]),
      ),
    ).toEqual(['divergent nodes at the end: 2 (must be 0)', 'chaos: lost priority events: 3 (must be 0)']);
  });
});
