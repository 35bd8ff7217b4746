/**
 * Subresources other than `status`: `pods/binding` (what a scheduler posts), `pods/eviction`
 * (what `kubectl drain` posts: an Eviction is a delete with the Eviction's DeleteOptions; there
 * are no PodDisruptionBudgets here, so none refuses it), and a clear answer for the
 * subresources edge-sync does not serve (pods/proxy, ephemeral containers, resize, namespace
 * finalize; logs, exec, attach, port-forward and nodes/proxy when no kubelet endpoint is configured): a 405 Status
 * naming the subresource, instead of kube's bare "the server could not find the requested resource".
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isJsonObject } from '../../protocol/index.js';
import { ApiError, objectField, statusErrors, stringField } from '../../protocol/kube/index.js';
import { parseObjectBody, readBody } from './content.js';
import type { ObjectRegistry } from './registry.js';
import { deleteRequestOf, parseDryRun } from './request-params.js';
import type { ResourceDefinition } from './resources.js';
import { sendJson } from './responses.js';

/** Subresources served here, by resource. */
const SERVED: Readonly<Record<string, readonly string[]>> = { pods: ['binding', 'eviction'] };

/** Subresources kube has that edge-sync does not serve yet, by resource. */
const NOT_SERVED: Readonly<Record<string, readonly string[]>> = {
  pods: ['log', 'exec', 'attach', 'portforward', 'proxy', 'ephemeralcontainers', 'resize'],
  nodes: ['proxy'],
  namespaces: ['finalize'],
};

/** The pods' subresources served by proxying to the node's kubelet API (and nodes/proxy), when a kubelet endpoint is configured. */
const STREAMED: ReadonlySet<string> = new Set(['log', 'exec', 'attach', 'portforward']);

/** True when this module serves `resource/subresource`. */
export function servesSubresource(def: ResourceDefinition, subresource: string): boolean {
  return def.group === '' && (SERVED[def.resource]?.includes(subresource) ?? false);
}

/** The answer to a subresource kube has and edge-sync does not serve yet; undefined for other paths. */
export function notServedError(def: ResourceDefinition, subresource: string): ApiError | undefined {
  const base = subresource.split('/')[0] ?? '';
  if (def.group !== '' || !(NOT_SERVED[def.resource]?.includes(base) ?? false)) return undefined;
  const what = `${def.resource}/${base}`;
  // Served through the hub's kubelet endpoint when this API has one (pod-streams.ts).
  if ((def.resource === 'pods' && STREAMED.has(base)) || (def.resource === 'nodes' && base === 'proxy')) {
    return new ApiError(405, 'MethodNotAllowed', `${what} is not supported: this embedded API has no kubelet endpoint to reach the node (start it with --kubelet-endpoint, as cloud-hub --embedded and npm start do)`, { kind: def.resource });
  }
  return new ApiError(405, 'MethodNotAllowed', `${what} is not supported: edge-sync's embedded API does not serve the ${what} subresource yet`, { kind: def.resource });
}

export interface SubresourceRequest {
  req: IncomingMessage;
  res: ServerResponse;
  registry: ObjectRegistry;
  maxBodyBytes: number;
  def: ResourceDefinition;
  namespace: string;
  name: string;
  subresource: string;
  query: URLSearchParams;
}

/** POST pods/NAME/binding and pods/NAME/eviction; both answer 201 with a Success Status, as kube does. */
export async function serveSubresource(request: SubresourceRequest): Promise<void> {
  const { req, res, registry, def, namespace, name, subresource, query } = request;
  if (req.method !== 'POST') throw statusErrors.methodNotSupported({ group: '', resource: `${def.resource}/${subresource}` }, (req.method ?? 'GET').toLowerCase());
  const body = parseObjectBody(await readBody(req, request.maxBodyBytes), req.headers['content-type']);
  const dryRun = parseDryRun(query);
  if (subresource === 'binding') {
    registry.bind(def, namespace, name, body, { dryRun });
  } else {
    if (!isJsonObject(body) || (body.kind !== undefined && body.kind !== 'Eviction')) throw statusErrors.badRequest('the body must be a policy/v1 Eviction');
    const evictionName = stringField(objectField(body, 'metadata'), 'name') ?? '';
    if (evictionName !== '' && evictionName !== name) throw statusErrors.badRequest('name in URL does not match name in Eviction object');
    const options = objectField(body, 'deleteOptions') ?? {};
    const deleteRequest = deleteRequestOf(options, query);
    registry.delete(def, namespace, name, { ...deleteRequest, dryRun: deleteRequest.dryRun || dryRun });
  }
  await registry.whenDurable();
  sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}
