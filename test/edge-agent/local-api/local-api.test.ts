/** List, get, selectors, secrets, refusals and discovery of the local API, over real HTTP from a real SQLite cache. */
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import { READ_ONLY_MESSAGE } from '../../../edge-agent/local-api/index.js';
import { configMap, LocalApiFixture, nameOf, node, pod, rvOf, secret } from './helpers.js';

const fixtures: LocalApiFixture[] = [];
async function fixture(options: ConstructorParameters<typeof LocalApiFixture>[0] = {}): Promise<LocalApiFixture> {
  const f = new LocalApiFixture(options);
  fixtures.push(f);
  return f;
}
afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.close();
});

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

function items(body: JsonObject): JsonObject[] {
  return body.items as JsonObject[];
}

describe('local API: list and get', () => {
  it('lists in the Kubernetes format with the cache seq as every resourceVersion', async () => {
    const f = await fixture();
    f.put(pod('web-0'));
    const web0Seq = f.cache.currentSeq();
    f.put(pod('web-1'), pod('db-0', { namespace: 'data' }));
    f.put(configMap('cfg', { a: '1' }));
    await f.startServer();

    const all = await f.request('/api/v1/pods');
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toBe('application/json');
    expect(all.body.kind).toBe('PodList');
    expect(all.body.apiVersion).toBe('v1');
    expect(all.body.metadata).toEqual({ resourceVersion: String(f.cache.currentSeq()) });
    expect(items(all.body).map(nameOf)).toEqual(['db-0', 'web-0', 'web-1']);
    const web0 = items(all.body).find((item) => nameOf(item) === 'web-0') as JsonObject;
    // The hub's resourceVersion (777001) is replaced by the local seq of the object's last write.
    expect(rvOf(web0)).toBe(String(web0Seq));
    expect(new Set(items(all.body).map(rvOf)).size).toBe(3);

    const inDefault = await f.request('/api/v1/namespaces/default/pods');
    expect(items(inDefault.body).map(nameOf)).toEqual(['web-0', 'web-1']);

    const cms = await f.request('/api/v1/namespaces/default/configmaps');
    expect(cms.body.kind).toBe('ConfigMapList');
    // Cached without kind/apiVersion (as informer list items are); served with them.
    expect(items(cms.body)[0]).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1', data: { a: '1' }, metadata: { name: 'cfg', namespace: 'default' } });
  });

  it('gets one object, with the resourceVersion of its last write, and 404 NotFound Status otherwise', async () => {
    const f = await fixture();
    f.put(pod('web-0'), node('edge-1'));
    f.put(pod('web-0', { image: 'registry.example/app:2.0' }));
    const seq = f.cache.currentSeq();
    f.put(configMap('later', {}));
    await f.startServer();

    const got = await f.request('/api/v1/namespaces/default/pods/web-0');
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ kind: 'Pod', apiVersion: 'v1', metadata: { name: 'web-0', resourceVersion: String(seq) }, spec: { containers: [{ image: 'registry.example/app:2.0' }] } });

    const nodeAnswer = await f.request('/api/v1/nodes/edge-1');
    expect(nodeAnswer.body).toMatchObject({ kind: 'Node', metadata: { name: 'edge-1' } });
    expect((await f.request('/api/v1/nodes')).body.kind).toBe('NodeList');

    const missing = await f.request('/api/v1/namespaces/other/pods/web-0');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "web-0" not found',
      reason: 'NotFound',
      details: { name: 'web-0', kind: 'pods' },
      code: 404,
    });
    // A namespaced object is not addressable without its namespace; unknown resources are 404 too.
    expect((await f.request('/api/v1/pods/web-0')).status).toBe(404);
    expect((await f.request('/api/v1/namespaces/default/services')).body).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
  });

  it('merges the live pod status when the runtime provides it, and serves the cached pod otherwise', async () => {
    const f = await fixture();
    f.put(pod('web-0'), pod('web-1', { status: { phase: 'Pending' } }));
    await f.startServer({
      podStatus: (key) => (key === 'Pod/default/web-0' ? { phase: 'Running', containerStatuses: [{ name: 'main', ready: true, restartCount: 2, state: { running: {} } }] } : undefined),
    });
    const list = await f.request('/api/v1/namespaces/default/pods');
    expect(items(list.body).map((item) => item.status)).toEqual([
      { phase: 'Running', containerStatuses: [{ name: 'main', ready: true, restartCount: 2, state: { running: {} } }] },
      { phase: 'Pending' },
    ]);
    const table = await f.request('/api/v1/namespaces/default/pods', { headers: { Accept: TABLE } });
    expect((table.body.rows as JsonObject[]).map((row) => (row.cells as unknown[]).slice(0, 4))).toEqual([
      ['web-0', '1/1', 'Running', '2'],
      ['web-1', '0/1', 'Pending', '0'],
    ]);
  });
});

