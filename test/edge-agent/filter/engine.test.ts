/** The engine around the rules: swaps, flush, close, counters, refused candidates, bounded state, errors. */
import { describe, expect, it } from 'vitest';
import type { EdgeEvent } from '../../../protocol/index.js';
import { FilterEngine, parseRuleSet, type CandidateEvent } from '../../../edge-agent/filter/index.js';
import { candidate, FakeTime, harness, T0 } from './helpers.js';

const MIN = 60_000;
const reading = (topic: string, value: number): Partial<CandidateEvent> => ({ source: 'bus', type: 'reading', reason: 'Published', topic, payload: { value } });

const SENSORS = `
defaults: { unmatched: drop }
rules:
  - name: sensors
    match: { source: bus, topic: "sensors/#" }
    action: { type: aggregate, window: 1m, key: topic, field: payload.value }
  - name: repeats
    match: { source: pod }
    action: { type: dedupe, window: 1m }
  - name: limit
    match: { source: node }
    action: { type: rateLimit, limit: 1, interval: 1h }
`;

describe('setRules swaps atomically and flushes the old set', () => {
  it('sends pending summaries and repeat counts of the old set, then starts fresh', () => {
    const { engine, offer, sent, time } = harness(SENSORS);
    offer(reading('sensors/a', 2));
    offer(reading('sensors/a', 4));
    offer({ source: 'pod', id: 'p1' });
    offer({ source: 'pod', id: 'p2' });
    expect(offer({ source: 'node' }).action).toBe('forwarded');
    expect(offer({ source: 'node' }).action).toBe('rateLimited');
    time.advance(10_000);
    expect(sent.map((e) => e.id)).toEqual(['p1', expect.stringMatching(/^ev-/)]);

    const result = engine.setRules(SENSORS, 'again');
    expect(result).toMatchObject({ ok: true, flushed: 2 });
    expect(sent.slice(2).map((e) => [e.id, e.count, e.ts])).toEqual([
      [expect.stringMatching(/^ev-/), 2, T0 + 10_000], // the sensors summary, window cut short
      ['p2', 1, T0], // the pod repeat
    ]);
    expect((sent[2]?.payload as { avg: number }).avg).toBe(3);
    expect(time.pending).toBe(0); // the old set's timers are gone

    // Fresh state: the node limit starts over, and nothing more comes from the old windows.
    expect(offer({ source: 'node' }).action).toBe('forwarded');
    time.advance(10 * MIN);
    expect(sent).toHaveLength(5);
  });

  it('a refused set flushes nothing and keeps the windows running', () => {
    const { engine, offer, sent, time } = harness(SENSORS);
    offer(reading('sensors/a', 1));
    expect(engine.setRules('rules: nope', 'bad').ok).toBe(false);
    expect(sent).toHaveLength(0);
    time.advance(MIN);
    expect(sent).toHaveLength(1);
  });
});

describe('flush', () => {
  it('ends aggregate windows with their summary, reports dedupe repeats and keeps dedupe windows open', () => {
    const { engine, offer, sent, time } = harness(SENSORS);
    offer(reading('sensors/a', 1));
    offer(reading('sensors/b', 5));
    offer({ source: 'pod', id: 'p1' });
    offer({ source: 'pod', id: 'p2' });
    time.advance(5_000);
    expect(engine.flush()).toBe(3);
    expect(sent.slice(1).map((e) => [e.topic ?? e.id, e.count])).toEqual([
      ['sensors/a', 1],
      ['sensors/b', 1],
      ['p2', 1],
    ]);
    // The dedupe window is still open: a repeat is still a repeat, counted from zero.
    expect(offer({ source: 'pod', id: 'p3' }).action).toBe('deduped');
    time.advance(MIN);
    expect(sent.slice(4).map((e) => [e.id, e.count])).toEqual([['p3', 1]]);
    expect(engine.flush()).toBe(0);
  });
});

describe('close', () => {
  it('cancels every timer, sends nothing more and refuses further candidates', () => {
    const { engine, offer, sent, time } = harness(SENSORS);
    offer(reading('sensors/a', 1));
    offer({ source: 'pod' });
    offer({ source: 'pod' });
    expect(time.pending).toBe(2);
    engine.close();
    expect(time.pending).toBe(0);
    time.advance(10 * MIN);
    expect(sent).toHaveLength(1);
    expect(() => engine.offer(candidate())).toThrow(/closed/);
    expect(() => engine.setRules('rules: []', 'late')).toThrow(/closed/);
    expect(engine.flush()).toBe(0);
    engine.close();
  });
});

