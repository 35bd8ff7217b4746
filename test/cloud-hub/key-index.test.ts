/** KeyIndex: owner -> members, a member held directly until the second one arrives. */
import { describe, expect, it } from 'vitest';
import { KeyIndex } from '../../cloud-hub/fleet/key-index.js';

describe('KeyIndex', () => {
  it('keeps members through one, many and back to one and none, ignoring repeats and strangers', () => {
    const index = new KeyIndex();
    expect([...index.members('cm')]).toEqual([]);
    index.add('cm', 'node-a');
    index.add('cm', 'node-a');
    expect([...index.members('cm')]).toEqual(['node-a']);
    expect(index.count('cm')).toBe(1);
    index.remove('cm', 'node-b');
    expect(index.count('cm')).toBe(1);
    index.add('cm', 'node-b');
    index.add('cm', 'node-c');
    index.add('cm', 'node-b');
    expect([...index.members('cm')].sort()).toEqual(['node-a', 'node-b', 'node-c']);
    expect(index.count('cm')).toBe(3);
    index.remove('cm', 'node-a');
    index.remove('cm', 'node-c');
    expect([...index.members('cm')]).toEqual(['node-b']);
    // Back to a single member: adding another makes a set again, with both.
    index.add('cm', 'node-d');
    expect([...index.members('cm')].sort()).toEqual(['node-b', 'node-d']);
    index.remove('cm', 'node-b');
    index.remove('cm', 'node-d');
    expect(index.count('cm')).toBe(0);
    expect([...index.members('cm')]).toEqual([]);
    expect([...index.members('other')]).toEqual([]);
  });

  it('keeps owners apart', () => {
    const index = new KeyIndex();
    index.add('a', 'x');
    index.add('b', 'x');
    index.add('b', 'y');
    index.remove('a', 'x');
    expect(index.count('a')).toBe(0);
    expect([...index.members('b')]).toEqual(['x', 'y']);
  });
});
