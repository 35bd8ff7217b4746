/** Env resolution over every reference form, as the kubelet computes it. */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import { EnvResolver, expandCommand } from '../../../edge-agent/runtime/env-resolver.js';
import { ReferencedObjects } from '../../../edge-agent/runtime/referenced-objects.js';
import { parsePod } from '../../../edge-agent/runtime/pod-spec.js';
import { HOST_IP, MemoryLookup, NODE, configMap, makePod, secret } from './helpers.js';

const lookup = new MemoryLookup([
  configMap('cfg', { A: 'from-cfg', B: 'b', REF: '$(A)', 'bad key': 'x', '1bad': 'y' }),
  configMap('other', { A: 'other-a' }),
  secret('sec', { TOKEN: 's3cret', USER: 'admin' }),
]);
const resolver = new EnvResolver({ objects: new ReferencedObjects(lookup), hostIP: HOST_IP });

function resolve(container: JsonObject): ReturnType<EnvResolver['resolve']> {
  const pod = parsePod(
    makePod({ name: 'web', namespace: 'default', uid: 'uid-1', labels: { app: 'web' }, annotations: { note: 'n' }, containers: [{ name: 'c', command: ['true'], ...container }] }),
  );
  return resolver.resolve(pod, pod.containers[0]!);
}

const cmRef = (name: string, key: string, optional?: boolean): JsonObject => ({ configMapKeyRef: optional === undefined ? { name, key } : { name, key, optional } });
const secretRef = (name: string, key: string, optional?: boolean): JsonObject => ({ secretKeyRef: optional === undefined ? { name, key } : { name, key, optional } });
const field = (fieldPath: string): JsonObject => ({ fieldRef: { fieldPath } });

