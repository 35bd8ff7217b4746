/**
 * `GET /api/v1/namespaces/{ns}/pods/{name}/log` as the API server serves it, for the agent's
 * local API (so `kubectl logs` works on the device while the cloud is away): the container from
 * `?container=` (or the Pod's only container), errors as a metav1.Status, the log itself from
 * the same reader as the kubelet API's containerLogs.
 */
import type { ServerResponse } from 'node:http';
import { containerNameError, formatKey, namespaceNameError, objectNameError, type JsonObject } from '../../protocol/index.js';
import type { RuntimeStreams } from '../runtime/runtime-streams.js';
import { serveContainerLogs } from './log-request.js';

export interface PodLogDeps {
  nodeName: string;
  getPod: (key: string) => JsonObject | undefined;
  streams: RuntimeStreams;
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  if (res.headersSent) return void res.destroy();
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

/** The API server's pods/log for a Pod this node runs. */
export async function servePodLog(deps: PodLogDeps, res: ServerResponse, namespace: string, name: string, query: URLSearchParams, now: number): Promise<void> {
  const notFound = () => status(res, 404, 'NotFound', `pods ${JSON.stringify(name)} not found`);
  if (namespaceNameError(namespace) || objectNameError(name)) return notFound();
  const key = formatKey('Pod', namespace, name);
  const pod = deps.getPod(key);
  const spec = pod?.spec as JsonObject | undefined;
  if (!pod || spec?.nodeName !== deps.nodeName || !deps.streams.has(key)) return notFound();
  const containers = ((spec.containers as JsonObject[] | undefined) ?? []).map((c) => String(c.name));
  const all = [...containers, ...((spec.initContainers as JsonObject[] | undefined) ?? []).map((c) => String(c.name))];
  let container = query.get('container') ?? '';
  if (container === '') {
    if (containers.length !== 1) return status(res, 400, 'BadRequest', `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`);
    container = containers[0]!;
  }
  if (containerNameError(container) || !all.includes(container)) return status(res, 400, 'BadRequest', `container ${container} is not valid for pod ${name}`);
  // The reader answers its own errors as text, as the kubelet does; the API server would wrap them.
  await serveContainerLogs(res, deps.streams, key, container, query, now);
}
