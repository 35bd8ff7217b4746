/**
 * A small Kubernetes RBAC authorizer for the embedded API's `authorize` hook, so a process can be
 * run with exactly the permissions that the rendered manifests grant. It follows
 * kube-apiserver's RBAC authorizer (plugin/pkg/auth/authorizer/rbac and
 * pkg/registry/rbac/validation):
 *
 * - ClusterRoleBindings grant their ClusterRole's rules everywhere; RoleBindings grant their
 *   Role's (or ClusterRole's) rules only for requests in the binding's namespace. A request for
 *   `namespaces/NAME` is in namespace NAME, so a Role can grant `get` on its own namespace.
 * - Subjects: User by name, Group by membership, ServiceAccount as
 *   `system:serviceaccount:NS:NAME` (NS defaults to the RoleBinding's namespace).
 * - A rule matches when the verb, the API group, the resource (`pods`, `pods/status`, `*`,
 *   `* /status`) and, if it lists any, the resource name match; rules with resourceNames never
 *   match requests without a name (list, watch, create). Non-resource URLs match exactly or by
 *   a trailing `*`.
 * - `system:masters` is allowed everything before RBAC is consulted, as kube does.
 *
 * Every decision is recorded with the rules that allowed it, so a test can assert that nothing
 * was denied and that every verb a role grants was needed.
 */
import type { AuthorizationAttributes, AuthorizationDecision, Authorizer, UserInfo } from '../../cloud-hub/apiserver/index.js';
import type { RequestInfo } from '../../cloud-hub/apiserver/request-info.js';

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface RbacObject {
  apiVersion?: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: PolicyRule[];
  roleRef?: { apiGroup?: string; kind: 'Role' | 'ClusterRole'; name: string };
  subjects?: { kind: 'User' | 'Group' | 'ServiceAccount'; name: string; namespace?: string; apiGroup?: string }[];
}

/** One rule of one role, as granted through one binding. */
export interface Grant {
  binding: string;
  role: string;
  ruleIndex: number;
  rule: PolicyRule;
  /** Where the grant applies: '' for cluster-wide (ClusterRoleBinding), else the namespace. */
  namespace: string;
}

export interface Decision {
  user: string;
  request: RequestInfo;
  allowed: boolean;
  /** Every grant that allows the request (empty when denied). */
  grants: Grant[];
}

const RBAC_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

export function isRbacObject(object: { kind?: unknown; apiVersion?: unknown }): object is RbacObject {
  return typeof object.kind === 'string' && RBAC_KINDS.has(object.kind) && object.apiVersion === 'rbac.authorization.k8s.io/v1';
}

/**
 * The parts of Kubernetes' bootstrap policy that any authenticated client has (system:discovery,
 * system:public-info-viewer, system:basic-user bound to system:authenticated), limited to the
 * non-resource URLs: discovery, version and health.
 */
export function bootstrapPolicy(): RbacObject[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'system:discovery' },
      rules: [{ verbs: ['get'], nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'system:discovery' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:discovery' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:authenticated' }],
    },
  ];
}

