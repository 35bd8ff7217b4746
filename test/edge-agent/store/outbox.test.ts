/** The upstream outbox: send order, dedupe, expiry, the byte budget and its counters, persistence. */
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import { Outbox, type OutboxInput } from '../../../edge-agent/store/index.js';
import { StoreDir } from './helpers.js';

const dirs: StoreDir[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.cleanup();
});

/** An outbox on a fresh store, with a clock the test moves. */
function setup(maxBytes?: number): { dir: StoreDir; outbox: Outbox; clock: { now: number }; reopen(): Outbox } {
  const clock = { now: 1_000_000 };
  const dir = new StoreDir({ now: () => clock.now });
  dirs.push(dir);
  const options = { now: () => clock.now, ...(maxBytes === undefined ? {} : { maxBytes }) };
  return { dir, clock, outbox: new Outbox(dir.store.db, options), reopen: () => new Outbox(dir.reopen().db, options) };
}

/** A body of exactly `bytes` bytes of JSON. */
function bodyOf(bytes: number, tag: string): JsonObject {
  const base = JSON.stringify({ tag, pad: '' }).length;
  return { tag, pad: 'x'.repeat(bytes - base) };
}

function event(tag: string, priority: number, extra: Partial<OutboxInput> = {}): OutboxInput {
  return { kind: 'event', priority, body: { tag }, ...extra };
}

const tags = (outbox: Outbox, limit = 100): string[] => outbox.peek(limit).map((item) => String(item.body.tag));

