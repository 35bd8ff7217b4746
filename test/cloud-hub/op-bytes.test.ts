import { describe, expect, it } from 'vitest';
import { SharedOpBytes } from '../../cloud-hub/session/op-bytes.js';

describe('SharedOpBytes', () => {
  it('encodes an op once and hands every caller the same bytes', () => {
    const shared = new SharedOpBytes();
    const op = '{"op":"patch","key":"ConfigMap/default/ü","rv":"2","baseRv":"1","patch":{"data":{"a":"b"}}}';
    const first = shared.of(op);
    expect(first.toString('utf8')).toBe(op);
    expect(shared.of(op)).toBe(first);
    expect(shared.size).toBe(1);
  });

  it('keeps at most its bound, dropping the oldest first', () => {
    const shared = new SharedOpBytes(2);
    const a = shared.of('"a"');
    shared.of('"b"');
    shared.of('"c"');
    expect(shared.size).toBe(2);
    // "a" went first: asking again encodes it anew.
    expect(shared.of('"a"')).not.toBe(a);
    expect(shared.of('"a"').toString()).toBe('"a"');
  });
});
