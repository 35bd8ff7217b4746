/**
 * The rules the agent uses until the cloud sends its own. They live here as a constant, so the
 * agent needs no file at run time (the package ships dist/ only, and a file looked up next to
 * the module would be found from source but not after a build). default-rules.yaml is the same
 * set as YAML for operators to copy; test/edge-agent/filter/defaults.test.ts holds the two equal.
 * README.md explains each rule.
 */
import { validateRuleSet, type RuleSet } from './rule-set.js';
import type { RuleSetDocument } from './schema.js';

export const DEFAULT_RULES_ORIGIN = 'built-in defaults';

export const DEFAULT_RULES_DOCUMENT: RuleSetDocument = {
  defaults: { priority: 4, ttl: '1d', unmatched: 'forward' },
  rules: [
    {
      name: 'bus-debug',
      match: { source: 'bus', topic: ['debug/#', '+/debug/#', '+/+/debug/#', '+/+/+/debug/#'] },
      action: 'drop',
    },
    {
      name: 'crash-loop',
      match: { source: ['pod', 'container'], reason: 'BackOff' },
      action: { type: 'rateLimit', limit: 1, interval: '5m', key: 'object', priority: 7, ttl: '1d' },
    },
    {
      name: 'warnings',
      match: { source: ['pod', 'container', 'node', 'agent'], type: 'Warning' },
      action: { type: 'dedupe', window: '1m', priority: 8, ttl: '7d' },
    },
    {
      name: 'lifecycle',
      match: { source: ['pod', 'container'], type: 'Normal', reason: ['Started', 'Killing', 'Completed'] },
      action: { type: 'dedupe', window: '10m', priority: 2, ttl: '1h' },
    },
    {
      name: 'normal-noise',
      match: { source: ['pod', 'container'], type: 'Normal' },
      action: 'drop',
    },
    {
      name: 'sensor-readings',
      match: { source: 'bus', topic: 'sensors/#' },
      action: { type: 'aggregate', window: '60s', key: 'topic', field: 'payload.value', priority: 3, ttl: '1h' },
    },
    {
      name: 'bus-other',
      match: { source: 'bus' },
      action: { type: 'rateLimit', limit: 10, interval: '1m', key: 'topic', priority: 3, ttl: '1h' },
    },
  ],
};

/** Validated once at load: a mistake here fails every test that imports the filter. */
export const DEFAULT_RULES: RuleSet = validateRuleSet(DEFAULT_RULES_DOCUMENT, DEFAULT_RULES_ORIGIN);
