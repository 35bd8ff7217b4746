/**
 * Just enough of an API server for the real kubectl to reach a kubelet API listener, the way
 * kube-apiserver proxies pods/exec, pods/attach and pods/portforward to a kubelet: GET of a Pod
 * (kubectl checks it first), and every upgrade request for a Pod's subresource replayed on the
 * kubelet's path with the kubelet's query names (input/output/error), bytes then copied both ways
 * (spliced as the hub does, so a side that closes closes the other).
 * `refuseWebSockets` answers WebSocket upgrades 400, so that kubectl falls back to SPDY.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { splice } from '../../../cloud-hub/streams/splice.js';
import type { JsonObject } from '../../../protocol/index.js';

export interface KubectlFront {
  kubeconfig: string;
  /** The Upgrade header (and WebSocket subprotocols) of each request passed on to the kubelet. */
  upgrades: string[];
  close(): Promise<void>;
}

export async function startKubectlFront(kubeletUrl: string, pod: (namespace: string, name: string) => JsonObject | undefined, options: { refuseWebSockets?: boolean } = {}): Promise<KubectlFront> {
  const kubelet = new URL(kubeletUrl);
  const upgrades: string[] = [];
  const discovery: Record<string, unknown> = {
    '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] },
    '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
    '/api/v1': {
      kind: 'APIResourceList',
      groupVersion: 'v1',
      resources: [
        { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list'], shortNames: ['po'] },
        { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
        { name: 'pods/portforward', singularName: '', namespaced: true, kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
        { name: 'pods/attach', singularName: '', namespaced: true, kind: 'PodAttachOptions', verbs: ['create', 'get'] },
      ],
    },
  };
  const server = http.createServer((req, res) => {
    const known = discovery[(req.url ?? '').split('?')[0]!];
    if (known) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(known));
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/?]+)(?:\?.*)?$/.exec(req.url ?? '');
    const found = match ? pod(match[1]!, match[2]!) : undefined;
    if (!found) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(found));
  });
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    const url = new URL(req.url ?? '/', 'http://front');
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)$/.exec(url.pathname);
    if (!match || (options.refuseWebSockets && String(req.headers.upgrade).toLowerCase() === 'websocket')) {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    upgrades.push(`${String(req.headers.upgrade)} ${String(req.headers['sec-websocket-protocol'] ?? '')}`.trim());
    const [, namespace, name, sub] = match as unknown as [string, string, string, string];
    const query = new URLSearchParams();
    let target: string;
    if (sub === 'portforward') {
      for (const port of url.searchParams.getAll('ports')) query.append('port', port);
      target = `/portForward/${namespace}/${name}`;
    } else {
      for (const command of url.searchParams.getAll('command')) query.append('command', command);
      for (const [from, to] of [['stdin', 'input'], ['stdout', 'output'], ['stderr', 'error'], ['tty', 'tty']] as const) if (url.searchParams.get(from) === 'true') query.set(to, '1');
      target = `/${sub}/${namespace}/${name}/${url.searchParams.get('container') ?? ''}`;
    }
    const upstream = net.connect({ host: kubelet.hostname, port: Number(kubelet.port) }, () => {
      const lines = [`${req.method} ${target}?${query.toString()} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      splice(socket, upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const dir = mkdtempSync(path.join(tmpdir(), 'kubectl-front-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'front', cluster: { server: `http://127.0.0.1:${port}` } }],
      users: [{ name: 'u', user: {} }],
      contexts: [{ name: 'front', context: { cluster: 'front', user: 'u', namespace: 'default' } }],
      'current-context': 'front',
    }),
  );
  return {
    kubeconfig,
    upgrades,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
