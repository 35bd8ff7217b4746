import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../protocol/index.js';
import { tokenSecret } from '../../cloud-hub/auth/node-tokens.js';
import { FleetView } from '../../cloud-hub/fleet/fleet-view.js';
import { podReferenceKeys } from '../../cloud-hub/fleet/pod-references.js';
import { WATCHED_KINDS, type WatchedKind } from '../../cloud-hub/kube/watched-kinds.js';
import { projectObject } from '../../cloud-hub/source/projection.js';

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

/**
 * The hub's FleetView, fed projected objects as the informers feed it, with a log of the
 * (node, key) changes it reports. A change for every node reaches the `connected` nodes, as the
 * session registry passes it to every open session.
 */
function setup(connected: string[] = []) {
  const fleet = new FleetView('edge-system');
  const dirty: string[] = [];
  fleet.subscribe({
    changed: (node, key) => dirty.push(`${node} ${key}`),
    changedForEveryNode: (key) => {
      for (const node of connected) dirty.push(`${node} ${key}`);
    },
  });
  const upsert = (kind: WatchedKind, obj: JsonObject): void => fleet.apply({ kind, type: 'upsert', obj: projectObject(WATCHED_KINDS[kind], obj), at: 0 });
  const remove = (kind: WatchedKind, obj: JsonObject): void => fleet.apply({ kind, type: 'delete', obj: projectObject(WATCHED_KINDS[kind], obj), at: 0 });
  const desired = (node: string): string[] => [...fleet.desired(node).keys()].sort();
  return { fleet, dirty, upsert, remove, desired };
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
    const { upsert, fleet } = setup();
    upsert('Pod', pod('a', 'edge-1', { volumes: [{ name: 'v', configMap: { name: 'cm' } }] }));
    upsert('ConfigMap', object('ConfigMap', 'cm'));
    upsert('Node', object('Node', 'edge-1'));
    expect([...fleet.desired('edge-1').keys()]).toEqual(['Node//edge-1', 'ConfigMap/ns/cm', 'Pod/ns/a']);
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
    const { upsert, fleet, dirty } = setup();
    upsert('ConfigMap', object('ConfigMap', 'shared', { v: '1' }));
    for (let i = 0; i < 1000; i++) upsert('Pod', pod(`p${i}`, `edge-${i}`, { volumes: [{ name: 'v', configMap: { name: 'shared' } }] }));
    dirty.length = 0;
    upsert('ConfigMap', object('ConfigMap', 'shared', { v: '2' }));
    expect(dirty).toHaveLength(1000);
    expect(new Set(dirty).size).toBe(1000);
    expect([...fleet.nodesReferencing('ConfigMap/ns/shared')].length).toBe(1000);
    // One entry for the ConfigMap, the same entry in every node's desired set.
    expect(fleet.size).toBe(1001);
    expect(fleet.desired('edge-1').get('ConfigMap/ns/shared')).toBe(fleet.desired('edge-999').get('ConfigMap/ns/shared'));
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
    const { upsert, fleet } = setup();
    upsert('Pod', pod('a', 'edge-1'));
    expect(fleet.placementOf('Pod/ns/a')).toMatchObject({ node: 'edge-1', uid: 'uid-a' });
    expect(fleet.inScope('edge-1', 'Pod/ns/a')).toBe(true);
    expect(fleet.inScope('edge-2', 'Pod/ns/a')).toBe(false);
    expect(fleet.inScope('edge-1', 'Node//edge-1')).toBe(true);
  });
});