describe('Outbox', () => {
  it('hands rows out by priority, high first, then oldest first', () => {
    const { outbox, clock } = setup();
    outbox.add(event('low-old', 1));
    clock.now += 1;
    outbox.add(event('high-old', 7));
    clock.now += 1;
    outbox.add(event('low-new', 1));
    outbox.add(event('high-new', 7)); // same ms as low-new: insertion order breaks the tie
    outbox.add(event('top', 9));
    expect(tags(outbox)).toEqual(['top', 'high-old', 'high-new', 'low-old', 'low-new']);
    expect(tags(outbox, 2)).toEqual(['top', 'high-old']);
    const [first] = outbox.peek(1);
    expect(first).toMatchObject({ kind: 'event', priority: 9, created: clock.now, body: { tag: 'top' }, bytes: JSON.stringify({ tag: 'top' }).length });
    expect(first?.expires).toBeUndefined();
    expect(first?.dedupe).toBeUndefined();
  });

  it('peek stops at maxBytes, but always returns one row', () => {
    const { outbox } = setup();
    outbox.add({ kind: 'event', priority: 5, body: bodyOf(400, 'a') });
    outbox.add({ kind: 'event', priority: 5, body: bodyOf(400, 'b') });
    outbox.add({ kind: 'event', priority: 5, body: bodyOf(100, 'c') });
    expect(outbox.peek(10, 900).map((item) => item.body.tag)).toEqual(['a', 'b', 'c']);
    expect(outbox.peek(10, 899).map((item) => item.body.tag)).toEqual(['a', 'b']);
    expect(outbox.peek(10, 799).map((item) => item.body.tag)).toEqual(['a']);
    expect(outbox.peek(10, 10).map((item) => item.body.tag)).toEqual(['a']);
    expect(outbox.peek(0)).toEqual([]);
  });

  it('remove takes rows by id, ignores unknown ids, and counts', () => {
    const { outbox } = setup();
    const a = outbox.add(event('a', 1)) as number;
    const b = outbox.add(event('b', 1)) as number;
    expect(outbox.remove([a, 12345])).toBe(1);
    expect(outbox.remove([a])).toBe(0);
    expect(tags(outbox)).toEqual(['b']);
    expect(outbox.size).toBe(1);
    expect(outbox.bytes).toBe(JSON.stringify({ tag: 'b' }).length);
    expect(outbox.counters).toMatchObject({ added: 2, removed: 1 });
    expect(outbox.remove([b])).toBe(1);
    expect(outbox.size).toBe(0);
    expect(outbox.bytes).toBe(0);
  });

  it('a dedupe key replaces the earlier row: new id, same place in the queue', () => {
    const { outbox, clock } = setup();
    const first = outbox.add({ kind: 'status', priority: 5, body: { pod: 'web', phase: 'Pending' }, dedupe: 'pod/default/web' }) as number;
    clock.now += 10;
    outbox.add({ kind: 'status', priority: 5, body: { pod: 'db', phase: 'Running' }, dedupe: 'pod/default/db' });
    clock.now += 10;
    const second = outbox.add({ kind: 'status', priority: 5, body: { pod: 'web', phase: 'Running' }, dedupe: 'pod/default/web' }) as number;

    expect(second).not.toBe(first);
    const items = outbox.peek(10);
    expect(items.map((item) => [item.id, item.body.pod, item.body.phase])).toEqual([
      [second, 'web', 'Running'],
      [first + 1, 'db', 'Running'],
    ]);
    expect(items[0]).toMatchObject({ created: 1_000_000, dedupe: 'pod/default/web' });
    // An ack for the replaced row does not remove its replacement.
    expect(outbox.remove([first])).toBe(0);
    expect(outbox.size).toBe(2);
    expect(outbox.counters).toEqual({ added: 3, replaced: 1, removed: 0, expired: 0, overflowed: 0 });
    // An empty dedupe key dedupes nothing.
    outbox.add(event('x', 1, { dedupe: '' }));
    outbox.add(event('x', 1, { dedupe: '' }));
    expect(outbox.size).toBe(4);
  });

  it('skips expired rows and expire() deletes them', () => {
    const { outbox, clock } = setup();
    outbox.add(event('soon', 5, { expires: clock.now + 100 }));
    outbox.add(event('later', 5, { expires: clock.now + 1000 }));
    outbox.add(event('never', 5));
    clock.now += 100;
    expect(tags(outbox)).toEqual(['later', 'never']);
    expect(outbox.size).toBe(3);
    expect(outbox.expire()).toBe(1);
    expect(outbox.expire()).toBe(0);
    expect(outbox.expire(clock.now + 5000)).toBe(1);
    expect(tags(outbox)).toEqual(['never']);
    expect(outbox.size).toBe(1);
    expect(outbox.counters.expired).toBe(2);
  });

  it('over budget, drops lowest priority first and oldest first within it', () => {
    const { outbox, clock } = setup(1000);
    outbox.add({ kind: 'event', priority: 5, body: bodyOf(200, 'p5-old') });
    clock.now += 1;
    outbox.add({ kind: 'event', priority: 2, body: bodyOf(200, 'p2-old') });
    clock.now += 1;
    outbox.add({ kind: 'event', priority: 5, body: bodyOf(200, 'p5-new') });
    clock.now += 1;
    outbox.add({ kind: 'event', priority: 2, body: bodyOf(200, 'p2-new') });
    clock.now += 1;
    outbox.add({ kind: 'event', priority: 8, body: bodyOf(200, 'p8') });
    expect(outbox.bytes).toBe(1000);

    outbox.add({ kind: 'event', priority: 5, body: bodyOf(300, 'p5-newest') }); // needs 300: both p2 rows go
    expect(tags(outbox)).toEqual(['p8', 'p5-old', 'p5-new', 'p5-newest']);
    expect(outbox.bytes).toBe(900);

    outbox.add({ kind: 'event', priority: 5, body: bodyOf(250, 'p5-last') }); // needs 150: the oldest p5 goes
    expect(tags(outbox)).toEqual(['p8', 'p5-new', 'p5-newest', 'p5-last']);
    expect(outbox.counters).toEqual({ added: 7, replaced: 0, removed: 0, expired: 0, overflowed: 3 });
    expect(outbox.size).toBe(4);
    expect(outbox.bytes).toBe(950);
  });

  it('never drops a higher-priority row for a lower one: the new row is refused', () => {
    const { outbox } = setup(1000);
    outbox.add({ kind: 'event', priority: 8, body: bodyOf(500, 'p8') });
    outbox.add({ kind: 'event', priority: 3, body: bodyOf(300, 'p3') });
    // 600 more needs 400 freed: only the p3 row (300) may go, which is not enough, so nothing
    // goes but the new row.
    expect(outbox.add({ kind: 'event', priority: 3, body: bodyOf(600, 'p3-new') })).toBeUndefined();
    expect(tags(outbox)).toEqual(['p8', 'p3']);
    expect(outbox.bytes).toBe(800);
    expect(outbox.add({ kind: 'event', priority: 1, body: bodyOf(300, 'p1') })).toBeUndefined();
    // A row bigger than the whole budget is refused outright.
    expect(outbox.add({ kind: 'event', priority: 9, body: bodyOf(1001, 'huge') })).toBeUndefined();
    expect(outbox.counters).toEqual({ added: 2, replaced: 0, removed: 0, expired: 0, overflowed: 3 });
    expect(outbox.size).toBe(2);
  });

  it('over budget, expired rows go before any live one', () => {
    const { outbox, clock } = setup(1000);
    outbox.add({ kind: 'event', priority: 1, body: bodyOf(500, 'live-p1') });
    outbox.add({ kind: 'event', priority: 9, body: bodyOf(500, 'dead-p9'), expires: clock.now + 10 });
    clock.now += 10;
    outbox.add({ kind: 'event', priority: 1, body: bodyOf(400, 'new-p1') });
    expect(tags(outbox)).toEqual(['live-p1', 'new-p1']);
    expect(outbox.counters).toMatchObject({ expired: 1, overflowed: 0 });
  });

  it('a refused replacement keeps the row it would have replaced', () => {
    const { outbox } = setup(1000);
    outbox.add({ kind: 'event', priority: 9, body: bodyOf(700, 'p9') });
    outbox.add({ kind: 'status', priority: 2, body: bodyOf(200, 'status-1'), dedupe: 'pod/a' });
    expect(outbox.add({ kind: 'status', priority: 2, body: bodyOf(400, 'status-2'), dedupe: 'pod/a' })).toBeUndefined();
    expect(tags(outbox)).toEqual(['p9', 'status-1']);
    expect(outbox.bytes).toBe(900);
  });

  it('keeps its rows across a reopen and never reuses an id', () => {
    const { outbox, reopen } = setup();
    outbox.add(event('a', 3));
    const b = outbox.add(event('b', 4)) as number;
    outbox.remove([b]);
    const again = reopen();
    expect(again.size).toBe(1);
    expect(again.bytes).toBe(JSON.stringify({ tag: 'a' }).length);
    expect(tags(again)).toEqual(['a']);
    expect(again.add(event('c', 3))).toBe(b + 1);
  });

  it('rejects a kind, priority or expiry outside the contract', () => {
    const { outbox } = setup();
    expect(() => outbox.add({ kind: 'other' as 'event', priority: 1, body: {} })).toThrow(/kind/);
    expect(() => outbox.add({ kind: 'event', priority: 10, body: {} })).toThrow(/priority/);
    expect(() => outbox.add({ kind: 'event', priority: 1.5, body: {} })).toThrow(/priority/);
    expect(() => outbox.add({ kind: 'event', priority: 1, body: {}, expires: Number.NaN })).toThrow(/expires/);
    expect(outbox.size).toBe(0);
  });
});
