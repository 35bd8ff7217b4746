/**
 * The SyncCache contract, once, against both caches: every case of the table and every
 * behaviour below runs on MemoryCache and on CacheStore (SQLite in a temp dir).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheDigest, contentVersion, EMPTY_DIGEST, mergePatch, type JsonObject, type SyncOp } from '../../../protocol/index.js';
import { MemoryCache, type CacheChange, type SyncCache } from '../../../edge-agent/store/index.js';
import { configMap, plainChange, plainResult, pod, put, secret, StoreDir, type PlainChange } from './helpers.js';

interface Implementation {
  name: string;
  /** A new empty cache; `onListenerError` receives what listeners throw. */
  create(onListenerError?: (error: unknown) => void): SyncCache;
}

const storeDirs: StoreDir[] = [];
afterEach(() => {
  for (const dir of storeDirs.splice(0)) dir.cleanup();
});

const implementations: Implementation[] = [
  { name: 'MemoryCache', create: (onListenerError) => new MemoryCache(onListenerError ? { onListenerError } : {}) },
  {
    name: 'CacheStore',
    create: (onListenerError) => {
      const dir = new StoreDir(onListenerError ? { onListenerError } : {});
      storeDirs.push(dir);
      return dir.store;
    },
  },
];

const cmA = configMap('app', { mode: 'a' });
const cmB = configMap('app', { mode: 'b' });
const cmKey = 'ConfigMap/default/app';
const rvA = contentVersion(cmA);
const rvB = contentVersion(cmB);
const patchAB = mergePatch.diff(cmA, cmB) as JsonObject;
const webPod = pod('web');
const podKey = 'Pod/default/web';
const sec = secret('db', { password: 'p4ss' });
const secKey = 'Secret/default/db';
const secNext = secret('db', { password: 'n3w-p4ss' });

interface Case {
  name: string;
  /** Batches applied before the one under test. */
  given: SyncOp[][];
  batch: SyncOp[];
  changes: PlainChange[];
  needs: string[];
  skipped: number;
  /** key -> rv of the whole cache afterwards. */
  state: Record<string, string>;
}