describe('fleet view', () => {
  it('tells the version a node should hold of a key, and nothing for a key out of its scope', () => {
    const { upsert, fleet } = setup();
    upsert('ConfigMap', object('ConfigMap', 'cm', { v: '1' }));
    upsert('Pod', pod('a', 'edge-1', { volumes: [{ name: 'v', configMap: { name: 'cm' } }] }));
    expect(fleet.wanted('edge-1', 'ConfigMap/ns/cm')).toBe(fleet.desired('edge-1').get('ConfigMap/ns/cm'));
    expect(fleet.wanted('edge-1', 'ConfigMap/ns/cm')?.rv).toEqual(expect.any(String));
    expect(fleet.wanted('edge-2', 'ConfigMap/ns/cm')).toBeUndefined();
    expect(fleet.wanted('edge-1', 'ConfigMap/ns/missing')).toBeUndefined();
  });

  it('never gives a node the hub\'s token Secrets, even when a Pod references one', () => {
    const { upsert, fleet, desired, dirty } = setup();
    const token = tokenSecret('edge-system', 'edge-1', 'the-token');
    const name = (token.metadata as { name: string }).name;
    upsert('Pod', { ...pod('a', 'edge-1', { volumes: [{ name: 'v', secret: { secretName: name } }] }), metadata: { name: 'a', namespace: 'edge-system', uid: 'uid-a' } });
    dirty.length = 0;
    upsert('Secret', token);
    expect(dirty).toEqual([]);
    expect(fleet.get(`Secret/edge-system/${name}`)).toBeUndefined();
    expect(desired('edge-1')).toEqual(['Pod/edge-system/a']);
    // The same Secret outside the hub's namespace is an ordinary Secret.
    upsert('Secret', { ...token, metadata: { ...(token.metadata as JsonObject), namespace: 'ns' } });
    expect(fleet.get(`Secret/ns/${name}`)).toBeDefined();
  });

  it('stops telling a listener once it unsubscribes', () => {
    const fleet = new FleetView('edge-system');
    const seen: string[] = [];
    const unsubscribe = fleet.subscribe({ changed: (node, key) => seen.push(`${node} ${key}`), changedForEveryNode: () => undefined });
    fleet.apply({ kind: 'Pod', type: 'upsert', obj: projectObject(WATCHED_KINDS.Pod, pod('a', 'edge-1')), at: 0 });
    expect(seen).toEqual(['edge-1 Pod/ns/a']);
    unsubscribe();
    fleet.apply({ kind: 'Pod', type: 'upsert', obj: projectObject(WATCHED_KINDS.Pod, pod('b', 'edge-1')), at: 0 });
    expect(seen).toEqual(['edge-1 Pod/ns/a']);
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
    const { upsert, desired, fleet } = setup();
    upsert('Node', node('edge-1', { site: 'a' }));
    upsert('Node', node('edge-2', { site: 'b' }));
    upsert('ConfigMap', rules('site-a', 'site=a'));
    expect(desired('edge-1')).toContain('ConfigMap/edge-system/site-a');
    expect(desired('edge-2')).not.toContain('ConfigMap/edge-system/site-a');
    expect(fleet.inScope('edge-2', 'ConfigMap/edge-system/site-a')).toBe(false);
    upsert('Node', node('edge-2', { site: 'a' }));
    expect(desired('edge-2')).toContain('ConfigMap/edge-system/site-a');
    expect(fleet.inScope('edge-2', 'ConfigMap/edge-system/site-a')).toBe(true);
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

describe('projection of Nodes', () => {
  it('leaves out the outage taints, so a node\'s outage does not change what it is sent', () => {
    const base = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, spec: { taints: [{ key: 'node-role.kubernetes.io/edge', effect: 'NoSchedule' }] }, status: { conditions: [] } };
    const tainted = structuredClone(base);
    tainted.spec.taints.push({ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2026-01-01T00:00:00Z' } as never);
    expect(projectObject(WATCHED_KINDS.Node, tainted as unknown as JsonObject)).toEqual(projectObject(WATCHED_KINDS.Node, base as unknown as JsonObject));
    expect((projectObject(WATCHED_KINDS.Node, tainted as unknown as JsonObject).spec as JsonObject).taints).toEqual([{ key: 'node-role.kubernetes.io/edge', effect: 'NoSchedule' }]);
    const onlyOutage = { ...base, spec: { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] } };
    expect(projectObject(WATCHED_KINDS.Node, onlyOutage as unknown as JsonObject).spec).toEqual({});
  });
});
