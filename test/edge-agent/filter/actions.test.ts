/** Every action: what goes upstream, when, with which priority, expiry and count. */
import { describe, expect, it } from 'vitest';
import type { ActionDocument, CandidateEvent, MatchDocument } from '../../../edge-agent/filter/index.js';
import { harness, T0 } from './helpers.js';

const MIN = 60_000;

/** One rule `r` with `action` over everything `match` takes; the rest is dropped. */
function withAction(action: ActionDocument, match: MatchDocument = {}, defaults: { priority?: number; ttl?: string } = {}) {
  return harness({ defaults: { ...defaults, unmatched: 'drop' }, rules: [{ name: 'r', match, action }] });
}

const reading = (topic: string, value: unknown, extra: Partial<CandidateEvent> = {}): Partial<CandidateEvent> => ({
  source: 'bus',
  type: 'reading',
  reason: 'Published',
  topic,
  payload: { value: value as never },
  ...extra,
});

describe('forward', () => {
  it('sends the event as it is, with the rule priority and expires = now + ttl', () => {
    const { offer, sent, time } = withAction({ type: 'forward', priority: 8, ttl: '7d' });
    time.advance(1234);
    const decision = offer({ id: 'w-1', ts: T0 - 5, source: 'node', type: 'Warning', reason: 'DiskPressure', message: 'disk 91% full', object: 'Node//edge-7', payload: { used: 0.91 } });
    expect(decision).toEqual({ action: 'forwarded', rule: 'r' });
    expect(sent).toEqual([
      { id: 'w-1', ts: T0 - 5, source: 'node', type: 'Warning', reason: 'DiskPressure', message: 'disk 91% full', object: 'Node//edge-7', payload: { used: 0.91 }, priority: 8, expires: T0 + 1234 + 7 * 86_400_000 },
    ]);
  });

  it('takes priority and ttl from defaults when the action names none', () => {
    const { offer, sent } = withAction('forward', {}, { priority: 6, ttl: '30s' });
    offer();
    expect(sent[0]).toMatchObject({ priority: 6, expires: T0 + 30_000 });
  });

  it('forwards at priority 5 for a day when the rule set has no defaults at all', () => {
    const { offer, sent } = harness({ rules: [] });
    expect(offer()).toEqual({ action: 'forwarded' });
    expect(sent[0]).toMatchObject({ priority: 5, expires: T0 + 86_400_000 });
    expect(sent[0]?.count).toBeUndefined();
  });

  it('cuts a message longer than the protocol allows instead of refusing the event', () => {
    const { offer, sent } = withAction('forward');
    offer({ message: 'x'.repeat(10_000) });
    expect(sent[0]?.message).toHaveLength(8192);
    expect(sent[0]?.message?.endsWith('\u2026')).toBe(true);
  });
});

describe('drop', () => {
  it('sends nothing and says so', () => {
    const { offer, sent, engine } = withAction('drop');
    expect(offer()).toEqual({ action: 'dropped', rule: 'r' });
    expect(sent).toEqual([]);
    expect(engine.counters.rules.r?.dropped).toBe(1);
  });
});