const cases: Case[] = [
  {
    name: 'put stores a new object at its rv',
    given: [],
    batch: [put(cmKey, cmA)],
    changes: [{ type: 'put', key: cmKey, rv: rvA, obj: cmA }],
    needs: [],
    skipped: 0,
    state: { [cmKey]: rvA },
  },
  {
    name: 'put replaces an object and reports the previous one',
    given: [[put(cmKey, cmA)]],
    batch: [put(cmKey, cmB)],
    changes: [{ type: 'put', key: cmKey, rv: rvB, obj: cmB, previous: cmA }],
    needs: [],
    skipped: 0,
    state: { [cmKey]: rvB },
  },
  {
    name: 'put at the cached rv is a duplicate: skipped, no change',
    given: [[put(cmKey, cmA)]],
    batch: [put(cmKey, cmA)],
    changes: [],
    needs: [],
    skipped: 1,
    state: { [cmKey]: rvA },
  },
  {
    name: 'patch at baseRv applies the merge patch',
    given: [[put(cmKey, cmA)]],
    batch: [{ op: 'patch', key: cmKey, baseRv: rvA, rv: rvB, patch: patchAB }],
    changes: [{ type: 'put', key: cmKey, rv: rvB, obj: cmB, previous: cmA }],
    needs: [],
    skipped: 0,
    state: { [cmKey]: rvB },
  },
  {
    name: 'patch on another rv applies nothing and needs the key',
    given: [[put(cmKey, cmA)]],
    batch: [{ op: 'patch', key: cmKey, baseRv: 'someOtherRv00000', rv: rvB, patch: patchAB }],
    changes: [],
    needs: [cmKey],
    skipped: 0,
    state: { [cmKey]: rvA },
  },
  {
    name: 'patch of an absent key needs the key',
    given: [],
    batch: [{ op: 'patch', key: cmKey, baseRv: rvA, rv: rvB, patch: patchAB }],
    changes: [],
    needs: [cmKey],
    skipped: 0,
    state: {},
  },
  {
    name: 'patch whose rv is already cached is a duplicate, whatever its base',
    given: [[put(cmKey, cmB)]],
    batch: [{ op: 'patch', key: cmKey, baseRv: rvA, rv: rvB, patch: patchAB }],
    changes: [],
    needs: [],
    skipped: 1,
    state: { [cmKey]: rvB },
  },
  {
    name: 'del removes the object and reports it',
    given: [[put(cmKey, cmA), put(podKey, webPod)]],
    batch: [{ op: 'del', key: cmKey }],
    changes: [{ type: 'del', key: cmKey, previous: cmA }],
    needs: [],
    skipped: 0,
    state: { [podKey]: contentVersion(webPod) },
  },
  {
    name: 'del of an absent key is a no-op',
    given: [[put(podKey, webPod)]],
    batch: [{ op: 'del', key: cmKey }],
    changes: [],
    needs: [],
    skipped: 1,
    state: { [podKey]: contentVersion(webPod) },
  },
  {
    name: 'ops apply in order: a patch sees the put before it in the same batch',
    given: [],
    batch: [put(cmKey, cmA), { op: 'patch', key: cmKey, baseRv: rvA, rv: rvB, patch: patchAB }],
    changes: [
      { type: 'put', key: cmKey, rv: rvA, obj: cmA },
      { type: 'put', key: cmKey, rv: rvB, obj: cmB, previous: cmA },
    ],
    needs: [],
    skipped: 0,
    state: { [cmKey]: rvB },
  },
  {
    name: 'a key put later in the batch is no longer needed',
    given: [],
    batch: [{ op: 'patch', key: cmKey, baseRv: rvA, rv: rvB, patch: patchAB }, put(cmKey, cmB)],
    changes: [{ type: 'put', key: cmKey, rv: rvB, obj: cmB }],
    needs: [],
    skipped: 0,
    state: { [cmKey]: rvB },
  },
  {
    name: 'the same put twice in one batch: the second is a duplicate',
    given: [],
    batch: [put(cmKey, cmA), put(cmKey, cmA)],
    changes: [{ type: 'put', key: cmKey, rv: rvA, obj: cmA }],
    needs: [],
    skipped: 1,
    state: { [cmKey]: rvA },
  },
  {
    name: 'del then put of one key in one batch',
    given: [[put(cmKey, cmA)]],
    batch: [{ op: 'del', key: cmKey }, put(cmKey, cmB)],
    changes: [
      { type: 'del', key: cmKey, previous: cmA },
      { type: 'put', key: cmKey, rv: rvB, obj: cmB },
    ],
    needs: [],
    skipped: 0,
    state: { [cmKey]: rvB },
  },
  {
    name: 'a Secret is patched like any object',
    given: [[put(secKey, sec)]],
    batch: [{ op: 'patch', key: secKey, baseRv: contentVersion(sec), rv: contentVersion(secNext), patch: mergePatch.diff(sec, secNext) as JsonObject }],
    changes: [{ type: 'put', key: secKey, rv: contentVersion(secNext), obj: secNext, previous: sec }],
    needs: [],
    skipped: 0,
    state: { [secKey]: contentVersion(secNext) },
  },
  {
    name: 'a mixed batch: changes, needs and duplicates side by side',
    given: [[put(cmKey, cmA), put(podKey, webPod)]],
    batch: [
      put(podKey, webPod),
      { op: 'patch', key: cmKey, baseRv: 'notTheCachedRv00', rv: rvB, patch: patchAB },
      put(secKey, sec),
      { op: 'del', key: 'Pod/default/gone' },
    ],
    changes: [{ type: 'put', key: secKey, rv: contentVersion(sec), obj: sec }],
    needs: [cmKey],
    skipped: 2,
    state: { [cmKey]: rvA, [podKey]: contentVersion(webPod), [secKey]: contentVersion(sec) },
  },
];

function stateOf(cache: SyncCache): Record<string, string> {
  return Object.fromEntries(cache.entries());
}

