/**
 * The authentication and authorization seams. The embedded API has one credential (a bearer
 * token written to the data dir) and allows everything by default; a caller can pass its own
 * `authenticate` (more tokens, other users) and `authorize` (for example an RBAC evaluator, so
 * the hub can be run with exactly the permissions its ClusterRole grants). Every request goes
 * through both, with the attributes resolved once by request-info.ts.
 */
import { timingSafeEqual } from 'node:crypto';
import type { RequestInfo } from './request-info.js';

export interface UserInfo {
  username: string;
  groups: string[];
}

/** Returns the user a bearer token belongs to, or undefined for a bad or missing token. */
export type Authenticator = (bearerToken: string | undefined) => UserInfo | undefined;

export interface AuthorizationAttributes {
  user: UserInfo;
  request: RequestInfo;
}

export type AuthorizationDecision = { allowed: true } | { allowed: false; reason: string };

export type Authorizer = (attributes: AuthorizationAttributes) => AuthorizationDecision | Promise<AuthorizationDecision>;

export const allowAll: Authorizer = () => ({ allowed: true });

/** The user the data dir's token authenticates as: a cluster admin, as kubeadm's admin.conf is. */
export const ADMIN_USER: UserInfo = { username: 'edge-sync:admin', groups: ['system:masters', 'system:authenticated'] };

/** Accepts exactly `token` (compared in constant time) as ADMIN_USER. */
export function singleTokenAuthenticator(token: string): Authenticator {
  const expected = Buffer.from(token, 'utf8');
  return (bearer) => {
    if (bearer === undefined) return undefined;
    const given = Buffer.from(bearer, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return ADMIN_USER;
  };
}

/** kube's wording for a denied request, used as the message of the 403 Status. */
export function forbiddenReason(user: UserInfo, request: RequestInfo, reason: string): string {
  if (!request.isResourceRequest) return `User "${user.username}" cannot ${request.verb} path "${request.path}"${reason ? `: ${reason}` : ''}`;
  const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
  const scope = request.namespace && request.resource !== 'namespaces' ? ` in the namespace "${request.namespace}"` : request.resource === 'namespaces' ? '' : ' at the cluster scope';
  return `User "${user.username}" cannot ${request.verb} resource "${resource}" in API group "${request.apiGroup}"${scope}${reason ? `: ${reason}` : ''}`;
}