describe('local API: selectors', () => {
  async function seeded(): Promise<LocalApiFixture> {
    const f = await fixture();
    f.put(
      pod('web-0', { labels: { app: 'web', tier: 'front' } }),
      pod('web-1', { labels: { app: 'web', tier: 'front', canary: 'true' }, nodeName: 'edge-2' }),
      pod('db-0', { labels: { app: 'db', tier: 'back' } }),
      pod('job-0', { labels: { replicas: '3' } }),
    );
    await f.startServer();
    return f;
  }

  async function names(f: LocalApiFixture, query: string): Promise<string[]> {
    const answer = await f.request(`/api/v1/namespaces/default/pods?${query}`);
    expect(answer.status, answer.text).toBe(200);
    return items(answer.body).map(nameOf);
  }

  it('label selectors in equality and set-based forms', async () => {
    const f = await seeded();
    const q = (selector: string): Promise<string[]> => names(f, `labelSelector=${encodeURIComponent(selector)}`);
    expect(await q('app=web')).toEqual(['web-0', 'web-1']);
    expect(await q('app==web,tier=front')).toEqual(['web-0', 'web-1']);
    // != and notin also select objects without the label, as in Kubernetes.
    expect(await q('app!=web')).toEqual(['db-0', 'job-0']);
    expect(await q('app in (db, web)')).toEqual(['db-0', 'web-0', 'web-1']);
    expect(await q('app notin (web)')).toEqual(['db-0', 'job-0']);
    expect(await q('canary')).toEqual(['web-1']);
    expect(await q('app,!canary')).toEqual(['db-0', 'web-0']);
    expect(await q('replicas>2')).toEqual(['job-0']);
    expect(await q('replicas<2')).toEqual([]);
    expect(await q('')).toEqual(['db-0', 'job-0', 'web-0', 'web-1']);
  });

  it('field selectors on metadata.name, metadata.namespace and spec.nodeName', async () => {
    const f = await seeded();
    expect(await names(f, 'fieldSelector=metadata.name%3Dweb-1')).toEqual(['web-1']);
    expect(await names(f, 'fieldSelector=spec.nodeName%3Dedge-1')).toEqual(['db-0', 'job-0', 'web-0']);
    expect(await names(f, 'fieldSelector=spec.nodeName!%3Dedge-1,metadata.namespace%3Ddefault')).toEqual(['web-1']);
    expect(await names(f, 'fieldSelector=metadata.namespace%3Dother')).toEqual([]);
    expect(await names(f, `labelSelector=app%3Dweb&fieldSelector=${encodeURIComponent('spec.nodeName==edge-1')}`)).toEqual(['web-0']);
  });

  it('answers a bad selector with 400 BadRequest', async () => {
    const f = await seeded();
    for (const query of ['labelSelector=app%20in%20(web', 'labelSelector=app%3D%3D%3Dweb', 'labelSelector=-bad-key', 'fieldSelector=status.phase%3DRunning', 'fieldSelector=nonsense']) {
      const answer = await f.request(`/api/v1/namespaces/default/pods?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body, query).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400 });
    }
    const unsupported = await f.request('/api/v1/namespaces/default/configmaps?fieldSelector=spec.nodeName%3Dedge-1');
    expect(unsupported.body.message).toMatch(/field label not supported: spec.nodeName/);
  });
});

describe('local API: secrets and writes', () => {
  it('refuses Secrets with 403 Forbidden naming --local-api-secrets, and serves them with it', async () => {
    const f = await fixture();
    f.put(secret('token', { password: 's3cret' }), pod('web-0'));
    await f.startServer({ serveSecrets: false });
    for (const path of ['/api/v1/secrets', '/api/v1/namespaces/default/secrets', '/api/v1/namespaces/default/secrets/token', '/api/v1/namespaces/default/secrets?watch=true']) {
      const answer = await f.request(path);
      expect(answer.status, path).toBe(403);
      expect(answer.body, path).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
      expect(answer.body.message, path).toMatch(/--local-api-secrets/);
      expect(answer.text, path).not.toContain(Buffer.from('s3cret').toString('base64'));
    }

    const { url } = await f.startServer({ serveSecrets: true });
    const got = await f.request('/api/v1/namespaces/default/secrets/token', { base: url });
    expect(got.status).toBe(200);
    expect(Buffer.from(String((got.body.data as JsonObject).password), 'base64').toString()).toBe('s3cret');
    expect(got.body.metadata).toMatchObject({ resourceVersion: String(f.cache.currentSeq() - 1) });
    const list = await f.request('/api/v1/secrets', { base: url });
    expect(list.body.kind).toBe('SecretList');
    expect(items(list.body).map(nameOf)).toEqual(['token']);
  });

  it('refuses every write with 405 MethodNotAllowed and changes nothing', async () => {
    const f = await fixture();
    f.put(pod('web-0'));
    await f.startServer();
    const digest = f.cache.digest();
    const seq = f.cache.currentSeq();
    const body = JSON.stringify(pod('web-1'));
    for (const [method, path] of [
      ['POST', '/api/v1/namespaces/default/pods'],
      ['PUT', '/api/v1/namespaces/default/pods/web-0'],
      ['PATCH', '/api/v1/namespaces/default/pods/web-0'],
      ['DELETE', '/api/v1/namespaces/default/pods/web-0'],
      ['DELETE', '/api/v1/namespaces/default/pods'],
    ] as const) {
      const answer = await f.request(path, { method, body: method === 'DELETE' ? undefined : body, headers: { 'Content-Type': 'application/json' } });
      expect(answer.status, `${method} ${path}`).toBe(405);
      expect(answer.headers.get('allow')).toBe('GET, HEAD');
      expect(answer.body).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: READ_ONLY_MESSAGE, reason: 'MethodNotAllowed', code: 405 });
    }
    expect(f.cache.digest()).toBe(digest);
    expect(f.cache.currentSeq()).toBe(seq);
    expect((await f.request('/api/v1/namespaces/default/pods/web-0')).status).toBe(200);
  });
});

describe('local API: discovery, tables, health', () => {
  it('serves the discovery documents kubectl reads, with read-only verbs', async () => {
    const f = await fixture();
    await f.startServer();
    const api = await f.request('/api');
    expect(api.body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const v1 = await f.request('/api/v1');
    expect(v1.body).toMatchObject({ kind: 'APIResourceList', groupVersion: 'v1' });
    const resources = v1.body.resources as JsonObject[];
    expect(resources.map((r) => [r.name, r.kind, r.namespaced])).toEqual([
      ['pods', 'Pod', true],
      ['configmaps', 'ConfigMap', true],
      ['secrets', 'Secret', true],
      ['nodes', 'Node', false],
      ['namespaces', 'Namespace', false],
    ]);
    for (const resource of resources) expect(resource.verbs).toEqual(resource.name === 'namespaces' ? ['get', 'list'] : ['get', 'list', 'watch']);
    expect(resources.find((r) => r.name === 'pods')?.shortNames).toEqual(['po']);
    expect(resources.find((r) => r.name === 'configmaps')?.shortNames).toEqual(['cm']);
    expect((await f.request('/apis')).body).toEqual({ kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    expect((await f.request('/version')).body).toMatchObject({ major: '1', minor: '32' });
    const health = await f.request('/healthz');
    expect([health.status, health.text]).toEqual([200, 'ok']);
    expect((await f.request('/apis/apps/v1')).status).toBe(404);
    expect((await f.request('/openapi/v2')).status).toBe(404);
  });

  it('prints server-side Tables for kubectl: names, pod READY/STATUS/RESTARTS, configmap DATA, AGE', async () => {
    const f = await fixture();
    const created = Date.parse('2026-01-01T00:00:00Z');
    f.put(
      pod('crash', { status: { phase: 'Running', containerStatuses: [{ name: 'main', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } }] } }),
      pod('plain'),
      configMap('cfg', { a: '1', b: '2', c: '3' }),
    );
    await f.startServer({ now: () => created + (3 * 60 + 20) * 1000 });

    const pods = await f.request('/api/v1/namespaces/default/pods', { headers: { Accept: TABLE } });
    expect(pods.body).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: String(f.cache.currentSeq()) } });
    expect((pods.body.columnDefinitions as JsonObject[]).filter((c) => c.priority === 0).map((c) => c.name)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age']);
    const rows = pods.body.rows as JsonObject[];
    expect(rows.map((row) => row.cells)).toEqual([
      // kube's -o wide columns too: IP, Node, Nominated Node, Readiness Gates.
      ['crash', '0/1', 'CrashLoopBackOff', '4', '3m20s', '<none>', 'edge-1', '<none>', '<none>'],
      ['plain', '0/1', '', '0', '3m20s', '<none>', 'edge-1', '<none>', '<none>'],
    ]);
    // By default each row carries the object's metadata (kubectl reads names and namespaces from it).
    expect(rows[0]?.object).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'crash', namespace: 'default' } });

    const full = await f.request('/api/v1/namespaces/default/pods/plain?includeObject=Object', { headers: { Accept: TABLE } });
    expect((full.body.rows as JsonObject[])[0]?.object).toMatchObject({ kind: 'Pod', spec: { nodeName: 'edge-1' } });

    const cms = await f.request('/api/v1/namespaces/default/configmaps', { headers: { Accept: TABLE } });
    expect((cms.body.rows as JsonObject[]).map((row) => row.cells)).toEqual([['cfg', 3, '3m20s']]);

    const protobufOnly = await f.request('/api/v1/namespaces/default/pods', { headers: { Accept: 'application/vnd.kubernetes.protobuf' } });
    expect(protobufOnly.status).toBe(406);
  });
});
