/** A list answer spliced from stored texts reads exactly as the same list serialised from objects. */
import { describe, expect, it } from 'vitest';
import { listText, withoutTypeMeta } from '../../../cloud-hub/apiserver/responses.js';
import type { JsonObject } from '../../../protocol/index.js';

const list = { kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '42', continue: 'abc', remainingItemCount: 3 } };

describe('listText', () => {
  it('drops kind and apiVersion from every item, wherever the stored text has them, and keeps all else as stored', () => {
    const items: JsonObject[] = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'first', resourceVersion: '7' }, data: { a: 'é "quoted" \u2028' } },
      { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'second' } },
      { metadata: { name: 'third' }, data: { kind: 'not the type' }, kind: 'ConfigMap', apiVersion: 'v1' },
      { metadata: { name: 'fourth' } },
    ];
    const text = listText(list, items.map((item) => JSON.stringify(item)), 'v1', 'ConfigMap');
    expect(text).toBe(JSON.stringify({ ...list, items: items.map(withoutTypeMeta) }));
    expect((JSON.parse(text) as { items: JsonObject[] }).items.map((item) => Object.keys(item))).toEqual([['metadata', 'data'], ['metadata'], ['metadata', 'data'], ['metadata']]);
  });

  it('does not slice a prefix of another kind or version', () => {
    const stored = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMapX', metadata: { name: 'odd' } });
    expect(JSON.parse(listText(list, [stored], 'v1', 'ConfigMap'))).toMatchObject({ items: [{ metadata: { name: 'odd' } }] });
    expect((JSON.parse(listText(list, [stored], 'v1', 'ConfigMap')) as { items: JsonObject[] }).items[0]).not.toHaveProperty('kind');
    expect(listText({ ...list, metadata: { resourceVersion: '1' } }, [], 'v1', 'ConfigMap')).toBe('{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}');
  });
});
