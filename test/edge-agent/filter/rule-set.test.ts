/** Rule sets as data: YAML and JSON, normalization, durations, and errors that name rule and field. */
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseRuleSet, RuleSet, RuleSetError, validateRuleSet } from '../../../edge-agent/filter/index.js';
import { harness } from './helpers.js';

const YAML_TEXT = `
defaults:
  priority: 3
  ttl: 2h
  unmatched: drop
rules:
  - name: sensor-limit
    match:
      source: bus
      topic: "sensors/#"
      fields:
        payload.value: { gt: 10 }
        payload.unit: celsius
    action: { type: rateLimit, limit: 5, interval: 1m, key: payload.sensor, priority: 6 }
  - name: crash
    match: { reason: BackOff }
    action: drop
`;

const JSON_TEXT = JSON.stringify({
  defaults: { priority: 3, ttl: '2h', unmatched: 'drop' },
  rules: [
    {
      name: 'sensor-limit',
      match: { source: ['bus'], topic: 'sensors/#', fields: { 'payload.value': { gt: 10 }, 'payload.unit': { eq: 'celsius' } } },
      action: { type: 'rateLimit', limit: 5, interval: '60s', key: ['payload.sensor'], priority: 6 },
    },
    { name: 'crash', match: { reason: ['BackOff'] }, action: { type: 'drop' } },
  ],
});