describe('dedupe', () => {
  const started = { source: 'pod', type: 'Normal', reason: 'Started', object: 'Pod/default/web-0', message: 'Started container web' } as const;

  it('sends the first at once, counts repeats in the window and sends their count when it ends', () => {
    const { offer, sent, time } = withAction({ type: 'dedupe', window: '1m', priority: 2, ttl: '1h' });
    expect(offer({ ...started, id: 'a' }).action).toBe('forwarded');
    time.advance(10_000);
    expect(offer({ ...started, id: 'b' }).action).toBe('deduped');
    time.advance(10_000);
    expect(offer({ ...started, id: 'c', ts: T0 + 20_000 }).action).toBe('deduped');
    expect(sent.map((e) => e.id)).toEqual(['a']);

    time.advance(MIN - 20_000 - 1);
    expect(sent).toHaveLength(1);
    time.advance(1);
    // The follow-up is the last repeat itself (never sent before), standing for both repeats.
    expect(sent[1]).toEqual({ id: 'c', ts: T0 + 20_000, ...started, priority: 2, count: 2, expires: T0 + MIN + 3_600_000 });
  });

  it('opens a new window after the old one ends', () => {
    const { offer, sent, time } = withAction({ type: 'dedupe', window: '1m' });
    offer({ ...started, id: 'a' });
    time.advance(MIN);
    expect(offer({ ...started, id: 'b' }).action).toBe('forwarded');
    expect(offer({ ...started, id: 'c' }).action).toBe('deduped');
    expect(sent.map((e) => e.id)).toEqual(['a', 'b']);
  });

  it('sends no follow-up and keeps no timer for a window without repeats', () => {
    const { offer, sent, time } = withAction({ type: 'dedupe', window: '1m' });
    offer(started);
    expect(time.pending).toBe(0);
    time.advance(5 * MIN);
    expect(sent).toHaveLength(1);
  });

  it('compares source, type, reason, object, topic, message and payload by default, not ids or times', () => {
    const { offer } = withAction({ type: 'dedupe', window: '1m' });
    expect(offer({ ...started, payload: { a: 1, b: 2 } }).action).toBe('forwarded');
    expect(offer({ ...started, payload: { b: 2, a: 1 }, ts: T0 + 5 }).action).toBe('deduped'); // member order is not content
    expect(offer({ ...started, payload: { a: 1, b: 3 } }).action).toBe('forwarded');
    expect(offer({ ...started, payload: { a: 1, b: 2 }, message: 'other' }).action).toBe('forwarded');
    expect(offer({ ...started, payload: { a: 1, b: 2 }, object: 'Pod/default/web-1' }).action).toBe('forwarded');
    expect(offer({ ...started, payload: { a: 1, b: 2 }, reason: 'Killing' }).action).toBe('forwarded');
    expect(offer({ ...started, payload: { a: '1', b: 2 } }).action).toBe('forwarded'); // "1" is not 1
  });

  it('compares only the listed fields when the rule names them', () => {
    const { offer, sent, time } = withAction({ type: 'dedupe', window: '1m', fields: ['object', 'reason'] });
    expect(offer({ ...started, message: 'attempt 1' }).action).toBe('forwarded');
    expect(offer({ ...started, message: 'attempt 2' }).action).toBe('deduped');
    expect(offer({ ...started, message: 'attempt 3', object: 'Pod/default/web-1' }).action).toBe('forwarded');
    time.advance(MIN);
    expect(sent.map((e) => [e.message, e.count])).toEqual([
      ['attempt 1', undefined],
      ['attempt 3', undefined],
      ['attempt 2', 1],
    ]);
  });

  it('counts per content: each has its own window and its own follow-up', () => {
    const { offer, sent, time } = withAction({ type: 'dedupe', window: '1m' });
    offer({ ...started, object: 'Pod/default/a' });
    offer({ ...started, object: 'Pod/default/b' });
    for (let i = 0; i < 3; i++) offer({ ...started, object: 'Pod/default/a' });
    offer({ ...started, object: 'Pod/default/b' });
    time.advance(MIN);
    expect(sent.slice(2).map((e) => [e.object, e.count])).toEqual([
      ['Pod/default/a', 3],
      ['Pod/default/b', 1],
    ]);
  });

  it('opens a new window when the clock jumps back, reporting the old one first', () => {
    const { offer, sent, time } = withAction({ type: 'dedupe', window: '1m' });
    offer({ ...started, id: 'a' });
    offer({ ...started, id: 'b' });
    time.now -= 3_600_000;
    expect(offer({ ...started, id: 'c' }).action).toBe('forwarded');
    expect(sent.map((e) => [e.id, e.count])).toEqual([
      ['a', undefined],
      ['b', 1],
      ['c', undefined],
    ]);
    expect(time.pending).toBe(0); // the old window's timer went with it
  });
});

