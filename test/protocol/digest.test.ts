import fc from 'fast-check';
import { createHash } from 'node:crypto';
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

  it('is the first 16 base64url characters of SHA-256 over the canonical JSON (caches and replicas of other versions agree)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const json = value as Parameters<typeof contentVersion>[0];
        const text = createHash('sha256').update(canonicalJson(json, true)).digest('base64url').slice(0, 16);
        expect(contentVersion(json)).toBe(text);
      }),
    );
  });

  it('changes with any other content', () => {
    const a = { metadata: { name: 'c' }, data: { x: '1' } };
    expect(contentVersion({ ...a, data: { x: '2' } })).not.toBe(contentVersion(a));
    expect(contentVersion({ ...a, metadata: { name: 'c', uid: 'u' } })).not.toBe(contentVersion(a));
  });

  it('canonical JSON sorts nested members but keeps array order', () => {
    expect(canonicalJson({ b: [{ d: 1, c: 2 }, 3], a: null })).toBe('{"a":null,"b":[{"c":2,"d":1},3]}');
  });

  it('stays the version every hub and agent already agree on (a fixed object, a fixed rv)', () => {
    // Computed by the release before canonicalJson was rewritten for speed: content versions
    // are compared across hub restarts and versions, so the bytes hashed must never change.
    const pod = { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '7', name: 'web-0', namespace: 'default', labels: { b: '2', a: 'ü' } }, spec: { containers: [{ name: 'app', image: 'x', args: ['a', 1, true, null, 2.5] }] } };
    expect(canonicalJson(pod, true)).toBe('{"apiVersion":"v1","kind":"Pod","metadata":{"labels":{"a":"ü","b":"2"},"name":"web-0","namespace":"default"},"spec":{"containers":[{"args":["a",1,true,null,2.5],"image":"x","name":"app"}]}}');
    expect(contentVersion(pod)).toBe('wW8-Jw9CW-6Uy9cL');
  });

  it('canonical JSON is the plain recursive definition for any JSON value', () => {
    // The definition: members sorted by code unit, arrays in order, metadata.resourceVersion left
    // out at the top only when asked.
    const reference = (value: unknown, skip = false): string => {
      if (Array.isArray(value)) return `[${value.map((item) => reference(item)).join(',')}]`;
      if (typeof value !== 'object' || value === null) return JSON.stringify(value);
      return `{${Object.keys(value)
        .sort()
        .map((name) => {
          let member = (value as Record<string, unknown>)[name];
          if (skip && name === 'metadata' && typeof member === 'object' && member !== null && !Array.isArray(member)) {
            const { resourceVersion: _rv, ...rest } = member as Record<string, unknown>;
            member = rest;
          }
          return `${JSON.stringify(name)}:${reference(member)}`;
        })
        .join(',')}}`;
    };
    const withMetadata = fc.record({ metadata: fc.dictionary(fc.oneof(fc.constant('resourceVersion'), fc.string()), fc.jsonValue()), rest: fc.jsonValue() });
    fc.assert(
      fc.property(fc.jsonValue(), withMetadata, fc.boolean(), (value, meta, skip) => {
        expect(canonicalJson(value as never, skip)).toBe(reference(value, skip));
        expect(canonicalJson(meta as never, skip)).toBe(reference(meta, skip));
      }),
      { numRuns: 500 },
    );
  });
});
