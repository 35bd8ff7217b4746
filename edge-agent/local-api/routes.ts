/**
 * Maps a request path to what it names, the Kubernetes way:
 *
 *   /api/v1/pods                          every Pod (all namespaces)
 *   /api/v1/namespaces/NS/pods            Pods in NS
 *   /api/v1/namespaces/NS/pods/NAME       one Pod
 *   /api/v1/nodes, /api/v1/nodes/NAME     cluster-scoped kinds
 *   /api/v1/namespaces[/NAME]             the namespaces the cache implies (namespaces.ts)
 *   /api/v1/watch/...                     the old watch paths (same as ?watch=true)
 *   /api/v1/namespaces/NS/pods/NAME/log   a Pod's container log (when the agent serves logs)
 *
 * plus discovery and /healthz. Anything else is undefined (404).
 */
import { resourceNamed, type ResourceInfo } from './resources.js';

export type Route =
  | { type: 'healthz' }
  | { type: 'version' }
  | { type: 'api' }
  | { type: 'apis' }
  | { type: 'api-v1' }
  | { type: 'resource'; info: ResourceInfo; namespace: string | undefined; name: string | undefined; watchPath: boolean }
  | { type: 'namespaces'; name: string | undefined; watchPath: boolean }
  | { type: 'log'; namespace: string; name: string };

const FIXED: Readonly<Record<string, Route>> = {
  healthz: { type: 'healthz' },
  version: { type: 'version' },
  api: { type: 'api' },
  apis: { type: 'apis' },
  'api/v1': { type: 'api-v1' },
};

export function routeOf(pathname: string): Route | undefined {
  const trimmed = pathname.replace(/^\/+|\/+$/g, '');
  const fixed = FIXED[trimmed];
  if (fixed) return fixed;
  let segments: string[];
  try {
    segments = trimmed.split('/').map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined;
  }
  // An empty or slash-bearing segment could not be part of a cache key (Kind/namespace/name).
  if (segments.some((segment) => segment === '' || segment.includes('/'))) return undefined;
  if (segments[0] !== 'api' || segments[1] !== 'v1') return undefined;
  let rest = segments.slice(2);
  const watchPath = rest[0] === 'watch';
  if (watchPath) rest = rest.slice(1);

  if (!watchPath && rest.length === 5 && rest[0] === 'namespaces' && rest[2] === 'pods' && rest[4] === 'log') return { type: 'log', namespace: rest[1]!, name: rest[3]! };
  if (rest[0] === 'namespaces' && rest.length <= 2) return { type: 'namespaces', name: rest[1], watchPath };
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest.length <= 4) {
    const info = resourceNamed(rest[2] as string);
    if (!info?.namespaced) return undefined;
    return { type: 'resource', info, namespace: rest[1], name: rest[3], watchPath };
  }
  if (rest.length >= 1 && rest.length <= 2) {
    const info = resourceNamed(rest[0] as string);
    if (!info) return undefined;
    // A namespaced object is only addressable inside its namespace.
    if (info.namespaced && rest.length === 2) return undefined;
    return { type: 'resource', info, namespace: undefined, name: rest[1], watchPath };
  }
  return undefined;
}