describe('counters', () => {
  it('counts every outcome in total, per rule and for unmatched events', () => {
    const { engine, offer, time } = harness(`
defaults: { unmatched: forward }
rules:
  - { name: drop-debug, match: { topic: "debug/#" }, action: drop }
  - { name: repeats, match: { source: pod }, action: { type: dedupe, window: 1m } }
  - { name: limit, match: { source: node }, action: { type: rateLimit, limit: 1, interval: 1h } }
  - { name: sampled, match: { source: container }, action: { type: sample, every: 2 } }
  - { name: sensors, match: { topic: "sensors/#" }, action: { type: aggregate, window: 1m } }
`);
    offer({ source: 'bus', topic: 'debug/x' });
    offer({ source: 'pod' });
    offer({ source: 'pod' });
    offer({ source: 'node' });
    offer({ source: 'node' });
    offer({ source: 'container' });
    offer({ source: 'container' });
    offer({ source: 'bus', topic: 'sensors/a' });
    offer({ source: 'agent' });
    offer({ source: 'agent', id: '' });
    time.advance(MIN);

    const counters = engine.counters;
    expect(counters).toMatchObject({ offered: 10, forwarded: 4, dropped: 1, deduped: 1, rateLimited: 1, sampledOut: 1, aggregated: 1, summaries: 2, evicted: 0, invalid: 1 });
    expect(counters.rules.repeats).toEqual({ offered: 2, forwarded: 1, dropped: 0, deduped: 1, rateLimited: 0, sampledOut: 0, aggregated: 0, summaries: 1, evicted: 0 });
    expect(counters.rules.limit).toMatchObject({ offered: 2, forwarded: 1, rateLimited: 1 });
    expect(counters.rules.sampled).toMatchObject({ offered: 2, forwarded: 1, sampledOut: 1 });
    expect(counters.rules.sensors).toMatchObject({ offered: 1, aggregated: 1, summaries: 1 });
    expect(counters.rules['drop-debug']).toMatchObject({ offered: 1, dropped: 1 });
    expect(counters.unmatched).toMatchObject({ offered: 1, forwarded: 1 });
  });

  it('keep growing across rule-set swaps and return a copy', () => {
    const { engine, offer } = harness('rules: [{ name: a, action: drop }]');
    offer();
    const snapshot = engine.counters;
    engine.setRules('rules: [{ name: b, action: drop }]', 'next');
    offer();
    expect(snapshot.dropped).toBe(1);
    expect(engine.counters).toMatchObject({ dropped: 2, rules: { a: { dropped: 1 }, b: { dropped: 1 } } });
  });
});

describe('candidates that cannot become an EdgeEvent are refused before any rule', () => {
  const cases: [what: string, fields: Partial<CandidateEvent>, problem: RegExp][] = [
    ['an empty id', { id: '' }, /^id/],
    ['an id over 128 characters', { id: 'x'.repeat(129) }, /^id/],
    ['an unknown source', { source: 'kubelet' as CandidateEvent['source'] }, /^source/],
    ['a type over 32 characters', { type: 'T'.repeat(33) }, /^type/],
    ['a reason over 128 characters', { reason: 'R'.repeat(129) }, /^reason/],
    ['an object that is not a key', { object: 'web-0' }, /^object/],
    ['a topic over 1024 characters', { topic: 't'.repeat(1025) }, /^topic/],
    ['a ts that is not a number', { ts: Number.NaN }, /^ts/],
  ];

  it.each(cases)('%s', (_what, fields, problem) => {
    const { offer, sent, engine } = harness('rules: [{ name: all, action: forward }]');
    const decision = offer(fields);
    expect(decision.action).toBe('invalid');
    expect(decision.problem).toMatch(problem);
    expect(sent).toEqual([]);
    expect(engine.counters).toMatchObject({ invalid: 1, rules: {} });
  });
});

