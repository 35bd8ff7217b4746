/**
 * The parts of server-side apply on their own: FieldsV1 encoding, kube's path strings, field
 * sets and merges by list type, and the field manager's Update/Apply bookkeeping.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FieldManager } from '../../../cloud-hub/apiserver/apply/field-manager.js';
import { FieldSet, pathString } from '../../../cloud-hub/apiserver/apply/fieldpath.js';
import { compareFields, TypedObjects, type FieldValue } from '../../../cloud-hub/apiserver/apply/typed.js';
import { KubeSchemas } from '../../../cloud-hub/apiserver/schema/schema-store.js';
import type { JsonObject, JsonValue } from '../../../protocol/index.js';
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

describe('field diff and recordUpdate against the plain definitions', () => {
  const choice = <T,>(...values: T[]): fc.Arbitrary<T> => fc.constantFrom(...values);
  const container = fc.record(
    {
      name: choice('a', 'b', 'c'),
      image: choice('x:1', 'x:2'),
      ports: fc.array(fc.record({ containerPort: choice(80, 443), protocol: choice('TCP', 'UDP') }, { requiredKeys: ['containerPort'] }), { maxLength: 3 }),
      args: fc.array(choice('-v', '-q'), { maxLength: 2 }),
      env: fc.oneof(fc.constant(null), fc.array(fc.record({ name: choice('A', 'B'), value: choice('1', '2') }), { maxLength: 2 })),
    },
    { requiredKeys: ['name'] },
  );
  const podArb = fc.record(
    {
      metadata: fc.record(
        {
          labels: fc.oneof(fc.constant(null), fc.dictionary(choice('app', 'rev'), choice('1', '2'), { maxKeys: 2 })),
          finalizers: fc.array(choice('f/1', 'f/2'), { maxLength: 3 }),
          annotations: fc.dictionary(choice('x/y', 'z'), choice('', '1'), { maxKeys: 2 }),
          unknownField: choice(1, 2),
        },
        { requiredKeys: [] },
      ),
      spec: fc.record(
        {
          containers: fc.array(container, { maxLength: 3 }),
          nodeName: choice('n1', 'n2'),
          nodeSelector: fc.dictionary(choice('k', 'l'), choice('1'), { maxKeys: 2 }),
          tolerations: fc.array(fc.record({ key: choice('t'), effect: choice('NoSchedule', 'NoExecute') }), { maxLength: 2 }),
        },
        { requiredKeys: [] },
      ),
      status: fc.record({ phase: choice('Pending', 'Running'), conditions: fc.array(fc.record({ type: choice('Ready', 'Init'), status: choice('True', 'False') }), { maxLength: 2 }) }, { requiredKeys: [] }),
    },
    { requiredKeys: ['metadata', 'spec'] },
  ).map((obj) => ({ apiVersion: 'v1', kind: 'Pod', ...obj, metadata: { name: 'p', namespace: 'default', ...obj.metadata } }) as JsonObject);

  it('diffFields lists exactly what comparing the whole field sets lists', () => {
    const keys = (paths: readonly (readonly string[])[]): string[] => paths.map((path) => FieldSet.key(path)).sort();
    fc.assert(
      fc.property(fc.option(podArb, { nil: undefined }), podArb, (before, after) => {
        const plain = compareFields(before ? typed.fieldValues(before, podSchema()) : new Map(), typed.fieldValues(after, podSchema()));
        const fast = typed.diffFields(before, after, podSchema());
        expect(keys(fast.changed)).toEqual(keys(plain.changed));
        expect(keys(fast.removed)).toEqual(keys(plain.removed));
      }),
      { numRuns: 1500 },
    );
  });

  /** recordUpdate as first written: every entry parsed, changed and written back. */
  function plainRecordUpdate(old: JsonObject | undefined, next: JsonObject, manager: string, subresource: string, time: string): JsonValue[] {
    const never = new Set(['f:apiVersion', 'f:kind', 'f:metadata', ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'generation', 'managedFields', 'resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds'].map((field) => `f:metadata\u0000f:${field}`)]);
    const owned = (obj: JsonObject): Map<string, FieldValue> => {
      const values = typed.fieldValues(obj, podSchema());
      for (const [key, field] of values) if (never.has(key) || (subresource === 'status') !== (field.path[0] === 'f:status')) values.delete(key);
      return values;
    };
    const { changed, removed } = compareFields(old ? owned(old) : new Map(), owned(next));
    const changedSet = new FieldSet(changed);
    const removedSet = new FieldSet(removed);
    const list = ((old?.metadata as JsonObject | undefined)?.managedFields ?? []) as JsonObject[];
    interface Entry {
      manager: string;
      operation: string;
      apiVersion: string;
      time?: string;
      subresource?: string;
      set: FieldSet;
    }
    const entries: Entry[] = list.map((entry) => ({ ...(entry as unknown as Omit<Entry, 'set'>), set: FieldSet.fromFieldsV1(entry.fieldsV1) }));
    let mine = entries.find((entry) => entry.manager === manager && entry.operation === 'Update' && (entry.subresource ?? '') === subresource);
    for (const entry of entries) if (entry !== mine) entry.set = entry.set.difference(changedSet).difference(removedSet);
    if (!changedSet.empty) {
      if (!mine) entries.push((mine = { manager, operation: 'Update', apiVersion: 'v1', set: new FieldSet(), ...(subresource ? { subresource } : {}) }));
      mine.set = mine.set.union(changedSet).difference(removedSet);
      mine.time = time;
    } else if (mine) mine.set = mine.set.difference(removedSet);
    return entries
      .filter((entry) => !entry.set.empty)
      .map(({ set, ...entry }) => {
        const out: JsonObject = { manager: entry.manager, operation: entry.operation, apiVersion: entry.apiVersion };
        if (entry.time) out.time = entry.time;
        out.fieldsType = 'FieldsV1';
        out.fieldsV1 = set.toFieldsV1();
        if (entry.subresource) out.subresource = entry.subresource;
        return out;
      });
  }

  it('recordUpdate keeps untouched entries as stored and writes what rewriting every entry writes', () => {
    let tick = 0;
    const fields = new FieldManager(schemas, () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)));
    const write = fc.record({ pod: podArb, manager: choice('kubectl', 'hub', 'agent'), subresource: choice('', '', 'status') });
    fc.assert(
      fc.property(fc.array(write, { minLength: 1, maxLength: 8 }), (writes) => {
        let old: JsonObject | undefined;
        for (const { pod: next, manager, subresource } of writes) {
          const time = new Date(Date.UTC(2026, 0, 1, 0, 0, tick)).toISOString().replace('.000Z', 'Z');
          const expected = plainRecordUpdate(old, next, manager, subresource, time);
          fields.recordUpdate(POD, old, next, manager, subresource);
          expect((next.metadata as JsonObject).managedFields ?? []).toEqual(expected);
          old = next;
        }
      }),
      { numRuns: 400 },
    );
  });
});
