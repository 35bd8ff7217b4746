/**
 * The control plane the embedded API emulates for silent nodes (cluster-controllers.ts), over
 * HTTP against an in-process server with short durations: DefaultTolerationSeconds on create,
 * Ready=Unknown and the unreachable taints once a node's Lease stops, taint-based eviction by
 * the pods' tolerations, the taints gone when the node reports again, and orphaned pods GC'd.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait.js';
import { startInProcess, type Json, type KubeHttp } from './kube-http.js';

let api: Awaited<ReturnType<typeof startInProcess>>;
let http: KubeHttp;

const GRACE_MS = 800;
const MERGE = 'application/merge-patch+json';

beforeAll(async () => {
  api = await startInProcess({ controllers: { nodeMonitorGracePeriodMs: GRACE_MS, nodeMonitorPeriodMs: 100, defaultUnreachableTolerationSeconds: 2, defaultNotReadyTolerationSeconds: 3 } });
  http = api.http;
});

afterAll(async () => {
  await api?.stop();
});

async function ok(method: string, path: string, body?: unknown, contentType?: string): Promise<Json> {
  const res = await http.request(method, path, { ...(body === undefined ? {} : { body }), ...(contentType ? { contentType } : {}) });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
  return res.json;
}

const pod = (name: string, node: string, tolerations?: Json[]) => ({
  metadata: { name },
  spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }], ...(tolerations ? { tolerations } : {}) },
});
const getPod = (name: string) => http.request('GET', `/api/v1/namespaces/default/pods/${name}`);

async function renew(node: string, holder = node): Promise<void> {
  const spec = { holderIdentity: holder, leaseDurationSeconds: 1, renewTime: new Date().toISOString().replace('Z', '000Z') };
  const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases`;
  let res = await http.request('PATCH', `${path}/${node}`, { body: { spec }, contentType: MERGE });
  if (res.status === 404) res = await http.request('POST', path, { body: { metadata: { name: node, namespace: 'kube-node-lease' }, spec } });
  if (res.status >= 300) throw new Error(`lease: ${res.status} ${res.text}`);
}

async function reportReady(node: string): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await ok('PATCH', `/api/v1/nodes/${node}/status`, { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now }] } }, MERGE);
}

describe('DefaultTolerationSeconds', () => {
  it('adds bounded not-ready and unreachable NoExecute tolerations to a new pod that has none', async () => {
    const created = await ok('POST', '/api/v1/namespaces/default/pods', pod('defaults', 'nowhere-yet'));
    expect(created.spec.tolerations).toEqual([
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 3 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 },
    ]);
    const tolerant = await ok('POST', '/api/v1/namespaces/default/pods', pod('tolerates-all', 'nowhere-yet', [{ operator: 'Exists' }]));
    expect(tolerant.spec.tolerations).toEqual([{ operator: 'Exists' }]);
  });
});

describe('a node that stops reporting', () => {
  it('is Ready=Unknown and tainted; pods go by their tolerations; the taints go when it reports again', async () => {
    await ok('POST', '/api/v1/nodes', { metadata: { name: 'n1' } });
    await renew('n1');
    await reportReady('n1');
    await ok('POST', '/api/v1/namespaces/default/pods', pod('bounded', 'n1'));
    await ok('POST', '/api/v1/namespaces/default/pods', pod('intolerant', 'n1', [{ key: 'something-else', operator: 'Exists' }]));
    await ok('POST', '/api/v1/namespaces/default/pods', pod('forever', 'n1', [
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    ]));

    // While it renews, nothing happens: renewals for 1.2 s, longer than the 800 ms grace (the
    // controller runs every 100 ms). A lower bound only: a slow machine cannot fail it.
    for (let i = 0; i < 3; i++) {
      await renew('n1');
      await new Promise((resolve) => setTimeout(resolve, GRACE_MS / 2));
    }
    expect((await ok('GET', '/api/v1/nodes/n1')).spec?.taints).toBeUndefined();

    const tainted = await waitFor(async () => {
      const node = await ok('GET', '/api/v1/nodes/n1');
      return node.spec?.taints?.some((t: Json) => t.effect === 'NoExecute') ? node : undefined;
    }, { what: 'the unreachable taint' });
    expect(tainted.spec.taints).toEqual([
      { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: expect.stringMatching(/Z$/) },
    ]);
    const ready = tainted.status.conditions.find((c: Json) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown' });

    const intolerant = await waitFor(async () => ((await getPod('intolerant')).json.metadata?.deletionTimestamp ? (await getPod('intolerant')).json : undefined), { what: 'the intolerant pod evicted' });
    expect(intolerant.status.conditions).toContainEqual(expect.objectContaining({ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager' }));
    const bounded = await waitFor(async () => ((await getPod('bounded')).json.metadata?.deletionTimestamp ? (await getPod('bounded')).json : undefined), { what: 'the pod whose 2 s ran out evicted' });
    // Lower bound only: its toleration counts from the taint's timeAdded (whole seconds, rounded down).
    expect(Date.parse(bounded.status.conditions.find((c: Json) => c.type === 'DisruptionTarget').lastTransitionTime)).toBeGreaterThanOrEqual(Date.parse(tainted.spec.taints[1].timeAdded) + 2000);
    // The unbounded one is still there, not Terminating, after the bounded one went.
    const forever = (await getPod('forever')).json;
    expect(forever.metadata.deletionTimestamp).toBeUndefined();
    const events = await ok('GET', '/api/v1/namespaces/default/events');
    expect(events.items.filter((e: Json) => e.reason === 'TaintManagerEviction').map((e: Json) => e.involvedObject.name).sort()).toEqual(['bounded', 'intolerant']);

    // Reporting again: Lease and Ready; the taints go and Ready stays True.
    await renew('n1');
    await reportReady('n1');
    const healed = await waitFor(async () => {
      const node = await ok('GET', '/api/v1/nodes/n1');
      return node.spec?.taints === undefined ? node : undefined;
    }, { what: 'the taints removed' });
    expect(healed.status.conditions.find((c: Json) => c.type === 'Ready').status).toBe('True');
    expect((await getPod('forever')).json.metadata.deletionTimestamp).toBeUndefined();
  });

  it('keeps taints set by others', async () => {
    await ok('POST', '/api/v1/nodes', { metadata: { name: 'n-own' }, spec: { taints: [{ key: 'node-role.kubernetes.io/edge', effect: 'NoSchedule' }] } });
    const node = await waitFor(async () => {
      const current = await ok('GET', '/api/v1/nodes/n-own');
      return current.spec.taints.length === 3 ? current : undefined;
    }, { what: 'a node that never reported tainted' });
    expect(node.spec.taints.map((t: Json) => `${t.key}:${t.effect}`)).toEqual(['node-role.kubernetes.io/edge:NoSchedule', 'node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
    expect(node.status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'Unknown', reason: 'NodeStatusNeverUpdated' }));
  });
});

describe('pod GC', () => {
  it('deletes pods of a deleted node, and Terminating pods of a node that does not exist; keeps pods waiting for a node to register', async () => {
    await ok('POST', '/api/v1/nodes', { metadata: { name: 'doomed' } });
    await ok('POST', '/api/v1/namespaces/default/pods', pod('on-doomed', 'doomed', [{ operator: 'Exists' }]));
    await ok('POST', '/api/v1/namespaces/default/pods', pod('on-ghost', 'ghost', [{ operator: 'Exists' }]));
    await ok('POST', '/api/v1/namespaces/default/pods', pod('waiting', 'not-registered-yet', [{ operator: 'Exists' }]));
    await ok('DELETE', '/api/v1/namespaces/default/pods/on-ghost');
    expect((await getPod('on-ghost')).json.metadata.deletionTimestamp).toBeDefined();
    await waitFor(async () => (await getPod('on-ghost')).status === 404, { what: 'the Terminating orphan collected' });

    // The node goes: its pods follow after the quarantine.
    await waitFor(async () => (await getPod('on-doomed')).json.metadata?.deletionTimestamp === undefined, { what: 'on-doomed present' });
    await ok('DELETE', '/api/v1/nodes/doomed');
    await waitFor(async () => (await getPod('on-doomed')).status === 404, { what: 'the pod of the deleted node collected' });
    const waiting = await getPod('waiting');
    expect(waiting.status).toBe(200);
    expect(waiting.json.metadata.deletionTimestamp).toBeUndefined();
  });
});
