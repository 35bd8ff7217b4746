/**
 * Every form of `match`, table-driven: one rule named `hit` forwards what it matches, and
 * unmatched events are dropped, so the decision says whether the match held.
 */
import { describe, expect, it } from 'vitest';
import type { CandidateEvent, MatchDocument } from '../../../edge-agent/filter/index.js';
import { harness } from './helpers.js';

function matches(match: MatchDocument, event: Partial<CandidateEvent>): boolean {
  const { engine, offer } = harness({ defaults: { unmatched: 'drop' }, rules: [{ name: 'hit', match, action: 'forward' }] });
  const decision = offer(event);
  engine.close();
  return decision.rule === 'hit';
}

type Case = [what: string, match: MatchDocument, event: Partial<CandidateEvent>, expected: boolean];

const sensor = (payload: CandidateEvent['payload']): Partial<CandidateEvent> => ({ source: 'bus', type: 'reading', reason: 'Published', topic: 'sensors/t1', payload });

const cases: Case[] = [
  ['empty match is a catch-all', {}, { source: 'agent' }, true],

  ['source: one, equal', { source: 'node' }, { source: 'node' }, true],
  ['source: one, other', { source: 'node' }, { source: 'pod' }, false],
  ['source: list, member', { source: ['pod', 'container'] }, { source: 'container' }, true],
  ['source: list, not a member', { source: ['pod', 'container'] }, { source: 'bus' }, false],

  ['type: exact', { type: 'Warning' }, { type: 'Warning' }, true],
  ['type: case matters', { type: 'Warning' }, { type: 'warning' }, false],
  ['type: list', { type: ['Warning', 'Error'] }, { type: 'Error' }, true],

  ['reason: exact', { reason: 'BackOff' }, { reason: 'BackOff' }, true],
  ['reason: exact, other', { reason: 'BackOff' }, { reason: 'Started' }, false],
  ['reason: list, member', { reason: ['Started', 'Killing', 'Completed'] }, { reason: 'Killing' }, true],
  ['reason: list, not a member', { reason: ['Started', 'Killing'] }, { reason: 'Pulled' }, false],

  ['object: exact', { object: 'Pod/default/web-0' }, { object: 'Pod/default/web-0' }, true],
  ['object: exact, other', { object: 'Pod/default/web-0' }, { object: 'Pod/default/web-1' }, false],
  ['object: glob in name', { object: 'Pod/default/web-*' }, { object: 'Pod/default/web-17' }, true],
  ['object: glob in namespace', { object: 'Pod/*/web-0' }, { object: 'Pod/prod/web-0' }, true],
  ['object: * does not cross /', { object: 'Pod/*' }, { object: 'Pod/default/web-0' }, false],
  ['object: ? is one character', { object: 'Pod/default/web-?' }, { object: 'Pod/default/web-12' }, false],
  ['object: cluster-scoped', { object: 'Node//*' }, { object: 'Node//edge-7' }, true],
  ['object: regex characters are literal', { object: 'Pod/default/a.b' }, { object: 'Pod/default/axb' }, false],
  ['object: list', { object: ['Node//*', 'Pod/kube-system/*'] }, { object: 'Pod/kube-system/dns' }, true],
  ['object: event without object', { object: 'Pod/*/*' }, {}, false],

  ['topic: exact', { topic: 'sensors/t1' }, { source: 'bus', topic: 'sensors/t1' }, true],
  ['topic: # matches the parent level', { topic: 'sensors/#' }, { source: 'bus', topic: 'sensors' }, true],
  ['topic: # matches deep levels', { topic: 'sensors/#' }, { source: 'bus', topic: 'sensors/a/b' }, true],
  ['topic: + is one level', { topic: 'sensors/+' }, { source: 'bus', topic: 'sensors/a/b' }, false],
  ['topic: list', { topic: ['debug/#', '+/debug/#'] }, { source: 'bus', topic: 'app/debug/trace' }, true],
  ['topic: event without topic', { topic: '#' }, { source: 'pod' }, false],

  ['fields eq: shorthand scalar', { fields: { 'payload.level': 'debug' } }, sensor({ level: 'debug' }), true],
  ['fields eq: other value', { fields: { 'payload.level': { eq: 'debug' } } }, sensor({ level: 'info' }), false],
  ['fields eq: no coercion', { fields: { 'payload.value': { eq: 1 } } }, sensor({ value: '1' }), false],
  ['fields eq: deep object equality', { fields: { 'payload.pos': { eq: { x: 1, y: 2 } } } }, sensor({ pos: { y: 2, x: 1 } }), true],
  ['fields eq: null', { fields: { 'payload.value': null } }, sensor({ value: null }), true],
  ['fields eq: missing field', { fields: { 'payload.level': 'debug' } }, sensor({}), false],
  ['fields eq: on an event member', { fields: { message: 'disk full' } }, { message: 'disk full' }, true],
  ['fields ne: other value', { fields: { 'payload.level': { ne: 'debug' } } }, sensor({ level: 'info' }), true],
  ['fields ne: equal value', { fields: { 'payload.level': { ne: 'debug' } } }, sensor({ level: 'debug' }), false],
  ['fields ne: missing field holds', { fields: { 'payload.level': { ne: 'debug' } } }, sensor({}), true],
  ['fields in: member', { fields: { 'payload.level': { in: ['warn', 'error'] } } }, sensor({ level: 'error' }), true],
  ['fields in: not a member', { fields: { 'payload.level': { in: ['warn', 'error'] } } }, sensor({ level: 'info' }), false],
  ['fields in: shorthand list', { fields: { 'payload.level': ['warn', 'error'] } }, sensor({ level: 'warn' }), true],
  ['fields in: missing field', { fields: { 'payload.level': { in: ['warn'] } } }, sensor({}), false],
  ['fields gt: above', { fields: { 'payload.value': { gt: 80 } } }, sensor({ value: 80.5 }), true],
  ['fields gt: equal', { fields: { 'payload.value': { gt: 80 } } }, sensor({ value: 80 }), false],
  ['fields gte: equal', { fields: { 'payload.value': { gte: 80 } } }, sensor({ value: 80 }), true],
  ['fields gte: below', { fields: { 'payload.value': { gte: 80 } } }, sensor({ value: 79 }), false],
  ['fields lt: below', { fields: { 'payload.value': { lt: 0 } } }, sensor({ value: -3 }), true],
  ['fields lt: equal', { fields: { 'payload.value': { lt: 0 } } }, sensor({ value: 0 }), false],
  ['fields lte: equal', { fields: { 'payload.value': { lte: 0 } } }, sensor({ value: 0 }), true],
  ['fields lte: above', { fields: { 'payload.value': { lte: 0 } } }, sensor({ value: 1 }), false],
  ['fields gt: a numeric string is not a number', { fields: { 'payload.value': { gt: 3 } } }, sensor({ value: '5' }), false],
  ['fields gt: missing field', { fields: { 'payload.value': { gt: 3 } } }, sensor({}), false],
  ['fields range: inside', { fields: { 'payload.value': { gte: 10, lt: 20 } } }, sensor({ value: 15 }), true],
  ['fields range: outside', { fields: { 'payload.value': { gte: 10, lt: 20 } } }, sensor({ value: 20 }), false],
  ['fields exists: true, present', { fields: { 'payload.value': { exists: true } } }, sensor({ value: 0 }), true],
  ['fields exists: true, present as null', { fields: { 'payload.value': { exists: true } } }, sensor({ value: null }), true],
  ['fields exists: true, missing', { fields: { 'payload.value': { exists: true } } }, sensor({ other: 1 }), false],
  ['fields exists: false, missing', { fields: { 'payload.value': { exists: false } } }, sensor({ other: 1 }), true],
  ['fields exists: false, present', { fields: { 'payload.value': { exists: false } } }, sensor({ value: 1 }), false],
  ['fields exists: no payload at all', { fields: { 'payload.value': { exists: false } } }, {}, true],
  ['fields nested path', { fields: { 'payload.reading.celsius': { gt: 30 } } }, sensor({ reading: { celsius: 31 } }), true],
  ['fields nested path through a scalar', { fields: { 'payload.reading.celsius': { exists: true } } }, sensor({ reading: 31 }), false],
  ['fields array index', { fields: { 'payload.readings.1': 7 } }, sensor({ readings: [5, 7] }), true],
  ['fields array index out of range', { fields: { 'payload.readings.2': { exists: true } } }, sensor({ readings: [5, 7] }), false],
  ['fields inherited members are missing', { fields: { 'payload.constructor': { exists: true } } }, sensor({}), false],
  ['fields payload that is a scalar', { fields: { 'payload.value': { exists: true } } }, sensor(42), false],
  ['fields whole payload', { fields: { payload: 42 } }, sensor(42), true],

  ['all conditions: every one holds', { source: 'bus', topic: 'sensors/#', fields: { 'payload.value': { gt: 1 } } }, sensor({ value: 2 }), true],
  ['all conditions: one fails', { source: 'bus', topic: 'sensors/#', fields: { 'payload.value': { gt: 1 } } }, sensor({ value: 0 }), false],
  ['all conditions: two fields, one fails', { fields: { 'payload.value': { gt: 1 }, 'payload.level': 'debug' } }, sensor({ value: 2, level: 'info' }), false],
];

describe('match', () => {
  it.each(cases)('%s', (_what, match, event, expected) => {
    expect(matches(match, event)).toBe(expected);
  });
});
