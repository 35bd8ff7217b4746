/** Label selectors (protocol/, shared by both APIs) and the agent's field selector parser: the grammar kube accepts, its matching rules, and its refusals. */
import { describe, expect, it } from 'vitest';
import { parseLabelSelector, SelectorError } from '../../../protocol/kube/index.js';
import { parseFieldSelector } from '../../../edge-agent/local-api/index.js';
import { pod } from './helpers.js';

describe('label selectors', () => {
  it('parses every form into requirements', () => {
    expect(parseLabelSelector('').requirements).toEqual([]);
    expect(parseLabelSelector(' app = web , tier==front,env!=dev').requirements).toEqual([
      { key: 'app', operator: 'in', values: ['web'] },
      { key: 'tier', operator: 'in', values: ['front'] },
      { key: 'env', operator: 'notin', values: ['dev'] },
    ]);
    expect(parseLabelSelector('env in (prod, staging),zone notin(a),gpu,!canary,example.com/role=x,n>3,m<-1').requirements).toEqual([
      { key: 'env', operator: 'in', values: ['prod', 'staging'] },
      { key: 'zone', operator: 'notin', values: ['a'] },
      { key: 'gpu', operator: 'exists', values: [] },
      { key: 'canary', operator: '!exists', values: [] },
      { key: 'example.com/role', operator: 'in', values: ['x'] },
      { key: 'n', operator: 'gt', values: ['3'] },
      { key: 'm', operator: 'lt', values: ['-1'] },
    ]);
    // "app=" selects the empty value; "in ()" is the set {""}.
    expect(parseLabelSelector('app=').requirements).toEqual([{ key: 'app', operator: 'in', values: [''] }]);
    expect(parseLabelSelector('app in ()').requirements).toEqual([{ key: 'app', operator: 'in', values: [''] }]);
  });

  it('matches as Kubernetes does', () => {
    const labels = { app: 'web', n: '5', empty: '' };
    const matches = (selector: string, on: Record<string, string> | null = labels): boolean => parseLabelSelector(selector).matches(on ?? undefined);
    expect(matches('app=web')).toBe(true);
    expect(matches('app=db')).toBe(false);
    expect(matches('missing!=x')).toBe(true);
    expect(matches('missing notin (x)')).toBe(true);
    expect(matches('missing in (x)')).toBe(false);
    expect(matches('empty=')).toBe(true);
    expect(matches('empty')).toBe(true);
    expect(matches('!empty')).toBe(false);
    expect(matches('n>4,n<6')).toBe(true);
    expect(matches('n>5')).toBe(false);
    expect(matches('app>1')).toBe(false); // not a number
    expect(matches('app', null)).toBe(false);
    expect(matches('!app', null)).toBe(true);
    expect(matches('', null)).toBe(true);
  });

  it('refuses what kube refuses', () => {
    for (const bad of ['app in (web', 'app in web', 'app===web', 'app=web,', ',app', 'app=a b', '-app=x', 'app=-x', `app=${'x'.repeat(64)}`, 'Example.com/a=b', 'n>x', 'a b', '!', 'app notin']) {
      expect(() => parseLabelSelector(bad), bad).toThrow(SelectorError);
    }
  });
});

describe('field selectors', () => {
  it('parses =, == and != with escapes, and matches dotted fields', () => {
    const selector = parseFieldSelector('metadata.name=web-0,spec.nodeName!=edge-2,metadata.namespace==default', 'Pod');
    expect(selector.requirements).toEqual([
      { field: 'metadata.name', equal: true, value: 'web-0' },
      { field: 'spec.nodeName', equal: false, value: 'edge-2' },
      { field: 'metadata.namespace', equal: true, value: 'default' },
    ]);
    expect(selector.matches(pod('web-0'))).toBe(true);
    expect(selector.matches(pod('web-0', { nodeName: 'edge-2' }))).toBe(false);
    // From a key alone only the name and namespace requirements can be checked (deletions keep only the key).
    expect(selector.matchesName('default', 'web-0')).toBe(true);
    expect(selector.matchesName('other', 'web-0')).toBe(false);
    expect(parseFieldSelector('metadata.name=a\\,b\\=c\\\\', 'ConfigMap').requirements).toEqual([{ field: 'metadata.name', equal: true, value: 'a,b=c\\' }]);
    // An absent field reads as "": spec.nodeName= selects unscheduled pods.
    const unscheduled = pod('p');
    delete (unscheduled.spec as Record<string, unknown>).nodeName;
    expect(parseFieldSelector('spec.nodeName=', 'Pod').matches(unscheduled)).toBe(true);
    expect(parseFieldSelector('', 'Pod').isEmpty).toBe(true);
  });

  it('refuses malformed terms and fields the kind does not support', () => {
    expect(() => parseFieldSelector('metadata.name', 'Pod')).toThrow(/not of the form/);
    expect(() => parseFieldSelector('metadata.name=a\\b', 'Pod')).toThrow(/invalid escape/);
    expect(() => parseFieldSelector('spec.nodeName=edge-1', 'ConfigMap')).toThrow(/field label not supported: spec.nodeName/);
    expect(() => parseFieldSelector('status.phase=Running', 'Pod')).toThrow(SelectorError);
  });
});
