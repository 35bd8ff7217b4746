/**
 * The smaller wire differences other clients notice: legacy watch paths, kube's boolean
 * parameters, remainingItemCount, resourceVersion/resourceVersionMatch rules, the namespace name
 * label, answers for subresources not served, eviction, and the self-review APIs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authorizer } from '../../../cloud-hub/apiserver/authorization.js';
import { configMap, pod, startInProcess, type KubeHttp } from './kube-http.js';

let api: Awaited<ReturnType<typeof startInProcess>>;
let http: KubeHttp;

// Everything is allowed but deleting secrets, so the access review has something to deny.
const authorize: Authorizer = ({ request }) =>
  request.isResourceRequest && request.verb === 'delete' && request.resource === 'secrets' ? { allowed: false, reason: 'secrets are precious' } : { allowed: true };

beforeAll(async () => {
  api = await startInProcess({ authorize });
  http = api.http;
  expect((await http.post('/api/v1/namespaces', { metadata: { name: 'compat' } })).status).toBe(201);
});

afterAll(async () => {
  await api?.stop();
});

const CMS = '/api/v1/namespaces/compat/configmaps';

describe('watch paths and parameters', () => {
  it('serves the legacy /api/v1/watch/... paths, for a collection and for one object', async () => {
    await http.post(CMS, configMap('legacy-1'));
    const all = await http.watch('/api/v1/watch/namespaces/compat/configmaps');
    const one = await http.watch('/api/v1/watch/namespaces/compat/configmaps/legacy-2');
    expect(all.status).toBe(200);
    await http.post(CMS, configMap('legacy-2'));
    const events = await all.waitForCount(2);
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED legacy-1', 'ADDED legacy-2']);
    const mine = await one.waitForCount(1);
    expect(mine[0]?.object.metadata.name).toBe('legacy-2');
    all.close();
    one.close();
  });

  it('reads watch=True and allowWatchBookmarks=yes as kube does (any value but 0/false is true)', async () => {
    const rv = (await http.get(CMS)).json.metadata.resourceVersion as string;
    const watch = await http.watch(`${CMS}?watch=True&resourceVersion=${rv}&allowWatchBookmarks=yes`);
    expect(watch.status).toBe(200);
    await http.post(CMS, configMap('capital-true'));
    expect((await watch.waitForCount(1))[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'capital-true' } } });
    watch.close();
    // watch=false is a plain list.
    expect((await http.get(`${CMS}?watch=false`)).json.kind).toBe('ConfigMapList');
  });
});

describe('lists', () => {
  it('pages carry remainingItemCount without selectors and leave it out with one', async () => {
    for (const name of ['page-a', 'page-b', 'page-c', 'page-d']) await http.post('/api/v1/namespaces/compat/secrets', { metadata: { name, labels: { paged: 'yes' } } });
    const first = (await http.get('/api/v1/namespaces/compat/secrets?limit=1')).json;
    expect(first.items).toHaveLength(1);
    expect(first.metadata.remainingItemCount).toBe(3);
    const second = (await http.get(`/api/v1/namespaces/compat/secrets?limit=2&continue=${encodeURIComponent(first.metadata.continue)}`)).json;
    expect(second.metadata.remainingItemCount).toBe(1);
    const selected = (await http.get('/api/v1/namespaces/compat/secrets?limit=1&labelSelector=paged%3Dyes')).json;
    expect(selected.metadata.continue).toBeTruthy();
    expect(selected.metadata.remainingItemCount).toBeUndefined();
  });

  it('a future resourceVersion is 504 Too large resource version, on list and get', async () => {
    await http.post(CMS, configMap('future'));
    const current = Number((await http.get(CMS)).json.metadata.resourceVersion);
    for (const path of [`${CMS}?resourceVersion=${current + 1000}`, `${CMS}/future?resourceVersion=${current + 1000}`, `${CMS}?resourceVersion=${current + 1000}&resourceVersionMatch=NotOlderThan`]) {
      const res = await http.get(path);
      expect(res.status).toBe(504);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'Timeout',
        code: 504,
        message: `Timeout: Too large resource version: ${current + 1000}, current: ${current}`,
        details: { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 },
      });
    }
    expect((await http.get(`${CMS}?resourceVersion=${current}`)).status).toBe(200);
    expect((await http.get(`${CMS}/future?resourceVersion=${current}`)).status).toBe(200);
  });

  it('resourceVersionMatch: kube validation errors, Exact at the current version, 410 for an older one', async () => {
    const invalid = async (query: string, message: string): Promise<void> => {
      const res = await http.get(`${CMS}?${query}`);
      expect(res.status).toBe(422);
      expect(res.json.reason).toBe('Invalid');
      expect(res.json.message).toBe(`ListOptions.meta.k8s.io "" is invalid: ${message}`);
    };
    await invalid('resourceVersionMatch=NotOlderThan', 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided');
    await invalid('resourceVersion=0&resourceVersionMatch=Exact', 'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
    await invalid('resourceVersion=1&resourceVersionMatch=Newest', 'resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""');
    await invalid('sendInitialEvents=true', 'sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list');
    await invalid('watch=1&sendInitialEvents=true', 'resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan');
    await invalid('watch=1&resourceVersionMatch=NotOlderThan', 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
    const current = Number((await http.get(CMS)).json.metadata.resourceVersion);
    const exact = await http.get(`${CMS}?resourceVersion=${current}&resourceVersionMatch=Exact`);
    expect(exact.status).toBe(200);
    expect(exact.json.metadata.resourceVersion).toBe(String(current));
    await http.post(CMS, configMap('moves-on'));
    const old = await http.get(`${CMS}?resourceVersion=${current}&resourceVersionMatch=Exact`);
    expect(old.status).toBe(410);
    expect(old.json.reason).toBe('Expired');
    expect((await http.get(`${CMS}?resourceVersion=${current}&resourceVersionMatch=NotOlderThan`)).status).toBe(200);
    const withContinue = await http.get(`${CMS}?limit=1`);
    const mixed = await http.get(`${CMS}?limit=1&resourceVersion=${current}&continue=${encodeURIComponent(withContinue.json.metadata.continue)}`);
    expect(mixed.status).toBe(400);
    expect(mixed.json.message).toBe('specifying resource version is not allowed when using continue');
  });
});

describe('namespaces', () => {
  it('carry kubernetes.io/metadata.name = their name, set on create (generateName too) and restored on update', async () => {
    const created = (await http.post('/api/v1/namespaces', { metadata: { generateName: 'gen-', labels: { 'kubernetes.io/metadata.name': 'lie', team: 'a' } } })).json;
    expect(created.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': created.metadata.name, team: 'a' });
    const patched = await http.patch(`/api/v1/namespaces/${created.metadata.name}`, { metadata: { labels: { 'kubernetes.io/metadata.name': null, team: 'b' } } });
    expect(patched.status).toBe(200);
    expect(patched.json.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': created.metadata.name, team: 'b' });
    const listed = (await http.get('/api/v1/namespaces?labelSelector=kubernetes.io%2Fmetadata.name%3Dcompat')).json.items;
    expect(listed.map((ns: { metadata: { name: string } }) => ns.metadata.name)).toEqual(['compat']);
  });
});

describe('subresources', () => {
  it('answers subresources not served with a 405 naming them, and 404 for a missing pod', async () => {
    await http.post('/api/v1/namespaces/compat/pods', pod('sub-0', { nodeName: 'edge-x' }));
    for (const sub of ['proxy', 'ephemeralcontainers']) {
      const res = await http.get(`/api/v1/namespaces/compat/pods/sub-0/${sub}`);
      expect(res.status).toBe(405);
      expect(res.json).toMatchObject({ kind: 'Status', reason: 'MethodNotAllowed', message: `pods/${sub} is not supported: edge-sync's embedded API does not serve the pods/${sub} subresource yet` });
    }
    // This API runs without a kubelet endpoint: the streamed subresources name the flag that serves them.
    for (const sub of ['log', 'exec', 'attach', 'portforward']) {
      const res = await http.get(`/api/v1/namespaces/compat/pods/sub-0/${sub}`);
      expect(res.status).toBe(405);
      expect(res.json).toMatchObject({ kind: 'Status', reason: 'MethodNotAllowed', message: `pods/${sub} is not supported: this embedded API has no kubelet endpoint to reach the node (start it with --kubelet-endpoint, as cloud-hub --embedded and npm start do)` });
    }
    expect((await http.get('/api/v1/namespaces/compat/pods/missing/log')).json.message).toBe('pods "missing" not found');
    expect((await http.get('/api/v1/nodes/edge-x/proxy/metrics')).status).toBe(404);
    await http.post('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'proxy-node' } });
    expect((await http.get('/api/v1/nodes/proxy-node/proxy/stats/summary')).json).toMatchObject({
      code: 405,
      message: 'nodes/proxy is not supported: this embedded API has no kubelet endpoint to reach the node (start it with --kubelet-endpoint, as cloud-hub --embedded and npm start do)',
    });
    expect((await http.get('/api/v1/namespaces/compat/pods/sub-0/nonsense')).json.message).toBe('the server could not find the requested resource');
  });

  it('pods/eviction deletes by the Eviction deleteOptions and is listed in discovery with its group', async () => {
    const resources = (await http.get('/api/v1')).json.resources as { name: string; group?: string; version?: string; kind: string }[];
    expect(resources.find((r) => r.name === 'pods/eviction')).toMatchObject({ group: 'policy', version: 'v1', kind: 'Eviction' });
    await http.post('/api/v1/namespaces/compat/pods', pod('evict-me', { nodeName: 'edge-x' }));
    const mismatch = await http.post('/api/v1/namespaces/compat/pods/evict-me/eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'other' } });
    expect(mismatch.status).toBe(400);
    const graceful = await http.post('/api/v1/namespaces/compat/pods/evict-me/eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'evict-me' } });
    expect(graceful.status).toBe(201);
    expect(graceful.json).toMatchObject({ kind: 'Status', status: 'Success', code: 201 });
    // Bound to a node: the pod waits for the node's confirmation, as after a graceful delete.
    expect((await http.get('/api/v1/namespaces/compat/pods/evict-me')).json.metadata.deletionTimestamp).toBeTruthy();
    const now = await http.post('/api/v1/namespaces/compat/pods/evict-me/eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'evict-me' }, deleteOptions: { gracePeriodSeconds: 0 } });
    expect(now.status).toBe(201);
    expect((await http.get('/api/v1/namespaces/compat/pods/evict-me')).status).toBe(404);
  });
});

describe('self reviews (kubectl auth can-i / whoami)', () => {
  it('SelfSubjectAccessReview runs the attributes through the server authorizer', async () => {
    const review = (verb: string, resource: string) => ({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { namespace: 'compat', verb, resource, version: 'v1' } },
    });
    const allowed = await http.post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', review('get', 'secrets'));
    expect(allowed.status).toBe(201);
    expect(allowed.json.status).toEqual({ allowed: true });
    const denied = await http.post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', review('delete', 'secrets'));
    expect(denied.json.status).toEqual({ allowed: false, reason: 'secrets are precious' });
    expect(denied.json.spec.resourceAttributes.verb).toBe('delete');
    const neither = await http.post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { kind: 'SelfSubjectAccessReview', spec: {} });
    expect(neither.status).toBe(422);
    const groups = (await http.get('/apis')).json.groups.map((g: { name: string }) => g.name);
    expect(groups).toEqual(expect.arrayContaining(['authorization.k8s.io', 'authentication.k8s.io']));
  });

  it('SelfSubjectReview names the authenticated user', async () => {
    const res = await http.post('/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    expect(res.status).toBe(201);
    expect(res.json.status.userInfo).toEqual({ username: 'edge-sync:admin', groups: ['system:masters', 'system:authenticated'] });
    expect((await http.post('/apis/authentication.k8s.io/v1/selfsubjectreviews', {}, { token: 'wrong' })).status).toBe(401);
  });
});
