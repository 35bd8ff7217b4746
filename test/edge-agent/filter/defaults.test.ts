/** The built-in rules: the YAML file matches the constant, and they keep what matters and cut noise. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_RULES, DEFAULT_RULES_DOCUMENT, FilterEngine, parseRuleSet, type CandidateEvent } from '../../../edge-agent/filter/index.js';
import { FakeTime, candidate, harness, T0 } from './helpers.js';

const filterDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../edge-agent/filter');
const yamlText = readFileSync(path.join(filterDir, 'default-rules.yaml'), 'utf8');

describe('default-rules.yaml', () => {
  it('is the same document as DEFAULT_RULES_DOCUMENT', () => {
    expect(parseYaml(yamlText)).toEqual(DEFAULT_RULES_DOCUMENT);
  });

  it('validates to the same rule set as DEFAULT_RULES', () => {
    const fromFile = parseRuleSet(yamlText, 'file');
    expect(fromFile.rules).toEqual(DEFAULT_RULES.rules);
    expect(fromFile.defaults).toEqual(DEFAULT_RULES.defaults);
  });

  it('every default rule is documented in the README', () => {
    const readme = readFileSync(path.join(filterDir, 'README.md'), 'utf8');
    for (const rule of DEFAULT_RULES.rules) expect(readme).toContain(`\`${rule.name}\``);
  });
});

describe('an engine without rules uses the defaults', () => {
  it('starts with DEFAULT_RULES', () => {
    const engine = new FilterEngine({ clock: () => T0, timers: new FakeTime(), emit: () => {} });
    expect(engine.rules).toBe(DEFAULT_RULES);
  });

  const DAY = 86_400_000;
  const cases: [what: string, event: Partial<CandidateEvent>, decision: { action: string; rule?: string }, priority?: number, ttl?: number][] = [
    ['a node Warning goes at priority 8 for 7 days', { source: 'node', type: 'Warning', reason: 'DiskPressure', object: 'Node//edge-1' }, { action: 'forwarded', rule: 'warnings' }, 8, 7 * DAY],
    ['a pod Warning', { source: 'pod', type: 'Warning', reason: 'Unhealthy', object: 'Pod/default/web-0' }, { action: 'forwarded', rule: 'warnings' }, 8, 7 * DAY],
    ['an agent Warning (clock skew)', { source: 'agent', type: 'Warning', reason: 'ClockSkew' }, { action: 'forwarded', rule: 'warnings' }, 8, 7 * DAY],
    ['a BackOff is a crash loop before it is a Warning', { source: 'container', type: 'Warning', reason: 'BackOff', object: 'Pod/default/web-0' }, { action: 'forwarded', rule: 'crash-loop' }, 7, DAY],
    ['Started goes at low priority', { source: 'pod', type: 'Normal', reason: 'Started', object: 'Pod/default/web-0' }, { action: 'forwarded', rule: 'lifecycle' }, 2, 3_600_000],
    ['Killing', { source: 'container', type: 'Normal', reason: 'Killing' }, { action: 'forwarded', rule: 'lifecycle' }, 2, 3_600_000],
    ['Completed', { source: 'pod', type: 'Normal', reason: 'Completed' }, { action: 'forwarded', rule: 'lifecycle' }, 2, 3_600_000],
    ['Pulled is noise', { source: 'pod', type: 'Normal', reason: 'Pulled' }, { action: 'dropped', rule: 'normal-noise' }],
    ['a debug level on the bus', { source: 'bus', topic: 'app/debug/trace' }, { action: 'dropped', rule: 'bus-debug' }],
    ['a top-level debug topic', { source: 'bus', topic: 'debug' }, { action: 'dropped', rule: 'bus-debug' }],
    ['debug under sensors is still debug', { source: 'bus', topic: 'sensors/debug/raw', payload: { value: 1 } }, { action: 'dropped', rule: 'bus-debug' }],
    ['a sensor reading is aggregated', { source: 'bus', topic: 'sensors/line-1/temp', payload: { value: 21.5 } }, { action: 'aggregated', rule: 'sensor-readings' }],
    ['other bus traffic is rate-limited, first one goes', { source: 'bus', topic: 'alarms/door' }, { action: 'forwarded', rule: 'bus-other' }, 3, 3_600_000],
    ['a node Normal event is unmatched and goes at priority 4', { source: 'node', type: 'Normal', reason: 'CacheResynced' }, { action: 'forwarded' }, 4, DAY],
  ];

  it.each(cases)('%s', (_what, event, decision, priority, ttl) => {
    const { offer, sent } = harness();
    expect(offer(event)).toEqual(decision);
    if (priority !== undefined) expect(sent[0]).toMatchObject({ priority, expires: T0 + (ttl ?? 0) });
    else expect(sent).toEqual([]);
  });

  it('crash loops: one BackOff per object per 5 minutes, the next carries the count', () => {
    const { offer, sent, time } = harness();
    const backOff = { source: 'pod', type: 'Warning', reason: 'BackOff', object: 'Pod/default/web-0' } as const;
    for (let i = 0; i < 10; i++) {
      offer(backOff);
      time.advance(20_000);
    }
    expect(sent).toHaveLength(1);
    time.advance(5 * 60_000);
    offer(backOff);
    expect(sent.map((e) => e.count)).toEqual([undefined, 10]);
  });

  it('sensor readings: one summary per topic per minute', () => {
    const { offer, sent, time } = harness();
    for (const value of [20, 22, 24]) offer({ source: 'bus', topic: 'sensors/t1', payload: { value } });
    offer({ source: 'bus', topic: 'sensors/t2', payload: { value: 5 } });
    time.advance(60_000);
    expect(sent.map((e) => [e.topic, e.count, (e.payload as { avg: number }).avg, e.priority])).toEqual([
      ['sensors/t1', 3, 22, 3],
      ['sensors/t2', 1, 5, 3],
    ]);
  });

  it('lifecycle and warnings: repeats are counted, not resent', () => {
    const { offer, sent, time } = harness();
    const started = { source: 'pod', type: 'Normal', reason: 'Started', object: 'Pod/default/web-0', message: 'Started container web' } as const;
    for (let i = 0; i < 5; i++) expect(offer(started).action).toBe(i === 0 ? 'forwarded' : 'deduped');
    time.advance(10 * 60_000);
    expect(sent.map((e) => e.count)).toEqual([undefined, 4]);
  });

  it('chatty bus topics: ten per topic per minute', () => {
    const { offer } = harness();
    const outcomes = Array.from({ length: 12 }, () => offer({ source: 'bus', topic: 'app/status' }).action);
    expect(outcomes.filter((o) => o === 'forwarded')).toHaveLength(10);
    expect(outcomes.slice(10)).toEqual(['rateLimited', 'rateLimited']);
    expect(offer({ source: 'bus', topic: 'app/other' }).action).toBe('forwarded');
  });

  it('candidate ids survive forwarding (the hub de-duplicates on them)', () => {
    const { engine, sent } = harness();
    const event = candidate({ source: 'node', type: 'Warning', reason: 'DiskPressure' });
    engine.offer(event);
    expect(sent[0]?.id).toBe(event.id);
  });
});
