/** The authentication and authorization seams: every request resolves to kube's attributes once. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_USER, type AuthorizationAttributes, type RequestInfo } from '../../../cloud-hub/apiserver/index.js';
import { resolveRequestInfo } from '../../../cloud-hub/apiserver/request-info.js';
import { configMap, pod, startInProcess } from './kube-http.js';

describe('request attributes', () => {
  const info = (method: string, url: string): RequestInfo => {
    const parsed = new URL(url, 'https://x');
    return resolveRequestInfo(method, parsed.pathname, parsed.searchParams);
  };

  it('resolves verbs, groups, resources, subresources, namespaces and names as kube does', () => {
    expect(info('GET', '/api/v1/namespaces/ns/pods')).toMatchObject({ isResourceRequest: true, verb: 'list', apiGroup: '', apiVersion: 'v1', resource: 'pods', namespace: 'ns', name: '' });
    expect(info('GET', '/api/v1/pods?watch=true')).toMatchObject({ verb: 'watch', resource: 'pods', namespace: '' });
    expect(info('PATCH', '/api/v1/namespaces/ns/pods/p/status')).toMatchObject({ verb: 'patch', resource: 'pods', subresource: 'status', name: 'p' });
    expect(info('DELETE', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases')).toMatchObject({ verb: 'deletecollection', apiGroup: 'coordination.k8s.io', resource: 'leases' });
    expect(info('GET', '/api/v1/namespaces/ns')).toMatchObject({ verb: 'get', resource: 'namespaces', name: 'ns', namespace: 'ns' });
    expect(info('PUT', '/api/v1/nodes/edge-1/status')).toMatchObject({ verb: 'update', resource: 'nodes', name: 'edge-1', subresource: 'status' });
    expect(info('GET', '/apis')).toEqual({ isResourceRequest: false, path: '/apis', verb: 'get' });
  });
});

describe('authorize and authenticate hooks', () => {
  const seen: AuthorizationAttributes[] = [];
  let api: Awaited<ReturnType<typeof startInProcess>>;

  beforeAll(async () => {
    api = await startInProcess({
      authenticate: (token) => (token === 'reader-token' ? { username: 'reader', groups: ['system:authenticated'] } : undefined),
      authorize: ({ user, request }) => {
        seen.push({ user, request });
        if (user.username === 'reader' && request.isResourceRequest && !['get', 'list', 'watch'].includes(request.verb)) return { allowed: false, reason: 'read-only' };
        return { allowed: true };
      },
    });
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('denies with a 403 Status in kube wording and passes the resolved attributes', async () => {
    const read = await api.http.get('/api/v1/namespaces/default/pods', { token: 'reader-token' });
    expect(read.status).toBe(200);
    const write = await api.http.post('/api/v1/namespaces/default/configmaps', configMap('nope'), { token: 'reader-token' });
    expect(write.status).toBe(403);
    expect(write.json).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403, details: { kind: 'configmaps' } });
    expect(write.json.message).toBe('configmaps is forbidden: User "reader" cannot create resource "configmaps" in API group "" in the namespace "default": read-only');
    const attributes = seen.at(-1)!;
    expect(attributes.user.username).toBe('reader');
    expect(attributes.request).toMatchObject({ verb: 'create', resource: 'configmaps', namespace: 'default' });
    expect((await api.http.get('/api/v1/namespaces/default/configmaps/nope', { token: 'reader-token' })).status).toBe(404);
  });

  it('the authenticate hook replaces the data dir token', async () => {
    expect((await api.http.get('/api/v1/namespaces/default/pods')).status).toBe(401);
    expect((await api.http.post('/api/v1/namespaces/default/pods', pod('p'), { token: 'reader-token' })).status).toBe(403);
    expect(ADMIN_USER.groups).toContain('system:masters');
  });
});
