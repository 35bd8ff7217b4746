/** The verbs behave as kube-apiserver's: metadata, selectors, status subresource, patches, deletion. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMap, pod, startInProcess, type Json, type KubeHttp } from './kube-http.js';

let api: Awaited<ReturnType<typeof startInProcess>>;
let http: KubeHttp;

beforeAll(async () => {
  api = await startInProcess();
  http = api.http;
  expect((await http.post('/api/v1/namespaces', { metadata: { name: 'sem' } })).status).toBe(201);
});

afterAll(async () => {
  await api?.stop();
});

const PODS = '/api/v1/namespaces/sem/pods';

describe('namespaces', () => {
  it('starts with default, kube-system, kube-public and kube-node-lease, Active', async () => {
    const res = await http.get('/api/v1/namespaces');
    const names = res.json.items.map((ns: Json) => ns.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public', 'kube-node-lease']));
    for (const ns of res.json.items) expect(ns.status.phase).toBe('Active');
  });
});

describe('create and read', () => {
  it('sets uid, creationTimestamp, resourceVersion; generation on pods; Pending status whatever was sent', async () => {
    const before = Number((await http.get(PODS)).json.metadata.resourceVersion);
    const res = await http.post(PODS, { ...pod('meta-0'), status: { phase: 'Running' }, metadata: { name: 'meta-0', uid: 'mine', resourceVersion: '' } });
    expect(res.status).toBe(201);
    const meta = res.json.metadata;
    expect(meta.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(meta.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Number(meta.resourceVersion)).toBeGreaterThan(before);
    expect(meta.generation).toBe(1);
    expect(meta.namespace).toBe('sem');
    expect(res.json.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
    expect(res.json.spec.terminationGracePeriodSeconds).toBe(30);
    const got = await http.get(`${PODS}/meta-0`);
    expect(got.json).toEqual(res.json);
    const cm = await http.post('/api/v1/namespaces/sem/configmaps', configMap('meta-cm'));
    expect(cm.json.metadata.generation).toBeUndefined();
  });

  it('generateName appends five characters', async () => {
    const res = await http.post('/api/v1/namespaces/sem/configmaps', { metadata: { generateName: 'gen-' }, data: {} });
    expect(res.status).toBe(201);
    expect(res.json.metadata.name).toMatch(/^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('lists carry the current resourceVersion and items without kind', async () => {
    const res = await http.get('/api/v1/namespaces/sem/configmaps');
    expect(res.json.kind).toBe('ConfigMapList');
    expect(res.json.apiVersion).toBe('v1');
    expect(Number(res.json.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(res.json.items.at(-1).metadata.resourceVersion));
    expect(res.json.items[0].kind).toBeUndefined();
  });

  it('limit and continue page through a list', async () => {
    for (let i = 0; i < 5; i++) await http.post('/api/v1/namespaces/sem/configmaps', configMap(`page-${i}`));
    const first = await http.get('/api/v1/namespaces/sem/configmaps?limit=2&labelSelector=');
    expect(first.json.items).toHaveLength(2);
    expect(first.json.metadata.continue).toBeTruthy();
    const seen = first.json.items.map((item: Json) => item.metadata.name);
    let token = first.json.metadata.continue as string | undefined;
    while (token) {
      const page = await http.get(`/api/v1/namespaces/sem/configmaps?limit=2&continue=${encodeURIComponent(token)}`);
      expect(page.json.metadata.resourceVersion).toBe(first.json.metadata.resourceVersion);
      seen.push(...page.json.items.map((item: Json) => item.metadata.name));
      token = page.json.metadata.continue;
    }
    const all = (await http.get('/api/v1/namespaces/sem/configmaps')).json.items.map((item: Json) => item.metadata.name);
    expect(seen).toEqual(all);
  });
});

describe('selectors', () => {
  beforeAll(async () => {
    await http.post(PODS, pod('sel-a', { labels: { app: 'web', tier: 'front' }, nodeName: 'edge-1' }));
    await http.post(PODS, pod('sel-b', { labels: { app: 'web', tier: 'back' }, nodeName: 'edge-2' }));
    await http.post(PODS, pod('sel-c', { labels: { app: 'db' }, nodeName: 'edge-1' }));
    await http.post(PODS, pod('sel-d'));
  });

  async function names(query: string, base = PODS): Promise<string[]> {
    const res = await http.get(`${base}?${query}`);
    expect(res.status).toBe(200);
    return res.json.items.map((item: Json) => item.metadata.name).filter((name: string) => name.startsWith('sel-')).sort();
  }

  it('label selectors: equality, inequality, sets, existence', async () => {
    const q = (selector: string): Promise<string[]> => names(`labelSelector=${encodeURIComponent(selector)}`);
    expect(await q('app=web')).toEqual(['sel-a', 'sel-b']);
    expect(await q('app==web,tier=front')).toEqual(['sel-a']);
    expect(await q('app!=web')).toEqual(['sel-c', 'sel-d']);
    expect(await q('tier in (front, back)')).toEqual(['sel-a', 'sel-b']);
    expect(await q('app notin (web)')).toEqual(['sel-c', 'sel-d']);
    expect(await q('tier')).toEqual(['sel-a', 'sel-b']);
    expect(await q('!tier,app')).toEqual(['sel-c']);
  });

  it('field selectors on metadata.name, metadata.namespace and spec.nodeName', async () => {
    const q = (selector: string, base?: string): Promise<string[]> => names(`fieldSelector=${encodeURIComponent(selector)}`, base);
    expect(await q('spec.nodeName=edge-1')).toEqual(['sel-a', 'sel-c']);
    expect(await q('spec.nodeName==edge-1,metadata.name!=sel-a')).toEqual(['sel-c']);
    expect(await q('spec.nodeName=')).toEqual(['sel-d']);
    expect(await q('metadata.name=sel-b', '/api/v1/pods')).toEqual(['sel-b']);
    expect(await q('metadata.namespace=sem,spec.nodeName=edge-2', '/api/v1/pods')).toEqual(['sel-b']);
    expect(await q('metadata.namespace=default', '/api/v1/pods')).toEqual([]);
  });

  it('bad selectors are 400', async () => {
    expect((await http.get(`${PODS}?fieldSelector=spec.image%3Dx`)).json).toMatchObject({ code: 400, message: 'field label not supported: spec.image' });
    expect((await http.get(`${PODS}?labelSelector=${encodeURIComponent('a in (x')}`)).json).toMatchObject({ code: 400, reason: 'BadRequest', message: expect.stringMatching(/^unable to parse requirement: /) });
    // `in ()` is the set {""} in kube, not an error.
    expect((await http.get(`${PODS}?labelSelector=${encodeURIComponent('a in ()')}`)).status).toBe(200);
  });
});

describe('update and patch', () => {
  it('PUT replaces, bumps resourceVersion, keeps server-owned metadata; a no-op writes nothing', async () => {
    const created = (await http.post('/api/v1/namespaces/sem/configmaps', configMap('upd'))).json;
    const updated = await http.put('/api/v1/namespaces/sem/configmaps/upd', { ...created, metadata: { ...created.metadata, creationTimestamp: '2000-01-01T00:00:00Z' }, data: { key: 'v2' } });
    expect(updated.status).toBe(200);
    expect(Number(updated.json.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
    expect(updated.json.metadata.creationTimestamp).toBe(created.metadata.creationTimestamp);
    expect(updated.json.metadata.uid).toBe(created.metadata.uid);
    const again = await http.put('/api/v1/namespaces/sem/configmaps/upd', updated.json);
    expect(again.json.metadata.resourceVersion).toBe(updated.json.metadata.resourceVersion);
  });

  it('PUT without resourceVersion is unconditional, except for leases; PUT of a missing object is 404 (created for leases)', async () => {
    const unconditional = await http.put('/api/v1/namespaces/sem/configmaps/upd', configMap('upd', { key: 'v3' }));
    expect(unconditional.status).toBe(200);
    expect((await http.put('/api/v1/namespaces/sem/configmaps/never', configMap('never'))).status).toBe(404);
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'edge-1' }, spec: { holderIdentity: 'edge-1', leaseDurationSeconds: 40 } };
    const created = await http.put('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/edge-1', lease);
    expect(created.status).toBe(201);
    const blind = await http.put('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/edge-1', lease);
    expect(blind.status).toBe(422);
    expect(blind.json.message).toContain('metadata.resourceVersion: Invalid value: 0: must be specified for an update');
  });

  it('the name in a PUT body must match the URL', async () => {
    const res = await http.put('/api/v1/namespaces/sem/configmaps/upd', configMap('other'));
    expect(res.status).toBe(400);
    expect(res.json.message).toBe('the name of the object (other) does not match the name on the URL (upd)');
  });

  it('generation counts spec changes of pods only; pod spec is immutable but for images and a few fields', async () => {
    const created = (await http.post(PODS, pod('gen'))).json;
    const labelled = await http.patch(`${PODS}/gen`, { metadata: { labels: { x: 'y' } } });
    expect(labelled.json.metadata.generation).toBe(1);
    const image = await http.patch(`${PODS}/gen`, { spec: { containers: [{ name: 'app', image: 'registry.example/app:2.0' }] } }, 'application/strategic-merge-patch+json');
    expect(image.status).toBe(200);
    expect(image.json.metadata.generation).toBe(2);
    expect(image.json.spec.containers[0].image).toBe('registry.example/app:2.0');
    expect(image.json.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
    const nodeName = await http.patch(`${PODS}/gen`, { spec: { nodeName: 'edge-9' } });
    expect(nodeName.status).toBe(422);
    expect(nodeName.json.details.causes[0]).toMatchObject({ field: 'spec', reason: 'FieldValueForbidden' });
    expect(created.metadata.uid).toBe(image.json.metadata.uid);
  });

  it('merge patch replaces lists; strategic merge merges containers/env by name; json patch works', async () => {
    const base = pod('patchy');
    base.spec.containers = [
      { name: 'a', image: 'a:1', env: [{ name: 'ONE', value: '1' }] },
      { name: 'b', image: 'b:1' },
    ];
    await http.post(PODS, base);
    const strategic = await http.patch(`${PODS}/patchy`, { spec: { containers: [{ name: 'a', image: 'a:2' }] } }, 'application/strategic-merge-patch+json');
    expect(strategic.json.spec.containers.map((c: Json) => `${c.name}=${c.image}`)).toEqual(['a=a:2', 'b=b:1']);
    expect(strategic.json.spec.containers[0].env).toEqual([{ name: 'ONE', value: '1' }]);
    const json = await http.patch(`${PODS}/patchy`, [{ op: 'replace', path: '/spec/containers/1/image', value: 'b:2' }, { op: 'test', path: '/metadata/name', value: 'patchy' }], 'application/json-patch+json');
    expect(json.status).toBe(200);
    expect(json.json.spec.containers[1].image).toBe('b:2');
    const failedTest = await http.patch(`${PODS}/patchy`, [{ op: 'test', path: '/metadata/name', value: 'other' }], 'application/json-patch+json');
    expect(failedTest.status).toBe(422);
    const cm = await http.post('/api/v1/namespaces/sem/configmaps', configMap('merge', { a: '1', b: '2' }));
    expect(cm.status).toBe(201);
    const merged = await http.patch('/api/v1/namespaces/sem/configmaps/merge', { data: { a: null, c: '3' } });
    expect(merged.json.data).toEqual({ b: '2', c: '3' });
    const stale = await http.patch('/api/v1/namespaces/sem/configmaps/merge', { metadata: { resourceVersion: '1' }, data: { d: '4' } });
    expect(stale.status).toBe(409);
  });

  it('status subresource: main writes ignore status, status writes ignore everything else', async () => {
    const created = (await http.post(PODS, pod('stat', { nodeName: 'edge-1' }))).json;
    const status = { phase: 'Running', podIP: '10.0.0.7', conditions: [{ type: 'Ready', status: 'True' }] };
    const viaMain = await http.put(`${PODS}/stat`, { ...created, status });
    expect(viaMain.json.status.phase).toBe('Pending');
    const viaStatus = await http.put(`${PODS}/stat/status`, { ...viaMain.json, metadata: { ...viaMain.json.metadata, labels: { sneaky: 'yes' } }, spec: { ...viaMain.json.spec, activeDeadlineSeconds: 5 }, status });
    expect(viaStatus.status).toBe(200);
    expect(viaStatus.json.status).toEqual(status);
    expect(viaStatus.json.metadata.labels).toBeUndefined();
    expect(viaStatus.json.spec.activeDeadlineSeconds).toBeUndefined();
    expect(viaStatus.json.metadata.generation).toBe(1);
    const patched = await http.patch(`${PODS}/stat/status`, { status: { conditions: [{ type: 'Ready', status: 'False' }] } }, 'application/strategic-merge-patch+json');
    expect(patched.json.status.conditions).toEqual([{ type: 'Ready', status: 'False' }]);
    expect(patched.json.status.podIP).toBe('10.0.0.7');
    const got = await http.get(`${PODS}/stat/status`);
    expect(got.json.status.conditions).toEqual([{ type: 'Ready', status: 'False' }]);
    const node = await http.post('/api/v1/nodes', { metadata: { name: 'node-s' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    expect(node.json.status.conditions[0].status).toBe('True');
    const nodePatch = await http.patch('/api/v1/nodes/node-s', { status: { conditions: [] }, spec: { unschedulable: true } });
    expect(nodePatch.json.status.conditions[0].status).toBe('True');
    expect(nodePatch.json.spec.unschedulable).toBe(true);
    const stale = await http.put(`${PODS}/stat/status`, { ...viaMain.json, status });
    expect(stale.status).toBe(409);
  });

  it('secrets: stringData becomes base64 data, type defaults to Opaque', async () => {
    const res = await http.post('/api/v1/namespaces/sem/secrets', { metadata: { name: 's' }, stringData: { token: 'hunter2' } });
    expect(res.json.data).toEqual({ token: Buffer.from('hunter2').toString('base64') });
    expect(res.json.stringData).toBeUndefined();
    expect(res.json.type).toBe('Opaque');
  });

  it('binding sets spec.nodeName once', async () => {
    await http.post(PODS, pod('bindme'));
    const bound = await http.post(`${PODS}/bindme/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bindme' }, target: { kind: 'Node', name: 'edge-3' } });
    expect(bound.status).toBe(201);
    expect((await http.get(`${PODS}/bindme`)).json.spec.nodeName).toBe('edge-3');
    const again = await http.post(`${PODS}/bindme/binding`, { target: { kind: 'Node', name: 'edge-4' } });
    expect(again.status).toBe(409);
  });

  it('dryRun=All validates and answers without writing', async () => {
    const res = await http.post('/api/v1/namespaces/sem/configmaps?dryRun=All', configMap('dry'));
    expect(res.status).toBe(201);
    expect((await http.get('/api/v1/namespaces/sem/configmaps/dry')).status).toBe(404);
  });
});

describe('concurrent writes (group commit)', () => {
  it('50 concurrent creates get distinct consecutive resourceVersions, are all listed, and stream in order', async () => {
    const from = Number((await http.get('/api/v1/namespaces/sem/configmaps')).json.metadata.resourceVersion);
    const watch = await http.watch(`/api/v1/namespaces/sem/configmaps?resourceVersion=${from}`);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => http.post('/api/v1/namespaces/sem/configmaps', configMap(`burst-${i}`))));
    expect(results.every((res) => res.status === 201)).toBe(true);
    const rvs = results.map((res) => Number(res.json.metadata.resourceVersion)).sort((a, b) => a - b);
    expect(rvs).toEqual(Array.from({ length: 50 }, (_, i) => from + 1 + i));
    const list = await http.get('/api/v1/namespaces/sem/configmaps');
    expect(Number(list.json.metadata.resourceVersion)).toBe(from + 50);
    expect(list.json.items.filter((item: Json) => item.metadata.name.startsWith('burst-'))).toHaveLength(50);
    const events = await watch.waitForCount(50);
    expect(events.map((event) => Number(event.object.metadata.resourceVersion))).toEqual(rvs);
    watch.close();
  });
});

describe('deletion', () => {
  it('unbound pods and other kinds go at once', async () => {
    await http.post(PODS, pod('loose'));
    const res = await http.delete(`${PODS}/loose`);
    expect(res.status).toBe(200);
    expect(res.json.kind).toBe('Pod');
    expect((await http.get(`${PODS}/loose`)).status).toBe(404);
    await http.post('/api/v1/namespaces/sem/configmaps', configMap('gone'));
    const cm = await http.delete('/api/v1/namespaces/sem/configmaps/gone');
    expect(cm.json).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'gone', kind: 'configmaps' } });
  });

  it('a bound pod is marked and stays until deleted with gracePeriodSeconds=0', async () => {
    await http.post(PODS, pod('bound', { nodeName: 'edge-1' }));
    const marked = await http.delete(`${PODS}/bound`);
    expect(marked.status).toBe(200);
    expect(marked.json.metadata.deletionTimestamp).toBeTruthy();
    expect(marked.json.metadata.deletionGracePeriodSeconds).toBe(30);
    expect(marked.json.metadata.generation).toBe(2);
    expect((await http.get(`${PODS}/bound`)).json.metadata.deletionGracePeriodSeconds).toBe(30);
    const shorter = await http.delete(`${PODS}/bound`, { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 10 });
    expect(shorter.json.metadata.deletionGracePeriodSeconds).toBe(10);
    const confirmed = await http.delete(`${PODS}/bound?gracePeriodSeconds=0`);
    expect(confirmed.status).toBe(200);
    expect((await http.get(`${PODS}/bound`)).status).toBe(404);
  });

  it('finalizers hold an object until the last one is removed', async () => {
    await http.post('/api/v1/namespaces/sem/configmaps', { ...configMap('held'), metadata: { name: 'held', finalizers: ['example.com/hold'] } });
    const marked = await http.delete('/api/v1/namespaces/sem/configmaps/held');
    expect(marked.json.metadata.deletionTimestamp).toBeTruthy();
    const current = (await http.get('/api/v1/namespaces/sem/configmaps/held')).json;
    const more = await http.put('/api/v1/namespaces/sem/configmaps/held', { ...current, metadata: { ...current.metadata, finalizers: ['example.com/hold', 'example.com/more'] } });
    expect(more.status).toBe(422);
    const released = await http.patch('/api/v1/namespaces/sem/configmaps/held', { metadata: { finalizers: null } });
    expect(released.status).toBe(200);
    expect((await http.get('/api/v1/namespaces/sem/configmaps/held')).status).toBe(404);
  });

  it('preconditions on delete', async () => {
    const created = (await http.post('/api/v1/namespaces/sem/configmaps', configMap('pre'))).json;
    const wrong = await http.delete('/api/v1/namespaces/sem/configmaps/pre', { preconditions: { uid: 'nope' } });
    expect(wrong.status).toBe(409);
    expect((await http.delete('/api/v1/namespaces/sem/configmaps/pre', { preconditions: { uid: created.metadata.uid, resourceVersion: created.metadata.resourceVersion } })).status).toBe(200);
  });

  it('deleting a namespace removes its objects; bound pods keep it Terminating until confirmed', async () => {
    await http.post('/api/v1/namespaces', { metadata: { name: 'doomed' } });
    await http.post('/api/v1/namespaces/doomed/configmaps', configMap('c1'));
    await http.post('/api/v1/namespaces/doomed/pods', pod('free'));
    await http.post('/api/v1/namespaces/doomed/pods', pod('busy', { nodeName: 'edge-1' }));
    const res = await http.delete('/api/v1/namespaces/doomed');
    expect(res.status).toBe(200);
    expect(res.json.status.phase).toBe('Terminating');
    expect((await http.get('/api/v1/namespaces/doomed/configmaps/c1')).status).toBe(404);
    expect((await http.get('/api/v1/namespaces/doomed/pods/free')).status).toBe(404);
    expect((await http.get('/api/v1/namespaces/doomed/pods/busy')).json.metadata.deletionTimestamp).toBeTruthy();
    const refused = await http.post('/api/v1/namespaces/doomed/configmaps', configMap('late'));
    expect(refused.status).toBe(403);
    expect(refused.json.message).toBe('configmaps "late" is forbidden: unable to create new content in namespace doomed because it is being terminated');
    expect((await http.delete('/api/v1/namespaces/doomed/pods/busy?gracePeriodSeconds=0')).status).toBe(200);
    expect((await http.get('/api/v1/namespaces/doomed')).status).toBe(404);
  });
});