describe('per-key state is bounded', () => {
  it('rate-limit windows: the least recently used key is evicted beyond the cap', () => {
    const { offer, engine } = harness('rules: [{ name: r, action: { type: rateLimit, limit: 1, interval: 1h, key: payload.sensor } }]', { maxKeysPerRule: 3 });
    const bus = (sensor: string): Partial<CandidateEvent> => ({ source: 'bus', topic: 't', payload: { sensor } });
    for (const s of ['s1', 's2', 's3']) expect(offer(bus(s)).action).toBe('forwarded');
    expect(offer(bus('s1')).action).toBe('rateLimited'); // touches s1: s2 is now the oldest
    expect(offer(bus('s4')).action).toBe('forwarded'); // evicts s2
    expect(offer(bus('s1')).action).toBe('rateLimited'); // s1 survived
    expect(offer(bus('s2')).action).toBe('forwarded'); // s2 forgot its window (and evicts s3)
    expect(engine.counters.evicted).toBe(2);
  });

  it('a flood of distinct keys keeps at most the cap of entries and timers', () => {
    const { offer, engine, time, sent } = harness('rules: [{ name: agg, action: { type: aggregate, window: 1m, key: payload.sensor, field: payload.value } }]', { maxKeysPerRule: 100 });
    for (let i = 0; i < 10_000; i++) offer({ source: 'bus', topic: 'sensors', payload: { sensor: `attacker-${i}`, value: i } });
    expect(time.pending).toBe(100);
    expect(engine.counters.evicted).toBe(9_900);
    // Evicted buckets sent their summaries early instead of losing them.
    expect(sent).toHaveLength(9_900);
    time.advance(MIN);
    expect(sent).toHaveLength(10_000);
    expect(sent.reduce((total, e) => total + (e.count ?? 0), 0)).toBe(10_000);
  });

  it('dedupe windows: an evicted window reports its repeats early', () => {
    const { offer, engine, time, sent } = harness('rules: [{ name: d, action: { type: dedupe, window: 1h } }]', { maxKeysPerRule: 2 });
    offer({ object: 'Pod/a/one', id: 'one-1' });
    offer({ object: 'Pod/a/one', id: 'one-2' });
    offer({ object: 'Pod/a/two' });
    offer({ object: 'Pod/a/three' }); // evicts "one", which had a repeat
    expect(sent.map((e) => [e.object, e.count])).toEqual([
      ['Pod/a/one', undefined],
      ['Pod/a/two', undefined],
      ['Pod/a/one', 1],
      ['Pod/a/three', undefined],
    ]);
    expect(time.pending).toBe(0);
    expect(engine.counters.rules.d).toMatchObject({ evicted: 1, summaries: 1 });
  });

  it('sample counters: many keys stay within the cap', () => {
    const { offer, engine } = harness('rules: [{ name: s, action: { type: sample, every: 10, key: topic } }]', { maxKeysPerRule: 5 });
    for (let i = 0; i < 50; i++) offer({ source: 'bus', topic: `t/${i}` });
    expect(engine.counters.evicted).toBe(45);
  });

  it('long keys are hashed rather than kept whole', () => {
    const { offer } = harness('rules: [{ name: r, action: { type: rateLimit, limit: 1, interval: 1h, key: payload.blob } }]');
    const blob = 'x'.repeat(100_000);
    expect(offer({ source: 'bus', topic: 't', payload: { blob } }).action).toBe('forwarded');
    expect(offer({ source: 'bus', topic: 't', payload: { blob } }).action).toBe('rateLimited');
    expect(offer({ source: 'bus', topic: 't', payload: { blob: `${blob}y` } }).action).toBe('forwarded');
  });
});

describe('errors from emit', () => {
  it('propagate to the caller of offer', () => {
    const time = new FakeTime();
    const engine = new FilterEngine({
      rules: parseRuleSet('rules: [{ name: all, action: forward }]', 't'),
      clock: time.clock,
      timers: time,
      emit: () => {
        throw new Error('outbox full');
      },
    });
    expect(() => engine.offer(candidate())).toThrow('outbox full');
  });

  it('go to onError when a timer sends, and the engine keeps working', () => {
    const time = new FakeTime();
    const errors: unknown[] = [];
    const sent: EdgeEvent[] = [];
    let fail = true;
    const engine = new FilterEngine({
      rules: parseRuleSet('rules: [{ name: agg, action: { type: aggregate, window: 1m, key: topic } }]', 't'),
      clock: time.clock,
      timers: time,
      emit: (event) => {
        if (fail) throw new Error('disk full');
        sent.push(event);
      },
      onError: (error) => errors.push(error),
    });
    engine.offer(candidate({ source: 'bus', topic: 'a' }, time.now));
    engine.offer(candidate({ source: 'bus', topic: 'b' }, time.now));
    time.advance(MIN);
    expect(errors.map((e) => (e as Error).message)).toEqual(['disk full', 'disk full']);
    fail = false;
    engine.offer(candidate({ source: 'bus', topic: 'a' }, time.now));
    time.advance(MIN);
    expect(sent.map((e) => e.topic)).toEqual(['a']);
  });
});

describe('defaults of the engine itself', () => {
  it('runs on Node timers when none are given, and close clears them', () => {
    const sent: EdgeEvent[] = [];
    const engine = new FilterEngine({ rules: parseRuleSet('rules: [{ name: agg, action: { type: aggregate, window: 1m } }]', 't'), clock: () => T0, emit: (e) => sent.push(e) });
    engine.offer(candidate({ source: 'bus', topic: 'x' }));
    expect(engine.flush()).toBe(1);
    engine.close();
    expect(sent).toHaveLength(1);
  });

  it('refuses a cap that is not a positive integer', () => {
    expect(() => new FilterEngine({ clock: () => T0, emit: () => {}, maxKeysPerRule: 0 })).toThrow(/maxKeysPerRule/);
  });
});
