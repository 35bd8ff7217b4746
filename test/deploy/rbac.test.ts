/** The RBAC evaluator the deploy tests rely on decides as kube's RBAC authorizer does. */
import { describe, expect, it } from 'vitest';
import { resolveRequestInfo } from '../../cloud-hub/apiserver/request-info.js';
import { RbacAuthorizer, bootstrapPolicy, serviceAccountUser, type RbacObject } from './rbac.js';

const request = (method: string, url: string) => {
  const parsed = new URL(url, 'https://x');
  return resolveRequestInfo(method, parsed.pathname, parsed.searchParams);
};
const RBAC = 'rbac.authorization.k8s.io/v1';
const sa = serviceAccountUser('apps', 'robot');
const alice = { username: 'alice', groups: ['ops', 'system:authenticated'] };

const objects: RbacObject[] = [
  { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'reader' }, rules: [{ apiGroups: [''], resources: ['pods', 'nodes/status'], verbs: ['get', 'list'] }] },
  { apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: { name: 'reader' }, roleRef: { kind: 'ClusterRole', name: 'reader' }, subjects: [{ kind: 'ServiceAccount', name: 'robot', namespace: 'apps' }] },
  {
    apiVersion: RBAC,
    kind: 'Role',
    metadata: { name: 'leases', namespace: 'apps' },
    rules: [
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['update'], resourceNames: ['mine'] },
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get'], resourceNames: ['apps'] },
      { apiGroups: [''], resources: ['*/status'], verbs: ['patch'] },
    ],
  },
  // A RoleBinding's ServiceAccount subject without a namespace is in the binding's namespace.
  { apiVersion: RBAC, kind: 'RoleBinding', metadata: { name: 'leases', namespace: 'apps' }, roleRef: { kind: 'Role', name: 'leases' }, subjects: [{ kind: 'ServiceAccount', name: 'robot' }] },
  // A RoleBinding may grant a ClusterRole's rules, in its namespace only.
  { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'writer' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['create'] }] },
  { apiVersion: RBAC, kind: 'RoleBinding', metadata: { name: 'writers', namespace: 'team' }, roleRef: { kind: 'ClusterRole', name: 'writer' }, subjects: [{ kind: 'Group', name: 'ops' }] },
  ...bootstrapPolicy(),
];

describe('RbacAuthorizer', () => {
  const authz = new RbacAuthorizer(objects);
  const allowed = (user: typeof sa, method: string, url: string) => authz.authorize({ user, request: request(method, url) }) as { allowed: boolean };

  it('ClusterRoleBindings grant everywhere, by resource and subresource exactly', () => {
    expect(allowed(sa, 'GET', '/api/v1/pods')).toMatchObject({ allowed: true });
    expect(allowed(sa, 'GET', '/api/v1/namespaces/any/pods/p')).toMatchObject({ allowed: true });
    expect(allowed(sa, 'GET', '/api/v1/pods?watch=1')).toMatchObject({ allowed: false });
    expect(allowed(sa, 'GET', '/api/v1/namespaces/any/pods/p/status')).toMatchObject({ allowed: false });
    expect(allowed(sa, 'GET', '/api/v1/nodes/n/status')).toMatchObject({ allowed: true });
    expect(allowed(sa, 'GET', '/api/v1/nodes/n')).toMatchObject({ allowed: false });
  });

  it('RoleBindings grant only in their namespace; resourceNames need a name; */subresource matches any resource', () => {
    expect(allowed(sa, 'PUT', '/apis/coordination.k8s.io/v1/namespaces/apps/leases/mine')).toMatchObject({ allowed: true });
    expect(allowed(sa, 'PUT', '/apis/coordination.k8s.io/v1/namespaces/apps/leases/other')).toMatchObject({ allowed: false });
    expect(allowed(sa, 'PUT', '/apis/coordination.k8s.io/v1/namespaces/other/leases/mine')).toMatchObject({ allowed: false });
    expect(allowed(sa, 'PATCH', '/api/v1/namespaces/apps/pods/p/status')).toMatchObject({ allowed: true });
    expect(allowed(sa, 'PATCH', '/api/v1/nodes/n/status')).toMatchObject({ allowed: false });
    // namespaces/NAME is "in" namespace NAME.
    expect(allowed(sa, 'GET', '/api/v1/namespaces/apps')).toMatchObject({ allowed: true });
    expect(allowed(sa, 'GET', '/api/v1/namespaces/team')).toMatchObject({ allowed: false });
    expect(allowed(alice, 'POST', '/api/v1/namespaces/team/configmaps')).toMatchObject({ allowed: true });
    expect(allowed(alice, 'POST', '/api/v1/namespaces/apps/configmaps')).toMatchObject({ allowed: false });
  });

  it('non-resource URLs through the bootstrap discovery role; system:masters bypasses RBAC', () => {
    expect(allowed(alice, 'GET', '/version')).toMatchObject({ allowed: true });
    expect(allowed(alice, 'GET', '/apis/coordination.k8s.io')).toMatchObject({ allowed: true });
    expect(allowed(alice, 'GET', '/metrics')).toMatchObject({ allowed: false });
    expect(allowed({ username: 'root', groups: ['system:masters'] }, 'DELETE', '/api/v1/nodes/n')).toMatchObject({ allowed: true });
  });

  it('records decisions and reports granted verbs nobody used', () => {
    expect(authz.denied(sa.username).length).toBeGreaterThan(0);
    expect(authz.unused(sa)).toEqual([
      'ClusterRole/reader rule 0 (via ClusterRoleBinding/reader): list core/nodes/status',
      // Wildcards are never "used": a least-privilege role has none.
      'Role/apps/leases rule 2 (via RoleBinding/apps/leases): patch core/*/status',
    ]);
  });
});