describe('parseRuleSet', () => {
  it('reads YAML and JSON into the same normalized rule set', () => {
    const fromYaml = parseRuleSet(YAML_TEXT, 'yaml');
    const fromJson = parseRuleSet(JSON_TEXT, 'json');
    expect(fromYaml).toBeInstanceOf(RuleSet);
    expect(fromYaml.origin).toBe('yaml');
    expect(fromYaml.rules).toEqual(fromJson.rules);
    expect(fromYaml.defaults).toEqual(fromJson.defaults);
    expect(fromYaml.defaults).toEqual({ priority: 3, ttl: 7_200_000, unmatched: { type: 'drop' } });
    expect(fromYaml.rules[0]).toEqual({
      name: 'sensor-limit',
      match: { source: ['bus'], topic: ['sensors/#'], fields: { 'payload.value': { gt: 10 }, 'payload.unit': { eq: 'celsius' } } },
      action: { type: 'rateLimit', limit: 5, interval: 60_000, key: ['payload.sensor'], priority: 6 },
    });
    expect(fromYaml.rules[1]).toEqual({ name: 'crash', match: { reason: ['BackOff'] }, action: { type: 'drop' } });
  });

  it('fills in defaults and an empty match', () => {
    const set = parseRuleSet('rules: [{ name: all, action: forward }]', 't');
    expect(set.defaults).toEqual({ priority: 5, ttl: 86_400_000, unmatched: { type: 'forward' } });
    expect(set.rules[0]?.match).toEqual({});
  });

  it('validateRuleSet takes an already parsed document', () => {
    expect(validateRuleSet(JSON.parse(JSON_TEXT), 'obj').rules).toEqual(parseRuleSet(JSON_TEXT, 'json').rules);
  });
});

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['1h30m', 5_400_000],
    ['0s', 0],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '30', '1.5h', '-1s', '1 h', '1w', 'h', '5M', '1h 30m'])('%j is not a duration', (text) => expect(parseDuration(text)).toBeUndefined());

  it.each([
    [90_000, '1m30s'],
    [604_800_000, '7d'],
    [1500, '1s500ms'],
  ])('formats %d as %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

/** The lines of the error `text` produces, or a failure when it parses. */
function errorLines(text: string): string[] {
  try {
    parseRuleSet(text, 'test');
  } catch (error) {
    expect(error).toBeInstanceOf(RuleSetError);
    return (error as RuleSetError).issues.map((issue) => issue.text);
  }
  throw new Error('the rule set was accepted');
}

const rules = (...items: string[]): string => `rules:\n${items.map((item) => `  - ${item}`).join('\n')}\n`;
const ok = '{ name: fine, action: forward }';

describe('invalid rule sets name the rule and the field', () => {
  const cases: [what: string, text: string, lines: string[]][] = [
    [
      'a limit that is not a positive integer',
      rules(ok, ok.replace('fine', 'fine-2'), '{ name: sensor-limit, match: { topic: "sensors/#" }, action: { type: rateLimit, limit: -1, interval: 1m, key: payload.sensor } }'),
      ['rules[2] "sensor-limit": action.limit: expected a positive integer'],
    ],
    ['a limit that is a string', rules('{ name: l, action: { type: rateLimit, limit: ten, interval: 1m } }'), ['rules[0] "l": action.limit: expected a positive integer']],
    ['an unknown action', rules('{ name: x, action: { type: throttle } }'), ['rules[0] "x": action.type: expected one of forward, drop, dedupe, rateLimit, sample, aggregate']],
    ['an unknown action name in short form', rules('{ name: x, action: keep }'), ['rules[0] "x": action.type: expected one of forward, drop, dedupe, rateLimit, sample, aggregate']],
    [
      'a misspelt field and so a missing one',
      rules('{ name: d, action: { type: dedupe, windw: 1m } }'),
      ['rules[0] "d": action.window: is missing (expected a duration such as 30s, 5m, 1h or 7d)', 'rules[0] "d": action.windw: unknown field'],
    ],
    ['a duration without a unit', rules('{ name: d, action: { type: dedupe, window: 60 } }'), ['rules[0] "d": action.window: expected a duration such as 30s, 5m, 1h or 7d']],
    ['a window longer than a day', rules('{ name: a, action: { type: aggregate, window: 2d } }'), ['rules[0] "a": action.window: at most 1d']],
    ['a zero ttl', rules('{ name: f, action: { type: forward, ttl: 0s } }'), ['rules[0] "f": action.ttl: expected a duration such as 30s, 5m, 1h or 7d']],
    ['a priority out of range', rules('{ name: p, action: { type: forward, priority: 10 } }'), ['rules[0] "p": action.priority: expected an integer from 0 to 9']],
    ['a priority on drop', rules('{ name: p, action: { type: drop, priority: 1 } }'), ['rules[0] "p": action.priority: unknown field']],
    ['sample every 0', rules('{ name: s, action: { type: sample, every: 0 } }'), ['rules[0] "s": action.every: expected a positive integer']],
    ['a "#" that is not last', rules('{ name: t, match: { topic: "#/debug/#" }, action: drop }'), ['rules[0] "t": match.topic: "#" must be a whole level and the last one in "#/debug/#"']],
    ['a "+" inside a level, in a list', rules('{ name: t, match: { topic: [ok/#, "a+/b"] }, action: drop }'), ['rules[0] "t": match.topic[1]: "+" must be a whole level in "a+/b"']],
    ['an unknown source', rules('{ name: s, match: { source: [pod, kubelet] }, action: drop }'), ['rules[0] "s": match.source[1]: expected one of pod, container, node, agent, bus']],
    ['an empty reason list', rules('{ name: r, match: { reason: [] }, action: drop }'), ['rules[0] "r": match.reason: expected a reason or a non-empty list of them']],
    ['an unknown match condition', rules('{ name: m, match: { severity: high }, action: drop }'), ['rules[0] "m": match.severity: unknown field']],
    [
      'a field path outside the event',
      rules('{ name: f, match: { fields: { temp: { gt: 3 } } }, action: drop }'),
      ['rules[0] "f": match.fields.temp: path "temp" must start with one of id, ts, source, type, reason, message, object, topic, payload'],
    ],
    ['a comparison with a string', rules('{ name: f, match: { fields: { payload.v: { gt: "3" } } }, action: drop }'), ['rules[0] "f": match.fields["payload.v"].gt: expected a number']],
    ['an unknown operator', rules('{ name: f, match: { fields: { payload.v: { between: [1, 2] } } }, action: drop }'), ['rules[0] "f": match.fields["payload.v"].between: unknown field']],
    [
      'a condition without operators',
      rules('{ name: f, match: { fields: { payload.v: {} } }, action: drop }'),
      ['rules[0] "f": match.fields["payload.v"]: expected at least one of eq, ne, in, gt, gte, lt, lte, exists'],
    ],
    ['a key path outside the event', rules('{ name: k, action: { type: rateLimit, limit: 1, interval: 1m, key: sensor } }'), ['rules[0] "k": action.key: path "sensor" must start with one of id, ts, source, type, reason, message, object, topic, payload']],
    ['a path below a scalar member', rules('{ name: k, action: { type: aggregate, window: 1m, field: topic.level } }'), ['rules[0] "k": action.field: only payload has members below it, not topic']],
    ['a missing name', rules(ok, '{ action: drop }'), ['rules[1] (unnamed): name: is missing (expected a rule name)']],
    ['a name with spaces', rules('{ name: "my rule", action: drop }'), ['rules[0] "my rule": name: expected 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit']],
    ['a missing action', rules('{ name: n }'), ['rules[0] "n": action: is missing (expected an action name (forward, drop, dedupe, rateLimit, sample, aggregate) or a mapping with a type)']],
    ['a duplicate name', rules(ok, '{ name: other, action: drop }', ok), ['rules[2] "fine": name: duplicate of rules[0]']],
    ['a rule that is not a mapping', rules(ok, 'just-a-string'), ['rules[1] (unnamed): expected a mapping with name, match and action']],
    ['defaults out of range', 'defaults: { priority: -1, unmatched: { type: sample } }\nrules: []\n', ['defaults.priority: expected an integer from 0 to 9', 'defaults.unmatched.every: is missing (expected a positive integer)']],
    ['no rules list', 'defaults: { priority: 1 }\n', ['rules: is missing (expected a list of rules)']],
    ['an unknown top-level field', 'rules: []\nrule: []\n', ['rule: unknown field']],
    ['an empty document', '', ['expected a mapping with a rules list (and optional defaults)']],
    ['a YAML syntax error', 'rules: [\n', [expect.stringMatching(/^not valid YAML or JSON: .* at line \d+, column \d+$/) as unknown as string]],
    ['a key given twice', 'rules: []\nrules: []\n', [expect.stringMatching(/^not valid YAML or JSON: Map keys must be unique/) as unknown as string]],
  ];

  it.each(cases)('%s', (_what, text, lines) => {
    expect(errorLines(text)).toEqual(lines);
  });

  it('reports every mistake at once, in document order', () => {
    const lines = errorLines(rules('{ name: a, action: { type: rateLimit, limit: 0, interval: 1m } }', ok, '{ name: a, match: { source: nope }, action: { type: aggregate, window: 1y } }'));
    expect(lines).toEqual([
      'rules[0] "a": action.limit: expected a positive integer',
      'rules[2] "a": match.source: expected one of pod, container, node, agent, bus',
      'rules[2] "a": action.window: expected a duration such as 30s, 5m, 1h or 7d',
      'rules[2] "a": name: duplicate of rules[0]',
    ]);
  });

  it('describes each issue as data too', () => {
    try {
      parseRuleSet(rules(ok, '{ name: sensor-limit, action: { type: rateLimit, limit: 0, interval: 1m } }'), 'ConfigMap edge-system/rules');
      expect.unreachable();
    } catch (error) {
      const failure = error as RuleSetError;
      expect(failure.origin).toBe('ConfigMap edge-system/rules');
      expect(failure.issues).toEqual([
        {
          path: ['rules', 1, 'action', 'limit'],
          rule: { index: 1, name: 'sensor-limit' },
          field: 'action.limit',
          message: 'expected a positive integer',
          text: 'rules[1] "sensor-limit": action.limit: expected a positive integer',
        },
      ]);
      expect(failure.message).toBe('invalid filter rules from ConfigMap edge-system/rules: rules[1] "sensor-limit": action.limit: expected a positive integer');
    }
  });

  it('refuses a document larger than a ConfigMap can hold', () => {
    expect(errorLines(`# ${'x'.repeat(1024 * 1024)}\nrules: []\n`)).toEqual(['the rule set is larger than 1048576 bytes']);
  });
});

describe('setRules', () => {
  const before = rules('{ name: keep-warnings, match: { type: Warning }, action: { type: forward, priority: 9 } }');

  it('refuses an invalid set with a typed result and keeps the previous set in force', () => {
    const { engine, offer, sent } = harness(before);
    const previous = engine.rules;
    const result = engine.setRules(rules('{ name: broken, action: { type: rateLimit, limit: 0, interval: 1m } }'), 'ConfigMap edge-system/rules');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(RuleSetError);
    expect(result.error.issues.map((issue) => issue.text)).toEqual(['rules[0] "broken": action.limit: expected a positive integer']);
    expect(engine.rules).toBe(previous);
    expect(offer({ type: 'Warning' })).toEqual({ action: 'forwarded', rule: 'keep-warnings' });
    expect(sent[0]?.priority).toBe(9);
  });

  it('puts a valid set in force: text, a parsed document or a RuleSet', () => {
    const { engine, offer } = harness(before);
    const fromText = engine.setRules(rules('{ name: from-text, action: drop }'), 'text');
    expect(fromText).toMatchObject({ ok: true, flushed: 0 });
    expect(engine.rules.origin).toBe('text');
    expect(offer().rule).toBe('from-text');

    expect(engine.setRules({ rules: [{ name: 'from-object', action: 'drop' }] }, 'object').ok).toBe(true);
    expect(offer().rule).toBe('from-object');

    const set = parseRuleSet(rules('{ name: from-set, action: drop }'), 'set');
    expect(engine.setRules(set, 'ignored')).toEqual({ ok: true, rules: set, flushed: 0 });
    expect(engine.rules).toBe(set);
    expect(offer().rule).toBe('from-set');
  });

  it('refuses a document that is not a rule set, also when already parsed', () => {
    const { engine } = harness(before);
    const result = engine.setRules({ rules: 'all of them' }, 'object');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.issues[0]?.text).toBe('rules: expected a list of rules');
    expect(engine.rules.rules[0]?.name).toBe('keep-warnings');
  });
});

