/** Rules from cloud ConfigMaps in the cache: applied on change, combined, refused when invalid, local file and defaults as fallback. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudRules } from '../../../edge-agent/filter/cloud-rules.js';
import { FilterEngine } from '../../../edge-agent/filter/engine.js';
import { MemoryCache } from '../../../edge-agent/store/memory-cache.js';
import { makeTempDir } from '../../helpers/tmp.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

function setup(localFile?: string) {
  const cache = new MemoryCache();
  const engine = new FilterEngine({ clock: () => 0, emit: () => undefined });
  const rejected: string[] = [];
  const rules = new CloudRules({ engine, cache, logger: pino({ level: 'silent' }), onRejected: (message) => rejected.push(message), ...(localFile ? { localFile } : {}) });
  rules.start();
  cleanups.push(() => rules.stop(), () => engine.close());
  const put = (name: string, text: string, labelled = true) =>
    cache.apply([
      {
        op: 'put',
        key: `ConfigMap/edge-system/${name}`,
        rv: `${name}-${text.length}-${Math.random()}`,
        obj: { metadata: { name, namespace: 'edge-system', labels: labelled ? { 'edge-sync.io/filter-rules': 'true' } : {} }, data: { 'rules.yaml': text } },
      },
    ]);
  const names = () => engine.rules.rules.map((rule) => rule.name);
  return { cache, engine, rejected, put, names };
}

describe('cloud rules', () => {
  it('uses the built-in defaults until the cloud sends rules, then the cloud\'s, applied on change', () => {
    const { put, names } = setup();
    expect(names()).toContain('crash-loop');
    put('a', 'rules: [{ name: only, match: { source: bus }, action: drop }]');
    expect(names()).toEqual(['only']);
    put('a', 'rules: [{ name: changed, match: { source: bus }, action: forward }]');
    expect(names()).toEqual(['changed']);
  });

  it('combines several rule ConfigMaps in name order and ignores unlabelled ones', () => {
    const { put, names } = setup();
    put('b-second', 'rules: [{ name: second, match: { source: pod }, action: drop }]');
    put('a-first', 'rules: [{ name: first, match: { source: bus }, action: drop }]');
    put('plain', 'rules: [{ name: ignored, match: {}, action: drop }]', false);
    expect(names()).toEqual(['first', 'second']);
  });

  it('refuses an invalid set naming the rule and field, and keeps the previous one', () => {
    const { put, names, rejected } = setup();
    put('a', 'rules: [{ name: good, match: { source: bus }, action: drop }]');
    put('a', 'rules: [{ name: good, match: { source: bus }, action: drop }, { name: sensor-limit, match: { source: bus }, action: { type: rateLimit, limit: -1, interval: 1m } }]');
    expect(names()).toEqual(['good']);
    expect(rejected.at(-1)).toMatch(/rules\[1\] "sensor-limit": action\.limit/);
    put('a', 'rules: [ this is not yaml');
    expect(names()).toEqual(['good']);
    expect(rejected.at(-1)).toMatch(/not YAML/);
  });

  it('falls back to the local file when the cloud has sent nothing', () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const file = path.join(dir.path, 'rules.yaml');
    writeFileSync(file, 'rules: [{ name: local, match: { source: node }, action: forward }]');
    const { names, put } = setup(file);
    expect(names()).toEqual(['local']);
    put('a', 'rules: [{ name: cloud, match: { source: bus }, action: drop }]');
    expect(names()).toEqual(['cloud']);
  });
});
