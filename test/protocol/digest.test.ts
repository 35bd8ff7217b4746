import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_DIGEST, cacheDigest, canonicalJson, contentVersion, mapDigest, type CacheEntry } from '../../protocol/index.js';

const entries = fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ minLength: 1, maxLength: 8 })), {
  minLength: 1,
  maxLength: 50,
  selector: (entry) => entry[0],
});

describe('cache digest', () => {
  it('does not depend on input order', () => {
    fc.assert(
      fc.property(entries, fc.nat(), (list, seed) => {
        const shuffled = [...list].sort((a, b) => ((a[0].length * 31 + seed) % 7) - ((b[0].length * 31 + seed) % 7) || (a[0] < b[0] ? 1 : -1));
        expect(cacheDigest(shuffled as CacheEntry[])).toBe(cacheDigest(list as CacheEntry[]));
        expect(mapDigest(new Map(shuffled))).toBe(cacheDigest(list as CacheEntry[]));
      }),
      { numRuns: 500 },
    );
  });

  it('changes when any rv changes', () => {
    fc.assert(
      fc.property(entries, fc.nat(), (list, pick) => {
        const index = pick % list.length;
        const changed = list.map(([key, rv], i) => [key, i === index ? `${rv}x` : rv] as CacheEntry);
        expect(cacheDigest(changed)).not.toBe(cacheDigest(list as CacheEntry[]));
      }),
      { numRuns: 500 },
    );
  });

  it('changes when any key changes, is added or is removed', () => {
    fc.assert(
      fc.property(entries, fc.nat(), (list, pick) => {
        const index = pick % list.length;
        const renamed = list.map(([key, rv], i) => [i === index ? `${key}\u0000renamed` : key, rv] as CacheEntry);
        expect(cacheDigest(renamed)).not.toBe(cacheDigest(list as CacheEntry[]));
        expect(cacheDigest(list.filter((_, i) => i !== index) as CacheEntry[])).not.toBe(cacheDigest(list as CacheEntry[]));
      }),
      { numRuns: 500 },
    );
  });

  it('has a fixed value for the empty cache', () => {
    expect(cacheDigest([])).toBe(EMPTY_DIGEST);
    expect(EMPTY_DIGEST).toBe('47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU');
  });
});

describe('content version', () => {
  it('ignores member order and metadata.resourceVersion', () => {
    const a = { kind: 'ConfigMap', metadata: { name: 'c', resourceVersion: '10' }, data: { x: '1', y: '2' } };
    const b = { data: { y: '2', x: '1' }, metadata: { resourceVersion: '99', name: 'c' }, kind: 'ConfigMap' };
    expect(contentVersion(a)).toBe(contentVersion(b));
    expect(contentVersion(a)).toHaveLength(16);
  });

  it('changes with any other content', () => {
    const a = { metadata: { name: 'c' }, data: { x: '1' } };
    expect(contentVersion({ ...a, data: { x: '2' } })).not.toBe(contentVersion(a));
    expect(contentVersion({ ...a, metadata: { name: 'c', uid: 'u' } })).not.toBe(contentVersion(a));
  });

  it('canonical JSON sorts nested members but keeps array order', () => {
    expect(canonicalJson({ b: [{ d: 1, c: 2 }, 3], a: null })).toBe('{"a":null,"b":[{"c":2,"d":1},3]}');
  });
});
