import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { jsonEqual } from '../../protocol/index.js';

/** Small JSON values so that two drawn independently are often equal or nearly so. */
const small = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -0, 1, 'a', 'b', ''),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('value'), { maxKeys: 3 }),
  ),
})).value;

describe('jsonEqual', () => {
  it('answers as isDeepStrictEqual for JSON values, equal or not', () => {
    fc.assert(fc.property(small, small, (a, b) => jsonEqual(a, b) === isDeepStrictEqual(a, b)), { numRuns: 3000 });
    fc.assert(fc.property(fc.jsonValue(), (a) => jsonEqual(a, structuredClone(a))));
  });

  it('ignores key order, tells -0 from 0, an undefined member from a missing one, arrays from objects', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: -0 }, { a: 0 })).toBe(false);
    expect(jsonEqual({ a: undefined }, {})).toBe(false);
    expect(jsonEqual({ a: undefined }, { b: undefined })).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual({ 0: 'x' }, ['x'])).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
  });
});
