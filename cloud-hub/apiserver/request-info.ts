/**
 * Every request resolved, in this one place, to what an authorizer needs: the Kubernetes
 * verb, API group/version, resource, subresource, namespace and name (kube-apiserver's
 * RequestInfo), or a non-resource path. Routing and authorization both read the result, so
 * what is authorized is exactly what is served.
 */
import { queryFlag } from '../../protocol/kube/index.js';

export type ResourceVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceRequestInfo {
  isResourceRequest: true;
  path: string;
  verb: ResourceVerb;
  apiGroup: string;
  apiVersion: string;
  /** Plural resource name as in the path (`pods`). */
  resource: string;
  /** `status`, `binding`, or '' for the resource itself. */
  subresource: string;
  /** The namespace in the path ('' when none; for `namespaces/NAME` the namespace's own name, as kube does). */
  namespace: string;
  /** '' for collections. */
  name: string;
}

export interface NonResourceRequestInfo {
  isResourceRequest: false;
  path: string;
  /** The lower-case HTTP method (`get`, `post`, ...), as kube uses for non-resource URLs. */
  verb: string;
}

export type RequestInfo = ResourceRequestInfo | NonResourceRequestInfo;

/** Subresources of a namespace that follow `namespaces/NAME/` (so they are not resources in it). */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/** Parses a request's method, path and query the way kube-apiserver's RequestInfoFactory does. */
export function resolveRequestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const lowerMethod = method.toLowerCase();
  const parts = pathname.split('/').filter((part) => part !== '').map((part) => decodeURIComponent(part));
  let rest: string[];
  let apiGroup: string;
  let apiVersion: string;
  if (parts[0] === 'api' && parts.length >= 3) {
    apiGroup = '';
    apiVersion = parts[1] as string;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    apiGroup = parts[1] as string;
    apiVersion = parts[2] as string;
    rest = parts.slice(3);
  } else {
    return { isResourceRequest: false, path: pathname, verb: lowerMethod };
  }

  // The legacy watch paths, /api/v1/watch/namespaces/NS/pods[/NAME] (kube's "special verb"
  // prefix, still served and still used by older clients): a watch of what follows.
  const legacyWatch = rest[0] === 'watch';
  if (legacyWatch) {
    if (rest.length < 2) throw new Error('a watch path names no resource');
    rest = rest.slice(1);
  }

  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1] as string;
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2] as string)) rest = rest.slice(2);
  }
  const resource = rest[0] ?? '';
  const name = rest[1] ?? '';
  const subresource = rest.slice(2).join('/');

  let verb: ResourceVerb;
  switch (lowerMethod) {
    case 'get':
    case 'head':
      verb = legacyWatch || queryFlag(query, 'watch') === true ? 'watch' : name ? 'get' : 'list';
      break;
    case 'post':
      verb = 'create';
      break;
    case 'put':
      verb = 'update';
      break;
    case 'patch':
      verb = 'patch';
      break;
    case 'delete':
      verb = name ? 'delete' : 'deletecollection';
      break;
    default:
      // Unknown methods still resolve (the router answers 405); 'get' is the least privileged guess.
      verb = 'get';
  }
  return { isResourceRequest: true, path: pathname, verb, apiGroup, apiVersion, resource, subresource, namespace, name };
}
