/**
 * `pods/log`, `pods/exec`, `pods/attach` and `pods/portforward`, served the way kube-apiserver
 * serves them: find the Pod's node, turn the request into the kubelet's path
 * (`/containerLogs/{ns}/{pod}/{container}`, `/exec/...`, `/attach/...`, `/portForward/...`,
 * kube's LogLocation/ExecLocation/PortForwardLocation) and forward it to the node's kubelet
 * endpoint, here the hub's (cloud-hub/streams/), with a client certificate of this API's CA and
 * the node named in a header; upgrades (exec, attach, port-forward) become a two-way pipe.
 * `nodes/proxy/<path>` goes the same way to `<path>` of the Node's kubelet API, as kube proxies
 * it (`kubectl get --raw /api/v1/nodes/<node>/proxy/stats/summary`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { statusErrors } from '../../protocol/kube/index.js';
import { isJsonObject, type JsonObject } from '../../protocol/index.js';
import { forwardHeaders, forwardRequest, forwardUpgrade, type ForwardTarget } from '../streams/http-forward.js';
import type { ObjectRegistry } from './registry.js';
import type { ResourceDefinition } from './resources.js';

export const STREAM_SUBRESOURCES: ReadonlySet<string> = new Set(['log', 'exec', 'attach', 'portforward']);

/** Where the kubelet endpoint is: a connection for a node's request, and the node header. */
export interface KubeletConnector {
  /** A new connection to the kubelet endpoint serving `node`; undefined when none is known. */
  connect(node: string): Duplex | undefined;
  /** The header naming the node to the hub's endpoint. */
  nodeHeader: string;
}

const LOG_PARAMS = ['follow', 'previous', 'timestamps', 'sinceSeconds', 'sinceTime', 'tailLines', 'limitBytes'];
const EXEC_FLAGS = ['stdin', 'stdout', 'stderr', 'tty'];

export class PodStreams {
  constructor(
    private readonly registry: ObjectRegistry,
    private readonly kubelet: KubeletConnector,
  ) {}

  serves(def: ResourceDefinition, subresource: string): boolean {
    if (def.group !== '') return false;
    if (def.resource === 'nodes') return subresource === 'proxy' || subresource.startsWith('proxy/');
    return def.resource === 'pods' && STREAM_SUBRESOURCES.has(subresource);
  }

  /** A plain request (logs; exec without an upgrade gets the kubelet's own answer). */
  async serve(req: IncomingMessage, res: ServerResponse, def: ResourceDefinition, namespace: string, name: string, subresource: string, query: URLSearchParams): Promise<void> {
    if (subresource === 'log' && req.method !== 'GET' && req.method !== 'HEAD') throw statusErrors.methodNotSupported({ group: '', resource: 'pods/log' }, (req.method ?? '').toLowerCase());
    const target = this.target(req, def, namespace, name, subresource, query, false);
    await forwardRequest(req, res, target);
  }

  /** An upgrade request: exec, attach, port-forward. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, def: ResourceDefinition, namespace: string, name: string, subresource: string, query: URLSearchParams): void {
    if (subresource === 'log') throw statusErrors.badRequest('pods/log is not an upgrade');
    forwardUpgrade(req, socket, head, this.target(req, def, namespace, name, subresource, query, true));
  }

  private target(req: IncomingMessage, def: ResourceDefinition, namespace: string, name: string, subresource: string, query: URLSearchParams, upgrade: boolean): ForwardTarget {
    if (def.resource === 'nodes') return this.nodeProxyTarget(req, def, name, subresource, query, upgrade);
    const pod = this.registry.get(def, namespace, name);
    const spec = isJsonObject(pod.spec) ? pod.spec : {};
    const node = typeof spec.nodeName === 'string' ? spec.nodeName : '';
    if (node === '') throw statusErrors.badRequest(`pod ${name} does not have a host assigned`);
    const base = `${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
    const out = new URLSearchParams();
    let path: string;
    if (subresource === 'portforward') {
      for (const port of query.getAll('ports')) out.append('port', port);
      path = `/portForward/${base}`;
    } else {
      const container = containerOf(pod, spec, query.get('container'));
      if (subresource === 'log') {
        for (const param of LOG_PARAMS) {
          const value = query.get(param);
          if (value !== null) out.set(param, value);
        }
        path = `/containerLogs/${base}/${encodeURIComponent(container)}`;
      } else {
        for (const flag of EXEC_FLAGS) if (truthy(query.get(flag))) out.set(flag, '1');
        if (subresource === 'exec') {
          const command = query.getAll('command');
          if (command.length === 0) throw statusErrors.badRequest('you must specify at least 1 command');
          for (const part of command) out.append('command', part);
        }
        path = `/${subresource}/${base}/${encodeURIComponent(container)}`;
      }
    }
    const search = out.toString();
    return this.forwardTo(req, node, search ? `${path}?${search}` : path, upgrade);
  }

  /** `nodes/proxy/<path>`: `<path>` and the query, unchanged, on the kubelet API of a Node that exists. */
  private nodeProxyTarget(req: IncomingMessage, def: ResourceDefinition, name: string, subresource: string, query: URLSearchParams, upgrade: boolean): ForwardTarget {
    this.registry.get(def, '', name);
    // request-info splits the path on '/', so the rest arrives decoded; encode each segment again.
    const rest = subresource.split('/').slice(1).map(encodeURIComponent).join('/');
    const search = query.toString();
    return this.forwardTo(req, name, `/${rest}${search ? `?${search}` : ''}`, upgrade);
  }

  private forwardTo(req: IncomingMessage, node: string, path: string, upgrade: boolean): ForwardTarget {
    const connection = this.kubelet.connect(node);
    if (!connection) throw statusErrors.internal(`no kubelet endpoint is configured for node ${node}`);
    return { connect: () => connection, method: req.method ?? 'GET', path, headers: { ...forwardHeaders(req.headers, upgrade), [this.kubelet.nodeHeader]: node }, host: node };
  }
}

function truthy(value: string | null): boolean {
  return value !== null && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** The container asked for, or the Pod's only one; kube's errors otherwise. */
function containerOf(pod: JsonObject, spec: JsonObject, asked: string | null): string {
  const names = (field: string): string[] =>
    Array.isArray(spec[field]) ? (spec[field] as unknown[]).map((c) => (isJsonObject(c) && typeof c.name === 'string' ? c.name : '')).filter(Boolean) : [];
  const containers = names('containers');
  const init = names('initContainers');
  const podName = isJsonObject(pod.metadata) ? String(pod.metadata.name) : '';
  if (!asked) {
    if (containers.length === 1) return containers[0]!;
    throw statusErrors.badRequest(`a container name must be specified for pod ${podName}, choose one of: [${containers.join(' ')}]${init.length > 0 ? ` or one of the init containers: [${init.join(' ')}]` : ''}`);
  }
  if (containers.includes(asked) || init.includes(asked) || names('ephemeralContainers').includes(asked)) return asked;
  throw statusErrors.badRequest(`container ${asked} is not valid for pod ${podName}`);
}
