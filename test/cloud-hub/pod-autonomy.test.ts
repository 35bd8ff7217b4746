/**
 * The hub's edge autonomy controller (cloud-hub/upstream/pod-autonomy.ts) against a real
 * `cloud-hub --embedded`: which pods get their outage tolerations unbounded (pods on edge nodes,
 * whenever the node turns up or turns autonomous) and which are left alone (pods that opt out,
 * pods on nodes that opt out by label or annotation, pods on nodes that are not edge nodes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubHandle } from '../helpers/hub.js';
import { waitFor } from '../helpers/wait.js';

type Obj = Record<string, any>;
const EDGE = { 'node-role.kubernetes.io/edge': '' };
const UNREACHABLE = 'node.kubernetes.io/unreachable';
const NOT_READY = 'node.kubernetes.io/not-ready';

let hub: HubHandle;

beforeAll(async () => {
  hub = await startHub();
});

afterAll(async () => {
  await hub?.stop();
});

const podPath = (name = '') => `/api/v1/namespaces/default/pods${name ? `/${name}` : ''}`;
const getPod = (name: string) => hub.client.get<Obj>(podPath(name));

async function createPod(name: string, node: string, extra: { annotations?: Record<string, string>; tolerations?: Obj[] } = {}): Promise<Obj> {
  return hub.client.create<Obj>(podPath(), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }], ...(extra.tolerations ? { tolerations: extra.tolerations } : {}) },
  });
}

async function createNode(name: string, labels: Record<string, string>, annotations?: Record<string, string>): Promise<void> {
  await hub.client.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels, ...(annotations ? { annotations } : {}) } });
}

const outage = (pod: Obj): Obj[] => (pod.spec.tolerations as Obj[]).filter((t) => t.key === UNREACHABLE || t.key === NOT_READY);
const unbounded = (pod: Obj): boolean => outage(pod).length === 2 && outage(pod).every((t) => t.tolerationSeconds === undefined);
const waitUnbounded = (name: string) => waitFor(async () => unbounded(await getPod(name)) && (await getPod(name)), { what: `${name}'s outage tolerations unbounded` });

describe('edge autonomy', () => {
  it('unbounds the outage tolerations of pods on an edge node, also when the node registers after its pods', async () => {
    const before = await createPod('early', 'edge-late');
    expect(outage(before).map((t) => t.tolerationSeconds)).toEqual([300, 300]); // DefaultTolerationSeconds
    await createPod('custom', 'edge-late', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'cams', effect: 'NoSchedule' }, { key: UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }] });
    await createNode('edge-late', EDGE);
    const early = await waitUnbounded('early');
    expect(early.metadata.uid).toBe(before.metadata.uid);
    const custom = await waitUnbounded('custom');
    // Only tolerationSeconds changed; the other toleration kept its place and fields.
    expect(custom.spec.tolerations).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'cams', effect: 'NoSchedule' },
      { key: UNREACHABLE, operator: 'Exists', effect: 'NoExecute' },
      { key: NOT_READY, operator: 'Exists', effect: 'NoExecute' },
    ]);
  });

  it('leaves alone pods that opt out, pods on nodes that opt out, and pods on nodes that are not edge nodes', async () => {
    await createNode('edge-label-off', { ...EDGE, 'edge-sync.io/autonomy': 'false' });
    await createNode('edge-annotation-off', EDGE, { 'edge-sync.io/autonomy': 'false' });
    await createNode('cloud-node', {});
    await createNode('edge-on', EDGE);
    const created = new Map<string, Obj>();
    created.set('opted-out', await createPod('opted-out', 'edge-on', { annotations: { 'edge-sync.io/autonomy': 'false' } }));
    created.set('on-label-off', await createPod('on-label-off', 'edge-label-off'));
    created.set('on-annotation-off', await createPod('on-annotation-off', 'edge-annotation-off'));
    created.set('on-cloud', await createPod('on-cloud', 'cloud-node'));
    // Created last: once the hub has made it autonomous, it has decided about every pod above.
    await createPod('marker', 'edge-on');
    await waitUnbounded('marker');
    for (const [name, pod] of created) {
      const now = await getPod(name);
      expect(outage(now).map((t) => t.tolerationSeconds), name).toEqual([300, 300]);
      expect(now.metadata.resourceVersion, name).toBe(pod.metadata.resourceVersion);
    }
  });

  it('makes a node\'s pods autonomous when the node turns autonomy back on', async () => {
    await hub.client.mergePatch('/api/v1/nodes/edge-label-off', { metadata: { labels: { 'edge-sync.io/autonomy': null } } });
    await waitUnbounded('on-label-off');
  });

  it('writes nothing for a pod that already stays forever', async () => {
    const created = await createPod('already', 'edge-on', { tolerations: [{ operator: 'Exists' }] });
    await createPod('marker-2', 'edge-on');
    await waitUnbounded('marker-2');
    const now = await getPod('already');
    expect(now.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    expect(now.spec.tolerations).toEqual([{ operator: 'Exists' }]);
  });
});
