import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergePatch, type JsonValue } from '../../protocol/index.js';

describe('merge patch apply (RFC 7386 appendix A)', () => {
  it.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ] as [JsonValue, JsonValue, JsonValue][])('apply(%j, %j) = %j', (target, patch, expected) => {
    const before = structuredClone(target);
    expect(mergePatch.apply(target, patch)).toEqual(expected);
    expect(target).toEqual(before);
  });

  it('treats a __proto__ member as data, never as a prototype', () => {
    const patch = JSON.parse('{"__proto__":{"polluted":true}}') as JsonValue;
    const result = mergePatch.apply({}, patch) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.hasOwn(result, '__proto__')).toBe(true);
  });
});

/** JSON documents whose objects hold no null members: every such target is reachable by a merge patch. */
const noNullMembers = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    fc.boolean(),
    fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
    tie('object'),
  ),
  object: fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 5 }),
})).object as fc.Arbitrary<JsonValue>;

describe('merge patch diff', () => {
  it('apply(a, diff(a, b)) deep-equals b for random documents without null members', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), noNullMembers, (a, b) => {
        const patch = mergePatch.diff(a as JsonValue, b);
        expect(patch).not.toBeUndefined();
        expect(mergePatch.apply(a as JsonValue, patch as JsonValue)).toEqual(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('for any pair, a patch it returns is correct, and undefined only when b has a null member', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 4 }), (a, b) => {
        const patch = mergePatch.diff(a as JsonValue, b as JsonValue);
        if (patch === undefined) {
          expect(JSON.stringify(b)).toContain('null');
        } else {
          expect(mergePatch.apply(a as JsonValue, patch)).toEqual(b);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('sends only what changed in a Pod update', () => {
    const before = { metadata: { name: 'p', labels: { a: '1', b: '2' } }, spec: { containers: [{ name: 'c', image: 'x:1' }] } };
    const after = { metadata: { name: 'p', labels: { a: '1', c: '3' } }, spec: { containers: [{ name: 'c', image: 'x:2' }] } };
    expect(mergePatch.diff(before, after)).toEqual({
      metadata: { labels: { b: null, c: '3' } },
      spec: { containers: [{ name: 'c', image: 'x:2' }] },
    });
    expect(mergePatch.diff(after, after)).toEqual({});
  });

  it('refuses to express a member that becomes null', () => {
    expect(mergePatch.diff({ a: 1 }, { a: null })).toBeUndefined();
    expect(mergePatch.diff({}, { a: { b: null } })).toBeUndefined();
  });
});