describe('first match wins', () => {
  const warning = { source: 'pod', type: 'Warning', reason: 'BackOff', object: 'Pod/default/web-0' } as const;

  it('the earlier of two matching rules decides, whatever the later one says', () => {
    const { offer } = harness(rules('{ name: warnings, match: { type: Warning }, action: { type: forward, priority: 8 } }', '{ name: backoff, match: { reason: BackOff }, action: drop }'));
    expect(offer(warning)).toEqual({ action: 'forwarded', rule: 'warnings' });
  });

  it('swapping the order swaps the decision', () => {
    const { offer } = harness(rules('{ name: backoff, match: { reason: BackOff }, action: drop }', '{ name: warnings, match: { type: Warning }, action: { type: forward, priority: 8 } }'));
    expect(offer(warning)).toEqual({ action: 'dropped', rule: 'backoff' });
    expect(offer({ ...warning, reason: 'Unhealthy' })).toEqual({ action: 'forwarded', rule: 'warnings' });
  });

  it('a rule whose match fails passes the event on to the next, and the defaults take what none matched', () => {
    const { offer, sent } = harness('defaults: { priority: 1, ttl: 5m, unmatched: forward }\n' + rules('{ name: a, match: { source: bus }, action: drop }', '{ name: b, match: { source: node }, action: drop }'));
    expect(offer({ source: 'node' }).rule).toBe('b');
    expect(offer({ source: 'pod' })).toEqual({ action: 'forwarded' });
    expect(sent[0]).toMatchObject({ priority: 1 });
  });

  it('a rule that limits still decides for the events it holds back; later rules never see them', () => {
    const { offer } = harness(rules('{ name: limit, match: { reason: BackOff }, action: { type: rateLimit, limit: 1, interval: 1h } }', '{ name: everything, action: forward }'));
    expect(offer(warning).rule).toBe('limit');
    expect(offer(warning)).toEqual({ action: 'rateLimited', rule: 'limit' });
  });
});
