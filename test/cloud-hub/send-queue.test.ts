/**
 * SendQueue: keys in the order first marked, one entry per key with its first event time, and
 * (now that its map exists only while something is pending) the same after it ran empty.
 */
import { describe, expect, it } from 'vitest';
import { SendQueue } from '../../cloud-hub/session/send-queue.js';

describe('SendQueue', () => {
  it('takes keys in the order first marked, keeping the first event time of a key marked again', () => {
    const queue = new SendQueue();
    expect(queue.size).toBe(0);
    expect(queue.take()).toBeUndefined();
    queue.mark('Pod/ns/a', 1);
    queue.mark('ConfigMap/ns/b', 2);
    queue.mark('Pod/ns/a', 3);
    expect(queue.size).toBe(2);
    expect(queue.has('Pod/ns/a')).toBe(true);
    expect(queue.take()).toEqual(['Pod/ns/a', 1]);
    expect(queue.has('Pod/ns/a')).toBe(false);
    expect(queue.take()).toEqual(['ConfigMap/ns/b', 2]);
    expect(queue.size).toBe(0);
    expect(queue.take()).toBeUndefined();
  });

  it('works the same after it ran empty and after clear', () => {
    const queue = new SendQueue();
    queue.mark('a', 1);
    expect(queue.take()).toEqual(['a', 1]);
    queue.mark('b', 2);
    queue.mark('c', 3);
    expect(queue.size).toBe(2);
    expect(queue.take()).toEqual(['b', 2]);
    queue.clear();
    expect(queue.size).toBe(0);
    expect(queue.has('c')).toBe(false);
    expect(queue.take()).toBeUndefined();
    queue.mark('d', 4);
    expect(queue.take()).toEqual(['d', 4]);
  });
});
