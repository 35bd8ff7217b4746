/**
 * The kubelet paths the hub's kubelet endpoint forwards, checked before anything is forwarded:
 * every name in them is validated (protocol/object-names.ts), so what reaches an agent is a
 * path it can trust the shape of.
 */
import { containerNameError, namespaceNameError, objectNameError, uidError } from '../../protocol/index.js';

export interface KubeletPath {
  /** `containerLogs`, `exec`, `attach`, `portForward`, `stats`, `metrics`, `pods`, `healthz`, ... */
  kind: string;
  /** The Pod the path names, when it names one. */
  pod?: { namespace: string; name: string };
}

/** Paths under these prefixes name no Pod and are passed on whole. */
const NODE_PATHS = [/^\/stats(\/summary|\/)?$/, /^\/metrics(\/resource|\/cadvisor|\/probes)?$/, /^\/pods\/?$/, /^\/healthz$/, /^\/runningpods\/?$/];

/** The parsed path, or why it is refused (always a 400 or 404 answer). */
export function parseKubeletPath(pathname: string): KubeletPath | { status: 400 | 404; error: string } {
  if (NODE_PATHS.some((pattern) => pattern.test(pathname))) return { kind: pathname.split('/')[1] ?? '' };
  const parts = pathname.split('/').slice(1);
  const kind = parts[0] ?? '';
  let names: string[];
  try {
    names = parts.slice(1).map((part) => decodeURIComponent(part));
  } catch {
    return { status: 400, error: 'the path is not valid percent-encoding' };
  }
  const [namespace = '', name = ''] = names;
  const checks: (string | undefined)[] = [];
  switch (kind) {
    case 'containerLogs':
      if (names.length !== 3) return { status: 404, error: 'expected /containerLogs/{namespace}/{pod}/{container}' };
      checks.push(containerNameError(names[2]!));
      break;
    case 'exec':
    case 'attach':
      // /exec/{namespace}/{pod}/{container} or /exec/{namespace}/{pod}/{uid}/{container}
      if (names.length !== 3 && names.length !== 4) return { status: 404, error: `expected /${kind}/{namespace}/{pod}[/{uid}]/{container}` };
      if (names.length === 4) checks.push(uidError(names[2]!));
      checks.push(containerNameError(names[names.length - 1]!));
      break;
    case 'portForward':
      if (names.length !== 2 && names.length !== 3) return { status: 404, error: 'expected /portForward/{namespace}/{pod}[/{uid}]' };
      if (names.length === 3) checks.push(uidError(names[2]!));
      break;
    default:
      return { status: 404, error: `the hub's kubelet endpoint does not serve ${JSON.stringify(pathname.slice(0, 100))}` };
  }
  checks.push(namespaceNameError(namespace), objectNameError(name));
  const why = checks.find((check) => check !== undefined);
  if (why !== undefined) return { status: 400, error: `invalid name in the path: ${why}` };
  return { kind, pod: { namespace, name } };
}
