import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../protocol/index.js';
import { NodeScope } from '../../cloud-hub/scope/node-scope.js';
import { podReferenceKeys } from '../../cloud-hub/scope/pod-references.js';
import { WATCHED_KINDS, type WatchedKind } from '../../cloud-hub/source/kinds.js';
import { projectObject } from '../../cloud-hub/source/projection.js';
import { ObjectStore } from '../../cloud-hub/source/object-store.js';

function pod(name: string, node: string | undefined, spec: JsonObject = {}): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ns', uid: `uid-${name}` },
    spec: { ...(node ? { nodeName: node } : {}), containers: [{ name: 'c', image: 'x' }], ...spec },
  };
}

function object(kind: WatchedKind, name: string, data: JsonObject = {}): JsonObject {
  return { apiVersion: 'v1', kind, metadata: { name, ...(kind === 'Node' ? {} : { namespace: 'ns' }) }, data };
}

/** A store and scope with a log of (node, key) dirty notifications, fed projected objects as the source does. */
function setup(connected: string[] = []) {
  const store = new ObjectStore();
  const dirty: string[] = [];
  const scope = new NodeScope(store, (node, key) => dirty.push(`${node} ${key}`), 'edge-system', () => connected);
  const upsert = (kind: WatchedKind, obj: JsonObject): void => {
    const change = store.apply({ kind, type: 'upsert', obj: projectObject(WATCHED_KINDS[kind], obj), at: 0 });
    if (change) scope.apply(change);
  };
  const remove = (kind: WatchedKind, obj: JsonObject): void => {
    const change = store.apply({ kind, type: 'delete', obj: projectObject(WATCHED_KINDS[kind], obj), at: 0 });
    if (change) scope.apply(change);
  };
  const desired = (node: string): string[] => [...scope.desired(node).keys()].sort();
  return { store, scope, dirty, upsert, remove, desired };
}

const container = (extra: JsonObject): JsonObject => ({ name: 'c', image: 'x', ...extra });

describe('pod references (NodeAuthorizer rule)', () => {
  it.each<[string, JsonObject, string[]]>([
    ['env configMapKeyRef', { containers: [container({ env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } }] })] }, ['ConfigMap/ns/cm']],
    ['env secretKeyRef', { containers: [container({ env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] })] }, ['Secret/ns/s']],
    ['env literal and fieldRef reference nothing', { containers: [container({ env: [{ name: 'A', value: 'x' }, { name: 'B', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] })] }, []],
    ['envFrom configMapRef', { containers: [container({ envFrom: [{ configMapRef: { name: 'cm' } }] })] }, ['ConfigMap/ns/cm']],
    ['envFrom secretRef', { containers: [container({ envFrom: [{ secretRef: { name: 's' } }] })] }, ['Secret/ns/s']],
    ['init container env', { initContainers: [container({ env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'init-s', key: 'k' } } }] })] }, ['Secret/ns/init-s']],
    ['ephemeral container envFrom', { ephemeralContainers: [container({ envFrom: [{ configMapRef: { name: 'dbg' } }] })] }, ['ConfigMap/ns/dbg']],
    ['configMap volume', { volumes: [{ name: 'v', configMap: { name: 'cm' } }] }, ['ConfigMap/ns/cm']],
    ['secret volume', { volumes: [{ name: 'v', secret: { secretName: 's' } }] }, ['Secret/ns/s']],
    [
      'projected volume',
      { volumes: [{ name: 'v', projected: { sources: [{ configMap: { name: 'p-cm' } }, { secret: { name: 'p-s' } }, { downwardAPI: { items: [] } }, { serviceAccountToken: { path: 't' } }] } }] },
      ['ConfigMap/ns/p-cm', 'Secret/ns/p-s'],
    ],
    ['imagePullSecrets', { imagePullSecrets: [{ name: 'pull' }] }, ['Secret/ns/pull']],
    ['csi nodePublishSecretRef', { volumes: [{ name: 'v', csi: { driver: 'd', nodePublishSecretRef: { name: 'csi-s' } } }] }, ['Secret/ns/csi-s']],
    ['cephfs and rbd secretRef', { volumes: [{ name: 'a', cephfs: { secretRef: { name: 'ceph' } } }, { name: 'b', rbd: { secretRef: { name: 'rbd' } } }] }, ['Secret/ns/ceph', 'Secret/ns/rbd']],
    ['azureFile secretName', { volumes: [{ name: 'v', azureFile: { secretName: 'az', shareName: 's' } }] }, ['Secret/ns/az']],
    ['optional references count too', { containers: [container({ envFrom: [{ configMapRef: { name: 'maybe', optional: true } }] })] }, ['ConfigMap/ns/maybe']],
    ['emptyDir and hostPath reference nothing', { volumes: [{ name: 'a', emptyDir: {} }, { name: 'b', hostPath: { path: '/x' } }] }, []],
    [
      'the same name from several places counts once',
      { containers: [container({ envFrom: [{ configMapRef: { name: 'cm' } }] })], volumes: [{ name: 'v', configMap: { name: 'cm' } }] },
      ['ConfigMap/ns/cm'],
    ],
  ])('%s', (_name, spec, expected) => {
    expect(podReferenceKeys(pod('p', 'edge-1', spec))).toEqual(expected);
  });
});

