/** Failures are Kubernetes Status objects with kube-apiserver's codes, reasons and messages. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMap, pod, startInProcess, type KubeHttp } from './kube-http.js';

let api: Awaited<ReturnType<typeof startInProcess>>;
let http: KubeHttp;

beforeAll(async () => {
  api = await startInProcess();
  http = api.http;
});

afterAll(async () => {
  await api?.stop();
});

function expectStatus(json: Record<string, any>, code: number, reason: string): void {
  expect(json).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });
}

describe('errors are Status objects', () => {
  it('401 without the token, or with a wrong one; probes need none', async () => {
    const none = await http.get('/api/v1/namespaces/default/pods', { token: null });
    expect(none.status).toBe(401);
    expectStatus(none.json, 401, 'Unauthorized');
    expect(none.json.message).toBe('Unauthorized');
    const wrong = await http.get('/api/v1/namespaces/default/pods', { token: 'not-the-token' });
    expect(wrong.status).toBe(401);
    const discovery = await http.get('/api', { token: null });
    expect(discovery.status).toBe(401);
    const healthz = await http.get('/healthz', { token: null });
    expect(healthz.status).toBe(200);
    expect(healthz.text).toBe('ok');
  });

  it('400 BadRequest for a body that is not JSON', async () => {
    const res = await http.post('/api/v1/namespaces/default/configmaps', '{"metadata": {"name": ', {});
    expect(res.status).toBe(400);
    expectStatus(res.json, 400, 'BadRequest');
    expect(res.json.message).toMatch(/^couldn't get version\/kind; json parse error: /);
  });

  it('400 BadRequest when the body names another namespace than the path', async () => {
    const res = await http.post('/api/v1/namespaces/default/configmaps', { ...configMap('elsewhere'), metadata: { name: 'elsewhere', namespace: 'kube-system' } });
    expect(res.status).toBe(400);
    expect(res.json.message).toBe('the namespace of the provided object does not match the namespace sent on the request');
  });

  it('404 NotFound with the resource and name, kind in details is the resource', async () => {
    const res = await http.get('/api/v1/namespaces/default/pods/nope');
    expect(res.status).toBe(404);
    expectStatus(res.json, 404, 'NotFound');
    expect(res.json.message).toBe('pods "nope" not found');
    expect(res.json.details).toEqual({ name: 'nope', kind: 'pods' });
    const lease = await http.get('/apis/coordination.k8s.io/v1/namespaces/default/leases/nope');
    expect(lease.json.message).toBe('leases.coordination.k8s.io "nope" not found');
    expect(lease.json.details).toEqual({ name: 'nope', group: 'coordination.k8s.io', kind: 'leases' });
  });

  it('404 for creating in a namespace that does not exist, and for unknown resources', async () => {
    const res = await http.post('/api/v1/namespaces/missing/configmaps', configMap('c'));
    expect(res.status).toBe(404);
    expect(res.json.message).toBe('namespaces "missing" not found');
    const unknown = await http.get('/api/v1/namespaces/default/deployments');
    expect(unknown.status).toBe(404);
    expectStatus(unknown.json, 404, 'NotFound');
    // namespaces/finalize exists in kube and is not served here: 405 naming it, not a bare 404.
    const finalize = await http.put('/api/v1/namespaces/default/finalize', { metadata: { name: 'default' } });
    expect(finalize.status).toBe(405);
    expect(finalize.json.message).toBe("namespaces/finalize is not supported: edge-sync's embedded API does not serve the namespaces/finalize subresource yet");
    expect((await http.get('/api/v1/namespaces/default/configmaps/x/status')).status).toBe(404);
    expect((await http.get('/api/v1/namespaces/default/status')).json.status.phase).toBe('Active');
  });

  it('409 AlreadyExists for a second create', async () => {
    expect((await http.post('/api/v1/namespaces/default/configmaps', configMap('twice'))).status).toBe(201);
    const res = await http.post('/api/v1/namespaces/default/configmaps', configMap('twice'));
    expect(res.status).toBe(409);
    expectStatus(res.json, 409, 'AlreadyExists');
    expect(res.json.message).toBe('configmaps "twice" already exists');
    expect(res.json.details).toEqual({ name: 'twice', kind: 'configmaps' });
  });

  it('409 Conflict for an update with a stale resourceVersion', async () => {
    const created = await http.post('/api/v1/namespaces/default/configmaps', configMap('stale'));
    const stale = created.json;
    expect((await http.put('/api/v1/namespaces/default/configmaps/stale', { ...stale, data: { key: 'v2' } })).status).toBe(200);
    const res = await http.put('/api/v1/namespaces/default/configmaps/stale', { ...stale, data: { key: 'v3' } });
    expect(res.status).toBe(409);
    expectStatus(res.json, 409, 'Conflict');
    expect(res.json.message).toBe('Operation cannot be fulfilled on configmaps "stale": the object has been modified; please apply your changes to the latest version and try again');
    expect((await http.get('/api/v1/namespaces/default/configmaps/stale')).json.data).toEqual({ key: 'v2' });
  });

  it('413 RequestEntityTooLarge for a body over 3 MiB, declared or streamed', async () => {
    const big = configMap('big', { blob: 'x'.repeat(3 * 1024 * 1024) });
    const res = await http.post('/api/v1/namespaces/default/configmaps', big);
    expect(res.status).toBe(413);
    expectStatus(res.json, 413, 'RequestEntityTooLarge');
    expect(res.json.message).toBe('Request entity too large: limit is 3145728');
    // Without Content-Length the limit is enforced while reading.
    const chunked = await http.request('POST', '/api/v1/namespaces/default/configmaps', { body: Buffer.from(JSON.stringify(big)), chunked: true });
    expect(chunked.status).toBe(413);
    expect(chunked.json.reason).toBe('RequestEntityTooLarge');
    expect((await http.get('/api/v1/namespaces/default/configmaps/big')).status).toBe(404);
  });

  it('422 Invalid with causes for a missing name', async () => {
    const res = await http.post('/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: {}, data: {} });
    expect(res.status).toBe(422);
    expectStatus(res.json, 422, 'Invalid');
    expect(res.json.message).toBe('ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required');
    expect(res.json.details.causes).toEqual([{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
  });

  it('422 Invalid for names that are not DNS-1123 (subdomain for pods, label for namespaces)', async () => {
    const res = await http.post('/api/v1/namespaces/default/pods', pod('Bad_Name'));
    expect(res.status).toBe(422);
    expect(res.json.message).toMatch(/^Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters/);
    expect(res.json.details).toMatchObject({ name: 'Bad_Name', kind: 'Pod', causes: [{ reason: 'FieldValueInvalid', field: 'metadata.name' }] });
    const ns = await http.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } });
    expect(ns.status).toBe(422);
    expect(ns.json.message).toMatch(/^Namespace "a.b" is invalid: metadata.name: Invalid value: "a.b": a lowercase RFC 1123 label must consist of/);
  });

  it('422 Invalid for a kind or apiVersion that does not match the path', async () => {
    const res = await http.post('/api/v1/namespaces/default/pods', { ...configMap('wrong-kind') });
    expect(res.status).toBe(422);
    expect(res.json.message).toBe('Pod "wrong-kind" is invalid: kind: Invalid value: "ConfigMap": must be Pod');
    const version = await http.post('/apis/coordination.k8s.io/v1/namespaces/default/leases', { apiVersion: 'v1', kind: 'Lease', metadata: { name: 'l' } });
    expect(version.status).toBe(422);
    expect(version.json.message).toBe('Lease.coordination.k8s.io "l" is invalid: apiVersion: Invalid value: "v1": must be coordination.k8s.io/v1');
    expect(version.json.details).toMatchObject({ name: 'l', group: 'coordination.k8s.io', kind: 'Lease' });
  });

  it('422 Invalid lists every problem of a pod', async () => {
    const res = await http.post('/api/v1/namespaces/default/pods', { metadata: { name: 'p', labels: { 'bad key!': 'x' } }, spec: { containers: [{ name: 'c' }] } });
    expect(res.status).toBe(422);
    expect(res.json.details.causes.map((cause: { field: string }) => cause.field)).toEqual(['metadata.labels', 'spec.containers[0].image']);
    expect(res.json.message).toMatch(/^Pod "p" is invalid: \[metadata.labels: Invalid value: "bad key!": .*, spec.containers\[0\].image: Required value\]$/);
  });

  it('405 for verbs a path does not support, 415 for patch types that are not accepted', async () => {
    await http.post('/api/v1/namespaces/default/configmaps', configMap('verbs'));
    const post = await http.post('/api/v1/namespaces/default/configmaps/verbs', configMap('verbs'));
    expect(post.status).toBe(405);
    expectStatus(post.json, 405, 'MethodNotAllowed');
    const putCollection = await http.put('/api/v1/namespaces/default/configmaps', configMap('verbs'));
    expect(putCollection.status).toBe(405);
    const xml = await http.patch('/api/v1/namespaces/default/configmaps/verbs', '<data/>', 'application/xml');
    expect(xml.status).toBe(415);
    expectStatus(xml.json, 415, 'UnsupportedMediaType');
    expect(xml.json.message).toContain('application/merge-patch+json');
    expect(xml.json.message).toContain('application/apply-patch+yaml');
  });

  it('410 Expired is reported for a resourceVersion older than the history (see watch tests for the event form)', async () => {
    const res = await http.get('/api/v1/namespaces/default/configmaps?resourceVersion=abc&watch=1');
    expect(res.status).toBe(400);
    expect(res.json.message).toBe('invalid resource version "abc"');
  });

  it('403 for deleting a namespace Kubernetes protects', async () => {
    const res = await http.delete('/api/v1/namespaces/default');
    expect(res.status).toBe(403);
    expectStatus(res.json, 403, 'Forbidden');
    expect(res.json.message).toBe('namespaces "default" is forbidden: this namespace may not be deleted');
  });
});