describe('EnvResolver', () => {
  it.each<[string, JsonObject, Record<string, string>]>([
    ['literal', { env: [{ name: 'X', value: 'plain' }] }, { X: 'plain' }],
    ['literal empty', { env: [{ name: 'X', value: '' }] }, { X: '' }],
    ['literal without value', { env: [{ name: 'X' }] }, { X: '' }],
    ['expands what is defined before', { env: [{ name: 'X', value: 'x' }, { name: 'Y', value: '$(X)-y' }] }, { X: 'x', Y: 'x-y' }],
    ['does not expand what is defined after', { env: [{ name: 'Y', value: '$(X)-y' }, { name: 'X', value: 'x' }] }, { Y: '$(X)-y', X: 'x' }],
    ['$$ escapes', { env: [{ name: 'X', value: 'x' }, { name: 'Y', value: '$$(X) costs $$5' }] }, { X: 'x', Y: '$(X) costs $5' }],
    ['configMapKeyRef', { env: [{ name: 'X', valueFrom: cmRef('cfg', 'A') }] }, { X: 'from-cfg' }],
    ['reference values are not expanded', { env: [{ name: 'A', value: 'lit' }, { name: 'X', valueFrom: cmRef('cfg', 'REF') }] }, { A: 'lit', X: '$(A)' }],
    ['optional configMap missing', { env: [{ name: 'X', valueFrom: cmRef('nope', 'A', true) }] }, {}],
    ['optional key missing', { env: [{ name: 'X', valueFrom: cmRef('cfg', 'NOPE', true) }] }, {}],
    ['secretKeyRef is decoded', { env: [{ name: 'X', valueFrom: secretRef('sec', 'TOKEN') }] }, { X: 's3cret' }],
    ['optional secret missing', { env: [{ name: 'X', valueFrom: secretRef('nope', 'TOKEN', true) }] }, {}],
    ['fieldRef metadata.name', { env: [{ name: 'X', valueFrom: field('metadata.name') }] }, { X: 'web' }],
    ['fieldRef metadata.namespace', { env: [{ name: 'X', valueFrom: field('metadata.namespace') }] }, { X: 'default' }],
    ['fieldRef metadata.uid', { env: [{ name: 'X', valueFrom: field('metadata.uid') }] }, { X: 'uid-1' }],
    ["fieldRef metadata.labels['app']", { env: [{ name: 'X', valueFrom: field("metadata.labels['app']") }] }, { X: 'web' }],
    ["fieldRef metadata.annotations['note']", { env: [{ name: 'X', valueFrom: field("metadata.annotations['note']") }] }, { X: 'n' }],
    ['fieldRef spec.nodeName', { env: [{ name: 'X', valueFrom: field('spec.nodeName') }] }, { X: NODE }],
    ['fieldRef status.hostIP', { env: [{ name: 'X', valueFrom: field('status.hostIP') }] }, { X: HOST_IP }],
    ['fieldRef status.podIP is the host IP', { env: [{ name: 'X', valueFrom: field('status.podIP') }] }, { X: HOST_IP }],
    ['envFrom configMap', { envFrom: [{ configMapRef: { name: 'other' } }] }, { A: 'other-a' }],
    ['envFrom prefix', { envFrom: [{ prefix: 'P_', configMapRef: { name: 'other' } }] }, { P_A: 'other-a' }],
    ['envFrom secret', { envFrom: [{ secretRef: { name: 'sec' } }] }, { TOKEN: 's3cret', USER: 'admin' }],
    ['envFrom optional missing', { envFrom: [{ configMapRef: { name: 'nope', optional: true } }] }, {}],
    ['later envFrom overrides earlier', { envFrom: [{ configMapRef: { name: 'cfg' } }, { configMapRef: { name: 'other' } }] }, { A: 'other-a', B: 'b', REF: '$(A)' }],
    ['env overrides envFrom', { envFrom: [{ configMapRef: { name: 'other' } }], env: [{ name: 'A', value: 'mine' }] }, { A: 'mine' }],
    ['env expands envFrom values', { envFrom: [{ configMapRef: { name: 'other' } }], env: [{ name: 'X', value: '<$(A)>' }] }, { A: 'other-a', X: '<other-a>' }],
  ])('%s', (_name, container, want) => {
    const result = resolve(container);
    if (!result.ok) throw new Error(result.message);
    expect(Object.fromEntries(result.env)).toEqual(want);
  });

  it.each<[string, JsonObject, string]>([
    ['configMap missing', { env: [{ name: 'X', valueFrom: cmRef('nope', 'A') }] }, 'configmap "nope" not found'],
    ['configMap key missing', { env: [{ name: 'X', valueFrom: cmRef('cfg', 'NOPE') }] }, "couldn't find key NOPE in ConfigMap default/cfg"],
    ['secret missing', { env: [{ name: 'X', valueFrom: secretRef('nope', 'T') }] }, 'secret "nope" not found'],
    ['secret key missing', { env: [{ name: 'X', valueFrom: secretRef('sec', 'NOPE', false) }] }, "couldn't find key NOPE in Secret default/sec"],
    ['envFrom configMap missing', { envFrom: [{ configMapRef: { name: 'nope' } }] }, 'configmap "nope" not found'],
    ['envFrom secret missing', { envFrom: [{ secretRef: { name: 'nope', optional: false } }] }, 'secret "nope" not found'],
    ['whole label map in env', { env: [{ name: 'X', valueFrom: field('metadata.labels') }] }, 'fieldRef metadata.labels is only valid in a downwardAPI volume'],
    ['resourceFieldRef', { env: [{ name: 'X', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } }] }, 'env valueFrom.resourceFieldRef is not supported by the process runtime'],
  ])('error: %s', (_name, container, message) => {
    expect(resolve(container)).toEqual({ ok: false, message });
  });

  it('skips envFrom keys that are not variable names, with a warning naming them', () => {
    const result = resolve({ envFrom: [{ configMapRef: { name: 'cfg' } }] });
    if (!result.ok) throw new Error(result.message);
    expect([...result.env.keys()].sort()).toEqual(['A', 'B', 'REF']);
    expect(result.warnings).toEqual(['Keys [1bad, bad key] from the EnvFrom configMap default/cfg were skipped since they are considered invalid environment variable names.']);
  });

  it('expands command and args against the declared env', () => {
    const result = resolve({ command: ['echo', '$(A)'], args: ['$(B)', '$$(A)', '$(NOPE)'], envFrom: [{ configMapRef: { name: 'cfg' } }] });
    if (!result.ok) throw new Error(result.message);
    const pod = parsePod(makePod({ containers: [{ name: 'c', command: ['echo', '$(A)'], args: ['$(B)', '$$(A)', '$(NOPE)'] }] }));
    expect(expandCommand(pod.containers[0]!, result.env)).toEqual(['echo', 'from-cfg', 'b', '$(A)', '$(NOPE)']);
  });
});