/** The user a ServiceAccount's token authenticates as. */
export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return { username: `system:serviceaccount:${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'] };
}

function has(list: readonly string[] | undefined, value: string): boolean {
  return (list ?? []).includes('*') || (list ?? []).includes(value);
}

/** kube's ResourceMatches: `*`, the combined `resource/subresource`, or `* /subresource`. */
function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  return (rule.resources ?? []).some((r) => r === '*' || r === combined || (subresource !== '' && r === `*/${subresource}`));
}

function nonResourceUrlMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some((url) => url === '*' || url === path || (url.endsWith('*') && path.startsWith(url.slice(0, -1))));
}

export function ruleAllows(rule: PolicyRule, request: RequestInfo): boolean {
  if (!request.isResourceRequest) return has(rule.verbs, request.verb) && nonResourceUrlMatches(rule, request.path);
  if (!has(rule.verbs, request.verb) || !has(rule.apiGroups, request.apiGroup) || !resourceMatches(rule, request.resource, request.subresource)) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) return request.name !== '' && rule.resourceNames.includes(request.name);
  return true;
}

export class RbacAuthorizer {
  readonly decisions: Decision[] = [];
  private readonly objects: RbacObject[];

  constructor(objects: readonly RbacObject[]) {
    this.objects = [...objects];
  }

  add(...objects: RbacObject[]): void {
    this.objects.push(...objects);
  }

  /** For EmbeddedApiServer's `authorize` option. */
  readonly authorize: Authorizer = ({ user, request }: AuthorizationAttributes): AuthorizationDecision => {
    if (user.groups.includes('system:masters')) return { allowed: true };
    const grants = this.grantsFor(user).filter((grant) => this.applies(grant, request));
    this.decisions.push({ user: user.username, request, allowed: grants.length > 0, grants });
    return grants.length > 0 ? { allowed: true } : { allowed: false, reason: 'no RBAC rule allows it' };
  };

  /** Every rule this user holds, with where it applies. */
  grantsFor(user: UserInfo): Grant[] {
    const grants: Grant[] = [];
    for (const binding of this.objects) {
      if (binding.kind !== 'ClusterRoleBinding' && binding.kind !== 'RoleBinding') continue;
      const namespace = binding.kind === 'RoleBinding' ? (binding.metadata.namespace ?? 'default') : '';
      if (!(binding.subjects ?? []).some((subject) => subjectMatches(subject, user, namespace))) continue;
      const ref = binding.roleRef;
      if (!ref) continue;
      // A ClusterRoleBinding can only reference a ClusterRole; a RoleBinding a Role in its namespace or a ClusterRole.
      if (binding.kind === 'ClusterRoleBinding' && ref.kind !== 'ClusterRole') continue;
      const role = this.objects.find(
        (object) => object.kind === ref.kind && object.metadata.name === ref.name && (ref.kind === 'ClusterRole' || (object.metadata.namespace ?? 'default') === namespace),
      );
      if (!role) continue;
      (role.rules ?? []).forEach((rule, ruleIndex) =>
        grants.push({ binding: `${binding.kind}/${namespace ? `${namespace}/` : ''}${binding.metadata.name}`, role: `${role.kind}/${role.metadata.namespace ? `${role.metadata.namespace}/` : ''}${role.metadata.name}`, ruleIndex, rule, namespace }),
      );
    }
    return grants;
  }

  private applies(grant: Grant, request: RequestInfo): boolean {
    if (grant.namespace !== '') {
      // Namespaced grants never cover cluster-scoped requests or non-resource URLs.
      if (!request.isResourceRequest || request.namespace !== grant.namespace) return false;
    }
    return ruleAllows(grant.rule, request);
  }

  denied(username?: string): Decision[] {
    return this.decisions.filter((decision) => !decision.allowed && (username === undefined || decision.user === username));
  }

  /**
   * Each (grant, verb, group/resource) that `user` holds and no recorded request used. Wildcards
   * are taken literally (a `*` verb is "used" only by nothing), so a role with them always shows
   * up here: least-privilege roles have none.
   */
  unused(user: UserInfo, roleFilter: (grant: Grant) => boolean = () => true): string[] {
    const used = new Set<string>();
    for (const decision of this.decisions) {
      if (decision.user !== user.username || !decision.request.isResourceRequest) continue;
      const { verb, apiGroup, resource, subresource } = decision.request;
      const combined = subresource ? `${resource}/${subresource}` : resource;
      for (const grant of decision.grants) used.add(atom(grant, verb, apiGroup, combined));
    }
    const unused: string[] = [];
    for (const grant of this.grantsFor(user).filter(roleFilter)) {
      const { rule } = grant;
      if (rule.nonResourceURLs) continue;
      for (const verb of rule.verbs) {
        for (const group of rule.apiGroups ?? []) {
          for (const resource of rule.resources ?? []) {
            if (!used.has(atom(grant, verb, group, resource))) unused.push(`${grant.role} rule ${grant.ruleIndex} (via ${grant.binding}): ${verb} ${group || 'core'}/${resource}`);
          }
        }
      }
    }
    return unused;
  }

  /** Distinct `verb group/resource[/sub] @namespace` lines of what `username` was allowed, for reports. */
  summary(username: string): string[] {
    const lines = new Set<string>();
    for (const decision of this.decisions) {
      if (decision.user !== username) continue;
      const r = decision.request;
      lines.add(
        r.isResourceRequest
          ? `${decision.allowed ? 'allowed' : 'DENIED'} ${r.verb} ${r.apiGroup || 'core'}/${r.subresource ? `${r.resource}/${r.subresource}` : r.resource} @${r.namespace || '(cluster)'}`
          : `${decision.allowed ? 'allowed' : 'DENIED'} ${r.verb} ${r.path}`,
      );
    }
    return [...lines].sort();
  }
}

function subjectMatches(subject: NonNullable<RbacObject['subjects']>[number], user: UserInfo, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.username;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount':
      return user.username === `system:serviceaccount:${subject.namespace || bindingNamespace}:${subject.name}`;
    default:
      return false;
  }
}

/** The unit of "was this permission needed": one verb on one group/resource through one grant. */
function atom(grant: Grant, verb: string, group: string, resource: string): string {
  return `${grant.binding}|${grant.role}|${grant.ruleIndex}|${verb}|${group}|${resource}`;
}
