/**
 * MQTT 3.1.1 topic filters (section 4.7): levels split by `/`, `+` matches exactly one level
 * (an empty one too), `#` matches the rest including the parent level (`sensors/#` matches
 * `sensors`), and a filter that starts with a wildcard does not match topics starting with `$`.
 * `#` must be the last level and both wildcards must fill their level, so `#/debug/#` is not a
 * filter; match "debug anywhere" with a list (`debug/#`, `+/debug/#`, `+/+/debug/#`).
 */

const MAX_FILTER = 1024;

/** Why `filter` is not a valid MQTT topic filter, or undefined. */
export function topicFilterError(filter: string): string | undefined {
  if (filter.length === 0) return 'a topic filter must not be empty';
  if (filter.length > MAX_FILTER) return `a topic filter has at most ${MAX_FILTER} characters`;
  if (filter.includes('\u0000')) return 'a topic filter must not contain U+0000';
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return `"#" must be a whole level and the last one in "${filter}"`;
    if (level.includes('+') && level !== '+') return `"+" must be a whole level in "${filter}"`;
  }
  return undefined;
}

/** A compiled filter: a predicate over topic names. */
export type TopicMatcher = (topic: string) => boolean;

/**
 * Compiled to one anchored regular expression, so a rule list with many topic filters costs no
 * allocation per test (splitting the topic for every rule was the bulk of a long list's time).
 */
export function compileTopicFilter(filter: string): TopicMatcher {
  const why = topicFilterError(filter);
  if (why !== undefined) throw new Error(why);
  if (!filter.includes('+') && !filter.includes('#')) return (topic) => topic === filter;
  const levels = filter.split('/');
  let source = levels[0] === '+' || levels[0] === '#' ? '(?!\\$)' : '';
  levels.forEach((level, i) => {
    // "a/#" also matches "a": the separator before "#" is part of what it may match.
    if (level === '#') source += i === 0 ? '[\\s\\S]*' : '(?:/[\\s\\S]*)?';
    else source += (i === 0 ? '' : '/') + (level === '+' ? '[^/]*' : level.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'));
  });
  const pattern = new RegExp(`^${source}$`, 'u');
  return (topic) => pattern.test(topic);
}