describe('node scope', () => {
  it('gives a node its Node, its Pods and what they reference, and nothing of another node', () => {
    const { upsert, desired } = setup();
    upsert('Node', object('Node', 'edge-1'));
    upsert('Node', object('Node', 'edge-2'));
    upsert('ConfigMap', object('ConfigMap', 'cm'));
    upsert('Secret', object('Secret', 's'));
    upsert('ConfigMap', object('ConfigMap', 'unreferenced'));
    upsert('Pod', pod('a', 'edge-1', { volumes: [{ name: 'v', configMap: { name: 'cm' } }], imagePullSecrets: [{ name: 's' }] }));
    upsert('Pod', pod('b', 'edge-2'));
    upsert('Pod', pod('unbound', undefined, { volumes: [{ name: 'v', configMap: { name: 'unreferenced' } }] }));
    expect(desired('edge-1')).toEqual(['ConfigMap/ns/cm', 'Node//edge-1', 'Pod/ns/a', 'Secret/ns/s']);
    expect(desired('edge-2')).toEqual(['Node//edge-2', 'Pod/ns/b']);
  });

  it('orders the desired set Node, configuration, then Pods', () => {
    const { upsert, scope } = setup();
    upsert('Pod', pod('a', 'edge-1', { volumes: [{ name: 'v', configMap: { name: 'cm' } }] }));
    upsert('ConfigMap', object('ConfigMap', 'cm'));
    upsert('Node', object('Node', 'edge-1'));
    expect([...scope.desired('edge-1').keys()]).toEqual(['Node//edge-1', 'ConfigMap/ns/cm', 'Pod/ns/a']);
  });

  it('an optional reference to a missing object joins the set when the object appears', () => {
    const { upsert, remove, desired, dirty } = setup();
    upsert('Pod', pod('a', 'edge-1', { containers: [container({ envFrom: [{ secretRef: { name: 'later', optional: true } }] })] }));
    expect(desired('edge-1')).toEqual(['Pod/ns/a']);
    dirty.length = 0;
    upsert('Secret', object('Secret', 'later'));
    expect(dirty).toEqual(['edge-1 Secret/ns/later']);
    expect(desired('edge-1')).toEqual(['Pod/ns/a', 'Secret/ns/later']);
    remove('Secret', object('Secret', 'later'));
    expect(desired('edge-1')).toEqual(['Pod/ns/a']);
  });

  it('a Pod gaining a reference brings the object, losing the last reference removes it', () => {
    const { upsert, remove, desired, dirty } = setup();
    upsert('ConfigMap', object('ConfigMap', 'cm'));
    upsert('Pod', pod('a', 'edge-1'));
    upsert('Pod', pod('b', 'edge-1'));
    dirty.length = 0;
    upsert('Pod', pod('a', 'edge-1', { volumes: [{ name: 'v', configMap: { name: 'cm' } }] }));
    expect(dirty).toEqual(['edge-1 ConfigMap/ns/cm', 'edge-1 Pod/ns/a']);
    upsert('Pod', pod('b', 'edge-1', { volumes: [{ name: 'v', configMap: { name: 'cm' } }] }));
    dirty.length = 0;
    // One of two referencing Pods goes: the ConfigMap stays.
    remove('Pod', pod('a', 'edge-1'));
    expect(dirty).toEqual(['edge-1 Pod/ns/a']);
    expect(desired('edge-1')).toEqual(['ConfigMap/ns/cm', 'Pod/ns/b']);
    // The last reference goes with an update: the ConfigMap leaves too.
    dirty.length = 0;
    upsert('Pod', pod('b', 'edge-1'));
    expect(dirty).toEqual(['edge-1 Pod/ns/b', 'edge-1 ConfigMap/ns/cm']);
    expect(desired('edge-1')).toEqual(['Pod/ns/b']);
  });

  it('a shared ConfigMap change marks every referencing node once and is stored once', () => {
    const { upsert, store, scope, dirty } = setup();
    upsert('ConfigMap', object('ConfigMap', 'shared', { v: '1' }));
    for (let i = 0; i < 1000; i++) upsert('Pod', pod(`p${i}`, `edge-${i}`, { volumes: [{ name: 'v', configMap: { name: 'shared' } }] }));
    dirty.length = 0;
    upsert('ConfigMap', object('ConfigMap', 'shared', { v: '2' }));
    expect(dirty).toHaveLength(1000);
    expect(new Set(dirty).size).toBe(1000);
    expect(scope.nodesReferencing('ConfigMap/ns/shared').size).toBe(1000);
    // One entry for the ConfigMap, the same entry in every node's desired set.
    expect(store.size).toBe(1001);
    expect(scope.desired('edge-1').get('ConfigMap/ns/shared')).toBe(scope.desired('edge-999').get('ConfigMap/ns/shared'));
  });

  it('ignores changes the edge cannot see (status, managedFields, resourceVersion)', () => {
    const { upsert, dirty } = setup();
    upsert('Pod', { ...pod('a', 'edge-1'), status: { phase: 'Pending' } });
    dirty.length = 0;
    upsert('Pod', { ...pod('a', 'edge-1'), status: { phase: 'Running' } });
    const withNoise = pod('a', 'edge-1');
    (withNoise.metadata as JsonObject).resourceVersion = '99';
    (withNoise.metadata as JsonObject).managedFields = [{ manager: 'kubectl' }];
    upsert('Pod', withNoise);
    expect(dirty).toEqual([]);
  });

  it('a Pod deleted removes it and releases its references', () => {
    const { upsert, remove, desired } = setup();
    upsert('Secret', object('Secret', 's'));
    upsert('Pod', pod('a', 'edge-1', { volumes: [{ name: 'v', secret: { secretName: 's' } }] }));
    remove('Pod', pod('a', 'edge-1'));
    expect(desired('edge-1')).toEqual([]);
  });

  it('knows which node a Pod is bound to, for upstream checks', () => {
    const { upsert, scope } = setup();
    upsert('Pod', pod('a', 'edge-1'));
    expect(scope.placementOf('Pod/ns/a')).toMatchObject({ node: 'edge-1', uid: 'uid-a' });
    expect(scope.inScope('edge-1', 'Pod/ns/a')).toBe(true);
    expect(scope.inScope('edge-2', 'Pod/ns/a')).toBe(false);
    expect(scope.inScope('edge-1', 'Node//edge-1')).toBe(true);
  });
});