describe('rateLimit', () => {
  const backOff = (object: string): Partial<CandidateEvent> => ({ source: 'pod', type: 'Warning', reason: 'BackOff', object });

  it('lets `limit` through per key per interval and carries the held-back count on the next one', () => {
    const { offer, sent, time } = withAction({ type: 'rateLimit', limit: 2, interval: '1m', key: 'object', priority: 7 });
    const a = 'Pod/default/a';
    const b = 'Pod/default/b';
    expect([offer(backOff(a)), offer(backOff(a)), offer(backOff(a)), offer(backOff(a))].map((d) => d.action)).toEqual(['forwarded', 'forwarded', 'rateLimited', 'rateLimited']);
    expect(offer(backOff(b)).action).toBe('forwarded'); // another key has its own budget
    time.advance(MIN - 1);
    expect(offer(backOff(a)).action).toBe('rateLimited');
    time.advance(1);
    expect(offer(backOff(a)).action).toBe('forwarded');
    expect(offer(backOff(a)).action).toBe('forwarded');
    expect(offer(backOff(a)).action).toBe('rateLimited');
    expect(sent.map((e) => [e.object, e.count])).toEqual([
      [a, undefined],
      [a, undefined],
      [b, undefined],
      [a, 4], // itself and the three held back in the first window
      [a, undefined],
    ]);
    expect(sent.every((e) => e.priority === 7)).toBe(true);
  });

  it('opens the window with the key first event, not on a clock boundary', () => {
    const { offer, time } = withAction({ type: 'rateLimit', limit: 1, interval: '1m', key: 'object' });
    time.advance(45_000);
    expect(offer(backOff('Pod/x/y')).action).toBe('forwarded');
    time.advance(30_000); // 75 s: a minute boundary has passed, the key's minute has not
    expect(offer(backOff('Pod/x/y')).action).toBe('rateLimited');
    time.advance(30_000);
    expect(offer(backOff('Pod/x/y')).action).toBe('forwarded');
  });

  it('keys by a payload path; events without it share one budget', () => {
    const { offer } = withAction({ type: 'rateLimit', limit: 1, interval: '1h', key: 'payload.sensor' });
    const bus = (payload: CandidateEvent['payload']): Partial<CandidateEvent> => ({ source: 'bus', topic: 't', payload });
    expect(offer(bus({ sensor: 's1' })).action).toBe('forwarded');
    expect(offer(bus({ sensor: 's2' })).action).toBe('forwarded');
    expect(offer(bus({ sensor: 's1' })).action).toBe('rateLimited');
    expect(offer(bus({ sensor: 1 })).action).toBe('forwarded'); // the number 1 is not "s1" nor "1"
    expect(offer(bus({ sensor: '1' })).action).toBe('forwarded');
    expect(offer(bus({})).action).toBe('forwarded');
    expect(offer(bus({ other: true })).action).toBe('rateLimited');
  });

  it('keys by several paths together', () => {
    const { offer } = withAction({ type: 'rateLimit', limit: 1, interval: '1h', key: ['object', 'reason'] });
    expect(offer({ object: 'Pod/a/b', reason: 'BackOff' }).action).toBe('forwarded');
    expect(offer({ object: 'Pod/a/b', reason: 'Unhealthy' }).action).toBe('forwarded');
    expect(offer({ object: 'Pod/a/b', reason: 'BackOff' }).action).toBe('rateLimited');
  });

  it('without a key, limits the whole rule', () => {
    const { offer } = withAction({ type: 'rateLimit', limit: 1, interval: '1h' });
    expect(offer({ object: 'Pod/a/b' }).action).toBe('forwarded');
    expect(offer({ object: 'Pod/a/c' }).action).toBe('rateLimited');
  });
});

describe('sample', () => {
  it('forwards the 1st of every N', () => {
    const { offer } = withAction({ type: 'sample', every: 3 });
    const outcomes = Array.from({ length: 7 }, () => offer().action);
    expect(outcomes).toEqual(['forwarded', 'sampledOut', 'sampledOut', 'forwarded', 'sampledOut', 'sampledOut', 'forwarded']);
  });

  it('counts per key, so every key gets its first event through', () => {
    const { offer, sent } = withAction({ type: 'sample', every: 2, key: 'topic' });
    for (let i = 0; i < 4; i++) {
      offer(reading('a', i));
      offer(reading('b', i));
    }
    expect(sent.map((e) => [e.topic, (e.payload as { value: number }).value])).toEqual([
      ['a', 0],
      ['b', 0],
      ['a', 2],
      ['b', 2],
    ]);
  });

  it('with every: 1 forwards everything', () => {
    const { offer } = withAction({ type: 'sample', every: 1 });
    expect([offer(), offer(), offer()].map((d) => d.action)).toEqual(['forwarded', 'forwarded', 'forwarded']);
  });
});