describe.each(implementations)('SyncCache contract: $name', (impl) => {
  it.each(cases)('$name', (testCase) => {
    const cache = impl.create();
    for (const batch of testCase.given) cache.apply(batch);
    const heard: PlainChange[][] = [];
    cache.onChange((changes) => heard.push(changes.map(plainChange)));

    const result = cache.apply(testCase.batch);

    expect(result.changes.map(plainChange)).toEqual(testCase.changes);
    expect(result.needs).toEqual(testCase.needs);
    expect(result.skipped).toBe(testCase.skipped);
    expect(heard).toEqual(testCase.changes.length > 0 ? [testCase.changes] : []);
    expect(stateOf(cache)).toEqual(testCase.state);
    expect(cache.size).toBe(Object.keys(testCase.state).length);
    expect(cache.digest()).toBe(cacheDigest(Object.entries(testCase.state)));
    for (const [key, rv] of Object.entries(testCase.state)) {
      expect(cache.rvOf(key)).toBe(rv);
      expect(contentVersion(cache.get(key) as JsonObject)).toBe(rv);
    }
  });

  it('every change names its object\'s kind, and keysOfKind lists the keys of one kind', () => {
    const cache = impl.create();
    const heard: string[] = [];
    cache.onChange((changes) => heard.push(...changes.map((change) => `${change.type} ${change.kind} ${change.key}`)));
    const result = cache.apply([put(cmKey, cmA), put(podKey, webPod), put(secKey, sec)]);
    expect(result.changes.map((change: CacheChange) => change.kind)).toEqual(['ConfigMap', 'Pod', 'Secret']);
    // A replacing put, a patch and a delete name it too.
    cache.apply([put(cmKey, cmB), { op: 'patch', key: podKey, baseRv: contentVersion(webPod), rv: 'rv-patched', patch: { metadata: { labels: { tier: 'x' } } } }, { op: 'del', key: secKey }]);
    expect(heard).toEqual([`put ConfigMap ${cmKey}`, `put Pod ${podKey}`, `put Secret ${secKey}`, `put ConfigMap ${cmKey}`, `put Pod ${podKey}`, `del Secret ${secKey}`]);
    expect([...cache.keysOfKind('Pod')]).toEqual([podKey]);
    expect([...cache.keysOfKind('ConfigMap')]).toEqual([cmKey]);
    expect([...cache.keysOfKind('Secret')]).toEqual([]);
    // A kind is matched whole, not as a prefix of another.
    cache.apply([put('ConfigMapX/default/x', { ...configMap('x', {}), kind: 'ConfigMapX' })]);
    expect([...cache.keysOfKind('ConfigMap')]).toEqual([cmKey]);
  });

  it('starts empty with the empty digest', () => {
    const cache = impl.create();
    expect(cache.size).toBe(0);
    expect(cache.digest()).toBe(EMPTY_DIGEST);
    expect([...cache.entries()]).toEqual([]);
    expect(cache.get(cmKey)).toBeUndefined();
    expect(cache.rvOf(cmKey)).toBeUndefined();
  });

  it('a batch with a failing op applies nothing and tells no listener', () => {
    const cache = impl.create();
    cache.apply([put(cmKey, cmA)]);
    const digest = cache.digest();
    const heard: unknown[] = [];
    cache.onChange((changes) => heard.push(changes));

    expect(() => cache.apply([put(podKey, webPod), { op: 'del', key: cmKey }, put('not-a-key', cmB)])).toThrow(/invalid key/);

    expect(heard).toEqual([]);
    expect(cache.digest()).toBe(digest);
    expect(stateOf(cache)).toEqual({ [cmKey]: rvA });
    expect(cache.get(podKey)).toBeUndefined();
    expect(cache.get(cmKey)).toEqual(cmA);
    // and the cache still works
    expect(cache.apply([put(podKey, webPod)]).changes).toHaveLength(1);
  });

  it('listeners run after the change is visible, and each hears every batch once', () => {
    const cache = impl.create();
    const seen: Array<{ rv: string | undefined; digest: string }> = [];
    cache.onChange(() => seen.push({ rv: cache.rvOf(cmKey), digest: cache.digest() }));
    cache.apply([put(cmKey, cmA)]);
    cache.apply([put(cmKey, cmA)]); // duplicate: no event
    cache.apply([put(cmKey, cmB)]);
    expect(seen).toEqual([
      { rv: rvA, digest: cacheDigest([[cmKey, rvA]]) },
      { rv: rvB, digest: cacheDigest([[cmKey, rvB]]) },
    ]);
  });

  it('a listener that throws reaches onListenerError, not apply, and the others still hear the batch', () => {
    const errors: unknown[] = [];
    const cache = impl.create((error) => errors.push(error));
    const heard: string[] = [];
    cache.onChange(() => {
      throw new Error('listener bug');
    });
    cache.onChange((changes) => heard.push(changes[0]?.key ?? ''));
    const result = cache.apply([put(cmKey, cmA)]);
    expect(result.changes).toHaveLength(1);
    expect(heard).toEqual([cmKey]);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('listener bug');
    expect(cache.rvOf(cmKey)).toBe(rvA);
  });

  it('unsubscribing stops delivery, also from inside a delivery', () => {
    const cache = impl.create();
    const heard: string[] = [];
    const stopSecond = { fn: (): void => undefined };
    const stopFirst = cache.onChange(() => {
      heard.push('first');
      stopSecond.fn();
    });
    stopSecond.fn = cache.onChange(() => heard.push('second'));
    cache.apply([put(cmKey, cmA)]);
    cache.apply([put(cmKey, cmB)]);
    stopFirst();
    cache.apply([put(podKey, webPod)]);
    // The batch being delivered when `second` unsubscribed still reached it; later ones did not.
    expect(heard).toEqual(['first', 'second', 'first']);
  });

  it('digest is cacheDigest of entries after every batch of a random history', () => {
    const keys = ['ConfigMap/default/a', 'ConfigMap/kube-system/b', 'Pod/default/c', 'Secret/default/d', 'Node//edge-1'];
    const opArb = fc.oneof(
      fc.record({ op: fc.constant('put' as const), key: fc.constantFrom(...keys), value: fc.string({ maxLength: 8 }) }),
      fc.record({ op: fc.constant('del' as const), key: fc.constantFrom(...keys) }),
    );
    fc.assert(
      fc.property(fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { maxLength: 8 }), (batches) => {
        const cache = impl.create();
        for (const batch of batches) {
          const ops: SyncOp[] = batch.map((op) => (op.op === 'del' ? { op: 'del', key: op.key } : put(op.key, configMap('x', { v: op.value }))));
          const digestBefore = cache.digest();
          const result = cache.apply(ops);
          expect(cache.digest()).toBe(cacheDigest([...cache.entries()]));
          if (result.changes.length === 0) expect(cache.digest()).toBe(digestBefore);
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('MemoryCache and CacheStore agree', () => {
  it('the same random batches leave the same digest, rvs, objects and results', () => {
    const keys = ['ConfigMap/default/a', 'Pod/default/b', 'Secret/default/c'];
    const opArb = fc.oneof(
      fc.record({ op: fc.constant('put' as const), key: fc.constantFrom(...keys), value: fc.constantFrom('1', '2', '3') }),
      fc.record({ op: fc.constant('patch' as const), key: fc.constantFrom(...keys), from: fc.constantFrom('1', '2', '3'), value: fc.constantFrom('1', '2', '3') }),
      fc.record({ op: fc.constant('del' as const), key: fc.constantFrom(...keys) }),
    );
    const toOp = (op: { op: 'put' | 'patch' | 'del'; key: string; value?: string; from?: string }): SyncOp => {
      if (op.op === 'del') return { op: 'del', key: op.key };
      const to = configMap('x', { v: op.value ?? '' });
      if (op.op === 'put') return put(op.key, to);
      const from = configMap('x', { v: op.from ?? '' });
      return { op: 'patch', key: op.key, baseRv: contentVersion(from), rv: contentVersion(to), patch: mergePatch.diff(from, to) as JsonObject };
    };
    fc.assert(
      fc.property(fc.array(fc.array(opArb, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 10 }), (batches) => {
        const memory = implementations[0]!.create();
        const sqlite = implementations[1]!.create();
        for (const batch of batches) {
          const ops = batch.map(toOp);
          const a = memory.apply(ops);
          const b = sqlite.apply(ops);
          expect(plainResult(b)).toEqual(plainResult(a));
          expect(sqlite.digest()).toBe(memory.digest());
        }
        for (const [key] of memory.entries()) expect(sqlite.get(key)).toEqual(memory.get(key));
        for (const dir of storeDirs.splice(0)) dir.cleanup();
      }),
      { numRuns: 30 },
    );
  });
});
