/** Both caches refuse, op by op, what may not be stored: names that would become paths, bodies that are not what their key says, JSON nested too deep. */
import { afterEach, describe, expect, it } from 'vitest';
import { contentVersion, type JsonObject, type SyncOp } from '../../../protocol/index.js';
import { depthError, keyNameError, MemoryCache, objectError, type SyncCache } from '../../../edge-agent/store/index.js';
import { configMap, plainResult, put, StoreDir } from './helpers.js';

const dirs: StoreDir[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.cleanup();
});

function caches(): Array<[string, SyncCache]> {
  const dir = new StoreDir();
  dirs.push(dir);
  return [
    ['MemoryCache', new MemoryCache()],
    ['CacheStore', dir.store],
  ];
}

describe('object rules', () => {
  it('names: namespaces are DNS-1123 labels, names of the cached kinds DNS-1123 subdomains, other kinds path-segment safe', () => {
    expect(keyNameError('Pod/default/web-0')).toBeUndefined();
    expect(keyNameError('Node//edge-1.site')).toBeUndefined();
    expect(keyNameError('Widget/ns/Any_Name:1')).toBeUndefined();
    for (const key of ['Pod/../x', 'Pod/ns/..', 'Pod/ns/.', 'Pod/NS/x', 'Pod/ns/X', 'Pod//x', 'Node/ns/n', 'Secret/ns/a%2f', `ConfigMap/${'n'.repeat(64)}/x`, `ConfigMap/ns/${'a'.repeat(254)}`, 'Widget/ns/..', 'Widget/ns/a%b', `Widget/ns/${'a'.repeat(254)}`]) {
      expect(keyNameError(key), key).toBeDefined();
    }
  });

  it('depth is checked without recursion limits: a million levels is an answer, not a stack overflow', () => {
    const deep = JSON.parse(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`) as JsonObject;
    expect(depthError(deep)).toBe('nested deeper than 100 levels');
    expect(depthError(JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) as JsonObject)).toBeUndefined();
    expect(depthError(JSON.parse(`${'['.repeat(101)}${']'.repeat(101)}`) as JsonObject)).toBeDefined();
    expect(objectError('ConfigMap/ns/a', { metadata: { name: 'a', namespace: 'ns' }, data: deep })).toMatch(/nested deeper/);
  });

  it('both caches refuse the same ops, apply the rest of the batch, and keep what a refused key held', () => {
    for (const [which, cache] of caches()) {
      const held = configMap('a', { v: '1' }, 'ns');
      cache.apply([put('ConfigMap/ns/a', held)]);
      const ops: SyncOp[] = [
        put('ConfigMap/ns/a', configMap('b', {}, 'ns')),
        put('ConfigMap/ns/fine', configMap('fine', {}, 'ns')),
        { op: 'patch', key: 'ConfigMap/ns/a', baseRv: contentVersion(held), rv: 'moved', patch: { metadata: { namespace: 'other' } } },
        put('ConfigMap/other/x', configMap('x', {}, 'ns')),
        put('Pod/ns/p', { kind: 'ConfigMap', metadata: { name: 'p', namespace: 'ns' } }),
      ];
      const result = plainResult(cache.apply(ops));
      expect(result.refused.map((entry) => [entry.index, entry.op, entry.key]), which).toEqual([
        [0, 'put', 'ConfigMap/ns/a'],
        [2, 'patch', 'ConfigMap/ns/a'],
        [3, 'put', 'ConfigMap/other/x'],
        [4, 'put', 'Pod/ns/p'],
      ]);
      expect(result.refused[1]!.reason).toMatch(/^after the patch, metadata.namespace "other" does not match/);
      expect(result.refused[0]!.rv).toBe((ops[0] as { rv: string }).rv);
      expect(result.changes.map((change) => change.key), which).toEqual(['ConfigMap/ns/fine']);
      expect(cache.get('ConfigMap/ns/a'), which).toEqual(held);
      expect([...cache.entries()].map(([key]) => key).sort(), which).toEqual(['ConfigMap/ns/a', 'ConfigMap/ns/fine']);
    }
  });
});