describe('aggregate', () => {
  const action: ActionDocument = { type: 'aggregate', window: '60s', key: 'topic', field: 'payload.value', priority: 3, ttl: '1h' };

  it('sends one summary per key at the end of its window with count, min, max, avg, sum and last', () => {
    const { offer, sent, time } = withAction(action);
    expect(offer(reading('sensors/t1', 3, { id: 'first-t1' }))).toEqual({ action: 'aggregated', rule: 'r' });
    offer(reading('sensors/t2', 10, { id: 'first-t2' }));
    time.advance(20_000);
    offer(reading('sensors/t1', 5));
    offer(reading('sensors/t1', 1));
    time.advance(MIN - 20_000 - 1);
    expect(sent).toEqual([]);
    time.advance(1);
    expect(sent).toEqual([
      {
        id: 'first-t1',
        ts: T0 + MIN,
        source: 'bus',
        type: 'reading',
        reason: 'Published',
        message: '3 events in 1m (aggregated by rule r)',
        topic: 'sensors/t1',
        payload: { rule: 'r', key: { topic: 'sensors/t1' }, count: 3, from: T0, to: T0 + MIN, field: 'payload.value', values: 3, min: 1, max: 5, avg: 3, sum: 9, last: 1 },
        priority: 3,
        count: 3,
        expires: T0 + MIN + 3_600_000,
      },
      {
        id: 'first-t2',
        ts: T0 + MIN,
        source: 'bus',
        type: 'reading',
        reason: 'Published',
        message: '1 event in 1m (aggregated by rule r)',
        topic: 'sensors/t2',
        payload: { rule: 'r', key: { topic: 'sensors/t2' }, count: 1, from: T0, to: T0 + MIN, field: 'payload.value', values: 1, min: 10, max: 10, avg: 10, sum: 10, last: 10 },
        priority: 3,
        count: 1,
        expires: T0 + MIN + 3_600_000,
      },
    ]);
  });

  it('gives each key its own window, opened by its first event', () => {
    const { offer, sent, time } = withAction(action);
    offer(reading('sensors/t1', 1));
    time.advance(30_000);
    offer(reading('sensors/t2', 2));
    time.advance(30_000);
    expect(sent.map((e) => e.topic)).toEqual(['sensors/t1']);
    offer(reading('sensors/t1', 7)); // opens t1's next window
    time.advance(30_000);
    expect(sent.map((e) => e.topic)).toEqual(['sensors/t1', 'sensors/t2']);
    time.advance(30_000);
    expect(sent.map((e) => [e.topic, e.count, (e.payload as { max: number }).max])).toEqual([
      ['sensors/t1', 1, 1],
      ['sensors/t2', 1, 2],
      ['sensors/t1', 1, 7],
    ]);
  });

  it('counts events whose field is not a number but leaves them out of the statistics', () => {
    const { offer, sent, time } = withAction(action);
    offer(reading('s', 4));
    offer(reading('s', 'n/a'));
    offer({ source: 'bus', topic: 's', payload: { other: 1 } });
    offer(reading('s', 8));
    time.advance(MIN);
    expect(sent[0]?.count).toBe(4);
    expect(sent[0]?.payload).toMatchObject({ count: 4, values: 2, min: 4, max: 8, avg: 6, sum: 12, last: 8 });
  });

  it('reports null statistics when no event had a number', () => {
    const { offer, sent, time } = withAction(action);
    offer(reading('s', 'n/a'));
    time.advance(MIN);
    expect(sent[0]?.payload).toMatchObject({ count: 1, values: 0, min: null, max: null, avg: null, sum: null, last: null });
  });

  it('without a field, only counts; without a key, one window for the rule; drops topic and object that differ', () => {
    const { offer, sent, time } = withAction({ type: 'aggregate', window: '5m' });
    offer({ source: 'pod', reason: 'Pulled', object: 'Pod/a/x', topic: 'same' });
    offer({ source: 'pod', reason: 'Pulled', object: 'Pod/a/y', topic: 'same' });
    time.advance(5 * MIN);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.payload).toEqual({ rule: 'r', key: {}, count: 2, from: T0, to: T0 + 5 * MIN });
    expect(sent[0]?.object).toBeUndefined();
    expect(sent[0]?.topic).toBe('same');
  });

  it('starts a new window with the next event after a summary', () => {
    const { offer, sent, time } = withAction(action);
    offer(reading('s', 1));
    time.advance(MIN);
    time.advance(5 * MIN);
    expect(sent).toHaveLength(1); // no empty summaries
    offer(reading('s', 2));
    time.advance(MIN);
    expect(sent.map((e) => (e.payload as { from: number }).from)).toEqual([T0, T0 + 6 * MIN]);
  });
});
