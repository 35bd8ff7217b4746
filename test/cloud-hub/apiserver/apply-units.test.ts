/**
 * The parts of server-side apply on their own: FieldsV1 encoding, kube's path strings, field
 * sets and merges by list type, and the field manager's Update/Apply bookkeeping.
 */
import { describe, expect, it } from 'vitest';
import { FieldManager } from '../../../cloud-hub/apiserver/apply/field-manager.js';
import { FieldSet, pathString } from '../../../cloud-hub/apiserver/apply/fieldpath.js';
import { TypedObjects } from '../../../cloud-hub/apiserver/apply/typed.js';
import { KubeSchemas } from '../../../cloud-hub/apiserver/schema/schema-store.js';
import { ApiError } from '../../../protocol/kube/index.js';

const schemas = new KubeSchemas();
const typed = new TypedObjects(schemas);
const POD = { group: '', version: 'v1', kind: 'Pod', statusSubresource: true };
const CONFIG_MAP = { group: '', version: 'v1', kind: 'ConfigMap', statusSubresource: false };
const podSchema = (): ReturnType<KubeSchemas['kindSchema']> => schemas.kindSchema(POD);

function pod(image: string, extra: Record<string, unknown> = {}): Record<string, any> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'app', image, ...extra }] } };
}

describe('FieldsV1', () => {
  it('round-trips a set, marking members with children with "."', () => {
    const set = new FieldSet([
      ['f:spec', 'f:containers', 'k:{"name":"app"}'],
      ['f:spec', 'f:containers', 'k:{"name":"app"}', 'f:image'],
      ['f:metadata', 'f:labels', 'f:a'],
    ]);
    const trie = set.toFieldsV1();
    expect(trie).toEqual({ 'f:metadata': { 'f:labels': { 'f:a': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {} } } } });
    expect(FieldSet.fromFieldsV1(trie).equals(set)).toBe(true);
  });

  it('prints paths as kube does in conflicts', () => {
    expect(pathString(['f:spec', 'f:containers', 'k:{"name":"app"}', 'f:image'])).toBe('.spec.containers[name="app"].image');
    expect(pathString(['f:spec', 'f:containers', 'k:{"name":"a"}', 'f:ports', 'k:{"containerPort":80,"protocol":"TCP"}'])).toBe('.spec.containers[name="a"].ports[containerPort=80,protocol="TCP"]');
    expect(pathString(['f:metadata', 'f:finalizers', 'v:"x"'])).toBe('.metadata.finalizers[="x"]');
  });
});

describe('typed objects', () => {
  it('field sets follow list types: associative by key (ports default protocol TCP), sets by value, atomic whole', () => {
    const obj = pod('a:1', { ports: [{ containerPort: 80 }], args: ['x', 'y'] });
    obj.metadata.finalizers = ['example.com/f'];
    const keys = [...typed.fieldValues(obj, podSchema()).values()].map((field) => pathString(field.path));
    expect(keys).toEqual(
      expect.arrayContaining([
        '.spec.containers[name="app"]',
        '.spec.containers[name="app"].image',
        '.spec.containers[name="app"].ports[containerPort=80,protocol="TCP"]',
        '.spec.containers[name="app"].ports[containerPort=80,protocol="TCP"].containerPort',
        '.spec.containers[name="app"].args',
        '.metadata.finalizers[="example.com/f"]',
      ]),
    );
    expect(keys.some((key) => key.startsWith('.spec.containers[name="app"].args['))).toBe(false);
  });

  it('merge: containers by name, finalizers as a set, tolerations replaced', () => {
    const live = pod('a:1');
    live.spec.containers.push({ name: 'side', image: 's:1' });
    live.spec.tolerations = [{ key: 'a', operator: 'Exists' }];
    live.metadata.finalizers = ['x/a'];
    const config = { metadata: { finalizers: ['x/b'] }, spec: { containers: [{ name: 'app', image: 'a:2' }], tolerations: [{ key: 'b', operator: 'Exists' }] } };
    const merged = typed.merge(live, config, podSchema()) as Record<string, any>;
    expect(merged.spec.containers).toEqual([
      { name: 'app', image: 'a:2' },
      { name: 'side', image: 's:1' },
    ]);
    expect(merged.metadata.finalizers).toEqual(['x/a', 'x/b']);
    expect(merged.spec.tolerations).toEqual([{ key: 'b', operator: 'Exists' }]);
    expect(live.spec.containers[0].image).toBe('a:1');
  });
});

describe('field manager', () => {
  const now = (): Date => new Date('2026-01-02T03:04:05Z');
  const manager = new FieldManager(schemas, now);

  it('an Update owns what it added or changed and takes it from others; status is not owned by main-resource writes', () => {
    const created = pod('a:1');
    created.status = { phase: 'Pending' };
    manager.recordUpdate(POD, undefined, created, 'creator', '');
    expect(created.metadata.managedFields).toEqual([
      { manager: 'creator', operation: 'Update', apiVersion: 'v1', time: '2026-01-02T03:04:05Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } } },
    ]);
    const edited = structuredClone(created);
    edited.spec.containers[0].image = 'a:2';
    manager.recordUpdate(POD, created, edited, 'editor', '');
    const [creator, editor] = edited.metadata.managedFields;
    expect(creator.fieldsV1).toEqual({ 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:name': {} } } } });
    expect(editor.fieldsV1).toEqual({ 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { 'f:image': {} } } } });
  });

  it('Apply: conflicts per field without force, force takes over, dropped fields are removed', () => {
    const cm = (data: Record<string, string>): Record<string, any> => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data });
    const first = manager.apply(CONFIG_MAP, undefined, cm({ a: '1', b: '2' }), { manager: 'one', force: false, subresource: '' });
    let error: unknown;
    try {
      manager.apply(CONFIG_MAP, first, cm({ a: '9', b: '2' }), { manager: 'two', force: false, subresource: '' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe(409);
    expect((error as ApiError).message).toBe('Apply failed with 1 conflict: conflict with "one": .data.a');
    expect((error as ApiError).details?.causes).toEqual([{ reason: 'FieldManagerConflict', message: 'conflict with "one"', field: '.data.a' }]);
    const forced = manager.apply(CONFIG_MAP, first, cm({ a: '9', b: '2' }), { manager: 'two', force: true, subresource: '' });
    expect(forced.data).toEqual({ a: '9', b: '2' });
    // "one" now owns only b (shared with "two"); applying without b keeps it (two owns it too).
    const again = manager.apply(CONFIG_MAP, forced, cm({ c: '3' }), { manager: 'one', force: false, subresource: '' });
    expect(again.data).toEqual({ a: '9', b: '2', c: '3' });
    const dropped = manager.apply(CONFIG_MAP, again, cm({}), { manager: 'one', force: false, subresource: '' });
    expect(dropped.data).toEqual({ a: '9', b: '2' });
  });

  it('an object without managedFields is owned by before-first-apply', () => {
    const legacy = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } };
    expect(() => manager.apply(CONFIG_MAP, legacy, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '2' } }, { manager: 'm', force: false, subresource: '' })).toThrow(
      'Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .data.a',
    );
  });
});
