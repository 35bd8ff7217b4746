/**
 * The hub's kubelet-compatible HTTPS endpoint (`--kubelet-port`, 10350 by default, KubeEdge's
 * stream port): what kube-apiserver (or the embedded API) calls for `kubectl logs`, `exec`,
 * `attach`, `port-forward` and for the stats metrics-server reads, for Pods on edge nodes that
 * it cannot reach. Each request is authenticated and authorised as the kubelet would
 * (kubelet-auth.ts), its path checked (kubelet-paths.ts), its node found, and then forwarded
 * through a stream tunnel to that node's agent (tunnel-broker.ts), or to the replica that
 * holds the node's session. Nothing a caller sends can throw out of a handler.
 *
 * Which node: the `X-Edge-Sync-Node` header (the embedded API names it), else the address the
 * caller dialled (the Host header: kube-apiserver dials the Node's address from
 * status.addresses at status.daemonEndpoints.kubeletEndpoint.Port, see deploy/README.md), else
 * the node the path's Pod is bound to. A path naming a Pod on another node than the one named
 * is refused (403): a request for a node only ever reaches that node's Pods.
 */
import { once } from 'node:events';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { dns1123SubdomainError } from '../../protocol/index.js';
import { NODE_HEADER, forwardHeaders, forwardRequest, forwardUpgrade, writeError, type ForwardTarget } from './http-forward.js';
import { requestAttributes, type KubeletAuth, type KubeletAuthorizationMode } from './kubelet-auth.js';
import { parseKubeletPath } from './kubelet-paths.js';
import { TunnelError, type TunnelBroker } from './tunnel-broker.js';

export { NODE_HEADER };

export interface KubeletEndpointSettings {
  listen: { host: string; port: number };
  /** Serving certificate and key (PEM). */
  tls: { cert: string; key: string };
  /** CA (PEM) of the client certificates that authenticate callers (kube-apiserver's). */
  clientCa?: string;
  /** Also accept bearer tokens, checked with TokenReview. */
  tokenWebhook?: boolean;
  authorization: KubeletAuthorizationMode;
}

export interface KubeletServerOptions {
  host: string;
  port: number;
  /** Serving certificate and key (PEM). */
  tls: { cert: string; key: string };
  /** CA (PEM) whose client certificates authenticate callers (kube-apiserver's --kubelet-client-certificate). */
  clientCa?: string;
  auth: KubeletAuth;
  tunnels: TunnelBroker;
  /** The node a Pod is bound to, from the hub's watch cache. */
  nodeOfPod: (namespace: string, name: string) => string | undefined;
  /** The edge node that has this address (undefined: none, or several). */
  nodeOfAddress: (address: string) => string | undefined;
  logger: Logger;
}

type Outcome = { node: string; path: string; purpose: string } | { status: number; error: string };

export class HubKubeletServer {
  private readonly server: https.Server;

  constructor(private readonly options: KubeletServerOptions) {
    this.server = https.createServer(
      {
        cert: options.tls.cert,
        key: options.tls.key,
        ...(options.clientCa ? { ca: options.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
        ALPNProtocols: ['http/1.1'],
      },
      (req, res) => {
        this.request(req, res).catch((err: unknown) => this.internal(err, () => sendError(res, 500, 'internal error')));
      },
    );
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => undefined);
      this.upgrade(req, socket, head).catch((err: unknown) => this.internal(err, () => writeError(socket, 500, 'internal error')));
    });
    this.server.on('clientError', (_err, socket) => socket.destroy());
    // Log streams are long-lived.
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 15_000;
  }

  async start(): Promise<string> {
    // Rejects on 'error' (a port in use) instead of waiting forever.
    await once(this.server.listen(this.options.port, this.options.host), 'listening');
    return this.url;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    const address = this.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `https://${host}:${address.port}`;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async request(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const outcome = await this.resolve(req, false);
    if ('error' in outcome) return sendError(res, outcome.status, outcome.error);
    const tunnel = await this.tunnel(outcome.node, outcome.purpose);
    if (tunnel instanceof TunnelError) return sendError(res, tunnel.status, tunnel.message);
    this.options.logger.debug({ node: outcome.node, path: outcome.path }, 'forwarding a kubelet request');
    await forwardRequest(req, res, this.target(req, outcome, tunnel, false));
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const outcome = await this.resolve(req, true);
    if ('error' in outcome) return writeError(socket, outcome.status, outcome.error);
    const tunnel = await this.tunnel(outcome.node, outcome.purpose);
    if (tunnel instanceof TunnelError) return writeError(socket, tunnel.status, tunnel.message);
    if (socket.destroyed) {
      tunnel.destroy();
      return;
    }
    this.options.logger.debug({ node: outcome.node, path: outcome.path }, 'forwarding a kubelet upgrade');
    forwardUpgrade(req, socket, head, this.target(req, outcome, tunnel, true));
  }

  private target(req: IncomingMessage, outcome: { node: string; path: string }, tunnel: Duplex, upgrade: boolean): ForwardTarget {
    return { connect: () => tunnel, method: req.method ?? 'GET', path: outcome.path, headers: forwardHeaders(req.headers, upgrade), host: outcome.node };
  }

  private async tunnel(node: string, purpose: string): Promise<Duplex | TunnelError> {
    try {
      return await this.options.tunnels.request(node, purpose);
    } catch (err) {
      if (err instanceof TunnelError) return err;
      throw err;
    }
  }

  /** Authenticates, finds the node, checks the path and authorises; or the answer to give. */
  private async resolve(req: IncomingMessage, upgrade: boolean): Promise<Outcome> {
    const user = await this.options.auth.authenticate(req);
    if (!user) return { status: 401, error: 'Unauthorized' };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'https://kubelet.invalid');
    } catch {
      return { status: 400, error: 'malformed request target' };
    }
    const parsed = parseKubeletPath(url.pathname);
    if ('error' in parsed) return parsed;
    const named = headerValue(req.headers[NODE_HEADER]);
    if (named !== undefined) {
      const why = dns1123SubdomainError(named);
      if (why !== undefined) return { status: 400, error: `${NODE_HEADER}: not a node name: ${why}` };
    }
    const podNode = parsed.pod ? this.options.nodeOfPod(parsed.pod.namespace, parsed.pod.name) : undefined;
    const node = named ?? this.options.nodeOfAddress(hostOf(req.headers.host ?? '')) ?? podNode;
    if (node === undefined) {
      return { status: 404, error: parsed.pod ? `pod ${parsed.pod.namespace}/${parsed.pod.name} is not bound to an edge node this hub knows` : `no edge node has the address ${JSON.stringify(hostOf(req.headers.host ?? '').slice(0, 100))}` };
    }
    if (parsed.pod && podNode !== node) return { status: 403, error: `pod ${parsed.pod.namespace}/${parsed.pod.name} is not bound to node ${node}` };
    const denied = await this.options.auth.authorize(user, node, requestAttributes(req.method ?? 'GET', url.pathname, upgrade));
    if (denied !== undefined) {
      this.options.logger.info({ node, user: user.username, path: url.pathname }, 'kubelet request forbidden');
      return { status: 403, error: `Forbidden (${denied})` };
    }
    return { node, path: `${url.pathname}${url.search}`, purpose: parsed.kind };
  }

  private internal(err: unknown, answer: () => void): void {
    this.options.logger.error({ err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'kubelet endpoint failed on a request');
    try {
      answer();
    } catch {
      // The connection is gone.
    }
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The host of a Host header, without port and IPv6 brackets. */
function hostOf(host: string): string {
  const match = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (match) return match[1]!;
  return host.replace(/:\d+$/, '');
}

function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
}