describe('edge configuration (filter rules)', () => {
  const rules = (name: string, selector?: string, labelled = true): JsonObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace: 'edge-system',
      ...(labelled ? { labels: { 'edge-sync.io/filter-rules': 'true' } } : {}),
      ...(selector ? { annotations: { 'edge-sync.io/node-selector': selector } } : {}),
    },
    data: { 'rules.yaml': 'rules: []' },
  });
  const node = (name: string, labels: Record<string, string>): JsonObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });

  it('goes to every node without a selector, including connected nodes with no Node object yet', () => {
    const { upsert, desired, dirty } = setup(['edge-new']);
    upsert('Node', node('edge-1', {}));
    upsert('ConfigMap', rules('all'));
    expect(desired('edge-1')).toContain('ConfigMap/edge-system/all');
    expect(desired('edge-new')).toContain('ConfigMap/edge-system/all');
    expect(dirty).toContain('edge-new ConfigMap/edge-system/all');
  });

  it('follows the node selector, and node label changes', () => {
    const { upsert, desired, scope } = setup();
    upsert('Node', node('edge-1', { site: 'a' }));
    upsert('Node', node('edge-2', { site: 'b' }));
    upsert('ConfigMap', rules('site-a', 'site=a'));
    expect(desired('edge-1')).toContain('ConfigMap/edge-system/site-a');
    expect(desired('edge-2')).not.toContain('ConfigMap/edge-system/site-a');
    expect(scope.inScope('edge-2', 'ConfigMap/edge-system/site-a')).toBe(false);
    upsert('Node', node('edge-2', { site: 'a' }));
    expect(desired('edge-2')).toContain('ConfigMap/edge-system/site-a');
    expect(scope.inScope('edge-2', 'ConfigMap/edge-system/site-a')).toBe(true);
  });

  it('ignores unlabelled ConfigMaps and other namespaces; losing the label removes it', () => {
    const { upsert, desired } = setup();
    upsert('Node', node('edge-1', {}));
    upsert('ConfigMap', rules('plain', undefined, false));
    upsert('ConfigMap', { ...rules('elsewhere'), metadata: { name: 'elsewhere', namespace: 'default', labels: { 'edge-sync.io/filter-rules': 'true' } } });
    expect(desired('edge-1')).toEqual(['Node//edge-1']);
    upsert('ConfigMap', rules('r'));
    expect(desired('edge-1')).toContain('ConfigMap/edge-system/r');
    upsert('ConfigMap', rules('r', undefined, false));
    expect(desired('edge-1')).toEqual(['Node//edge-1']);
  });

  it('a selector that does not parse reaches no node', () => {
    const { upsert, desired } = setup();
    upsert('Node', node('edge-1', {}));
    upsert('ConfigMap', rules('broken', 'site in ('));
    expect(desired('edge-1')).toEqual(['Node//edge-1']);
  });
});
