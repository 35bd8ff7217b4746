/**
 * The kubelet API's paths, parsed and validated before any segment is used: each is
 * percent-decoded once and must be a valid Kubernetes name of its kind (protocol/object-names.ts),
 * so `..`, `a/b` (`%2F`) and the like never reach a lookup, let alone a path.
 *
 *   /containerLogs/{ns}/{pod}/{container}
 *   /exec|attach/{ns}/{pod}/{container}, /exec|attach/{ns}/{pod}/{uid}/{container}
 *   /portForward/{ns}/{pod}, /portForward/{ns}/{pod}/{uid}
 *   /stats/summary, /metrics/resource, /pods, /healthz
 */
import { containerNameError, namespaceNameError, objectNameError, uidError } from '../../protocol/index.js';

export type KubeletTarget =
  | { kind: 'healthz' | 'pods' | 'summary' | 'resourceMetrics' }
  | { kind: 'containerLogs'; namespace: string; pod: string; container: string }
  | { kind: 'exec' | 'attach'; namespace: string; pod: string; uid?: string; container: string }
  | { kind: 'portForward'; namespace: string; pod: string; uid?: string };

export type ParsedTarget = { ok: true; target: KubeletTarget; query: URLSearchParams } | { ok: false; status: number; message: string };

function invalid(what: string, value: string, why: string): ParsedTarget {
  return { ok: false, status: 400, message: `invalid ${what} ${JSON.stringify(value.slice(0, 100))}: ${why}` };
}

export function parseTarget(url: string): ParsedTarget {
  const question = url.indexOf('?');
  const rawPath = question < 0 ? url : url.slice(0, question);
  const query = new URLSearchParams(question < 0 ? '' : url.slice(question + 1));
  const notFound: ParsedTarget = { ok: false, status: 404, message: '404 page not found' };
  if (!rawPath.startsWith('/')) return notFound;
  let segments: string[];
  try {
    segments = rawPath.slice(1).split('/').map((segment) => decodeURIComponent(segment));
  } catch {
    return { ok: false, status: 400, message: `invalid path: malformed percent-encoding` };
  }
  const [head, ...rest] = segments;
  const fixed: Record<string, KubeletTarget['kind']> = { healthz: 'healthz', pods: 'pods', 'stats/summary': 'summary', 'metrics/resource': 'resourceMetrics' };
  const joined = segments.filter((segment, index) => segment !== '' || index < segments.length - 1).join('/');
  const simple = fixed[joined];
  if (simple === 'healthz' || simple === 'pods' || simple === 'summary' || simple === 'resourceMetrics') return { ok: true, target: { kind: simple }, query };

  const names = (namespace: string, pod: string): ParsedTarget | undefined => {
    const nsWhy = namespaceNameError(namespace);
    if (nsWhy) return invalid('namespace', namespace, nsWhy);
    const podWhy = objectNameError(pod);
    if (podWhy) return invalid('pod name', pod, podWhy);
    return undefined;
  };
  const checkUid = (uid: string): ParsedTarget | undefined => {
    const why = uid === '' ? 'must not be empty' : uidError(uid);
    return why ? invalid('pod uid', uid, why) : undefined;
  };
  const checkContainer = (container: string): ParsedTarget | undefined => {
    const why = containerNameError(container);
    return why ? invalid('container name', container, why) : undefined;
  };

  if (head === 'containerLogs' && rest.length === 3) {
    const [namespace, pod, container] = rest as [string, string, string];
    const bad = names(namespace, pod) ?? checkContainer(container);
    return bad ?? { ok: true, target: { kind: 'containerLogs', namespace, pod, container }, query };
  }
  if ((head === 'exec' || head === 'attach') && (rest.length === 3 || rest.length === 4)) {
    const [namespace, pod] = rest as [string, string];
    const uid = rest.length === 4 ? rest[2]! : undefined;
    const container = rest.at(-1)!;
    const bad = names(namespace, pod) ?? (uid !== undefined ? checkUid(uid) : undefined) ?? checkContainer(container);
    return bad ?? { ok: true, target: { kind: head, namespace, pod, container, ...(uid !== undefined ? { uid } : {}) }, query };
  }
  if (head === 'portForward' && (rest.length === 2 || rest.length === 3)) {
    const [namespace, pod, uid] = rest as [string, string, string | undefined];
    const bad = names(namespace, pod) ?? (uid !== undefined ? checkUid(uid) : undefined);
    return bad ?? { ok: true, target: { kind: 'portForward', namespace, pod, ...(uid !== undefined ? { uid } : {}) }, query };
  }
  return notFound;
}
