/** MQTT 3.1.1 topic filters (section 4.7) as `match.topic` uses them. */
import { describe, expect, it } from 'vitest';
import { compileTopicFilter, topicFilterError } from '../../../edge-agent/filter/index.js';

describe('topic filter matching', () => {
  const cases: [filter: string, topic: string, matches: boolean][] = [
    // exact
    ['sensors/t1', 'sensors/t1', true],
    ['sensors/t1', 'sensors/t2', false],
    ['sensors/t1', 'sensors/t1/x', false],
    ['sensors', 'Sensors', false],
    // '#' matches the rest, including the parent level itself
    ['sensors/#', 'sensors', true],
    ['sensors/#', 'sensors/t1', true],
    ['sensors/#', 'sensors/a/b/c', true],
    ['sensors/#', 'sensors/', true],
    ['sensors/#', 'sensorsx', false],
    ['sensors/#', 'other/sensors/t1', false],
    ['a/b/#', 'a/b', true],
    ['a/b/#', 'a', false],
    ['#', 'anything/at/all', true],
    ['#', '/leading', true],
    // '+' matches exactly one level, an empty one too
    ['sensors/+', 'sensors/t1', true],
    ['sensors/+', 'sensors/', true],
    ['sensors/+', 'sensors', false],
    ['sensors/+', 'sensors/t1/x', false],
    ['+/debug/#', 'app/debug', true],
    ['+/debug/#', 'app/debug/x/y', true],
    ['+/debug/#', 'debug/x', false],
    ['+/debug/#', 'a/b/debug/x', false],
    ['+/+', '/finance', true],
    ['+', '/finance', false],
    ['/+', '/finance', true],
    ['+/+/temp', 'site/t1/temp', true],
    ['+/+/temp', 'site/t1/humidity', false],
    // characters that mean something in a regular expression are plain here
    ['a.b/+', 'a.b/c', true],
    ['a.b/+', 'aXb/c', false],
    ['(x)|[y]/#', '(x)|[y]/z', true],
    ['^s$/+', '^s$/t', true],
    ['caf\u00e9/+', 'caf\u00e9/1', true],
    // wildcard-first filters do not match $ topics; explicit ones do
    ['#', '$SYS/broker/load', false],
    ['+/broker/#', '$SYS/broker/load', false],
    ['$SYS/#', '$SYS/broker/load', true],
  ];

  it.each(cases)('%s against %s is %s', (filter, topic, matches) => {
    expect(compileTopicFilter(filter)(topic)).toBe(matches);
  });
});

describe('topic filter validation', () => {
  it.each(['#/debug/#', 'a/#/b', 'a/b#', 'a+/b', 'a/+b', '', 'a\u0000b', 'x'.repeat(1025)])('refuses %j', (filter) => {
    expect(topicFilterError(filter)).toBeTypeOf('string');
    expect(() => compileTopicFilter(filter)).toThrow();
  });

  it.each(['#', '+', 'a/+/b/#', '/', 'a//b', '+/+/+'])('accepts %j', (filter) => {
    expect(topicFilterError(filter)).toBeUndefined();
  });
});
