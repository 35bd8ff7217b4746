/**
 * The hub's kubelet-compatible HTTPS endpoint (`--kubelet-port`, 10350 by default, KubeEdge's
 * stream port): what kube-apiserver (or the embedded API) calls for `kubectl logs`, `exec`,
 * `attach`, `port-forward` and for the stats metrics-server reads, for Pods on edge nodes that
 * it cannot reach. Each request is authenticated and authorised as the kubelet would
 * (kubelet-auth.ts), its path checked (kubelet-paths.ts), its node found, and then forwarded
 * through a stream tunnel to that node's agent (tunnel-broker.ts), or, when this replica has
 * no session for the node, to the replica that does (peer-directory.ts finds it, peer-forward.ts
 * sends the request on; a request already forwarded is never forwarded again). Peers ask
 * `GET /edge-sync/v1/sessions/<node>` here (authenticated and authorised like any request, as
 * `get nodes/proxy` on the node): 200 when this replica holds the node's session, else 404.
 * Nothing a caller sends can throw out of a handler.
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
import { TUNNEL_ID_PATTERN, dns1123SubdomainError } from '../../protocol/index.js';
import { NODE_HEADER, forwardHeaders, forwardRequest, forwardUpgrade, writeError, type ForwardTarget } from './http-forward.js';
import { requestAttributes, type KubeletAuth, type KubeletAuthorizationMode, type KubeletUser } from './kubelet-auth.js';
import { parseKubeletPath } from './kubelet-paths.js';
import { SESSION_PROBE_PREFIX, TUNNEL_JOIN_PREFIX, type PeerDirectory } from './peer-directory.js';
import { forwardedBy, type PeerForward } from './peer-forward.js';
import { TUNNEL_JOIN_UPGRADE } from './peer-tunnels.js';
import type { PeerMetrics } from './peer-metrics.js';
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
  /** This replica's id (`--hub-id`). */
  hubId: string;
  /** True when this replica has a session for `node` that takes stream tunnels. */
  holds: (node: string) => boolean;
  /** The other replicas, for nodes whose session is elsewhere; without it such requests fail here. */
  peers?: { directory: PeerDirectory; forward: PeerForward; metrics: PeerMetrics };
  /** The node a Pod is bound to, from the hub's watch cache. */
  nodeOfPod: (namespace: string, name: string) => string | undefined;
  /** The edge node that has this address (undefined: none, or several). */
  nodeOfAddress: (address: string) => string | undefined;
  logger: Logger;
}

/** `peer`: a request between replicas (a session probe, a tunnel probe or join), not for the agent. */
type Outcome = { node: string; path: string; purpose: string; peer?: { tunnel?: string } } | { status: number; error: string };
/** Where a resolved request goes: this replica's tunnel, a peer, or nowhere (the answer to give). */
type Route = { local: true } | { target: ForwardTarget } | { status: number; error: string };

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
    if (outcome.peer) return this.answerProbe(res, outcome.node, outcome.peer.tunnel);
    const route = await this.route(req, outcome, false);
    if ('error' in route) return sendError(res, route.status, route.error);
    if ('target' in route) return forwardRequest(req, res, route.target);
    const tunnel = await this.tunnel(outcome.node, outcome.purpose);
    if (tunnel instanceof TunnelError) return sendError(res, tunnel.status, tunnel.message);
    this.options.logger.debug({ node: outcome.node, path: outcome.path }, 'forwarding a kubelet request');
    await forwardRequest(req, res, this.target(req, outcome, tunnel, false));
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const outcome = await this.resolve(req, true);
    if ('error' in outcome) return writeError(socket, outcome.status, outcome.error);
    if (outcome.peer) return this.joinTunnel(req, socket, head, outcome.node, outcome.peer.tunnel);
    const route = await this.route(req, outcome, true);
    if ('error' in route) return writeError(socket, route.status, route.error);
    if ('target' in route) {
      if (!socket.destroyed) forwardUpgrade(req, socket, head, route.target);
      return;
    }
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

  /**
   * A node whose session is on another replica: the request (authenticated and authorised on
   * this replica already) goes to the peer that holds it, unless it was forwarded here, or no
   * peer holds it.
   */
  private async route(req: IncomingMessage, outcome: { node: string; path: string; purpose: string }, upgrade: boolean): Promise<Route> {
    const { peers, hubId, logger } = this.options;
    const { node } = outcome;
    if (!peers || this.options.holds(node)) return { local: true };
    const from = forwardedBy(req);
    if (from !== undefined) {
      peers.metrics.misses.inc({ reason: 'already_forwarded' });
      logger.warn({ node, from }, 'a forwarded kubelet request for a node this replica has no session for: not forwarded again');
      return { status: 503, error: `node ${node} has no session on hub replica ${hubId}, and the request was forwarded here by replica ${from}: a forwarded request is not forwarded again (the session moved or ended; try again)` };
    }
    const found = await peers.directory.find(node);
    if ('asked' in found) {
      peers.metrics.misses.inc({ reason: found.asked === 0 ? 'no_peers' : 'no_holder' });
      logger.info({ node, asked: found.asked }, 'no hub replica holds the node\'s session');
      return { status: 502, error: `node ${node} is not connected to any hub replica (hub ${hubId} and the ${found.asked} peer replica(s) it asked), or its agent does not serve streams` };
    }
    peers.metrics.forwarded.inc({ kind: outcome.purpose });
    logger.debug({ node, peer: found.peer.id, path: outcome.path }, 'forwarding a kubelet request to the replica holding the node\'s session');
    return { target: peers.forward.target(req, found.peer, node, outcome.path, upgrade) };
  }

  /** 200 when this replica holds `node`'s session (or waits for its tunnel `tunnel`), else 404. */
  private answerProbe(res: ServerResponse, node: string, tunnel?: string): void {
    const held = tunnel === undefined ? this.options.holds(node) : this.options.tunnels.awaits(node, tunnel);
    res.writeHead(held ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify({ node, hub: this.options.hubId, held }));
  }

  /**
   * A peer joins a tunnel dial that reached it to this replica, which asked for it: the peer
   * checked the node's token, and is authenticated and authorised (`create nodes/proxy` on the
   * node) here; the id is claimed exactly as for a direct dial (once, that node only).
   */
  private joinTunnel(req: IncomingMessage, socket: Duplex, head: Buffer, node: string, id: string | undefined): void {
    if (id === undefined || req.headers.upgrade?.toLowerCase() !== TUNNEL_JOIN_UPGRADE) return writeError(socket, 400, `a session probe is a plain GET; a tunnel join is an upgrade to ${TUNNEL_JOIN_UPGRADE}`);
    const claim = this.options.tunnels.claim(node, id);
    if (!claim) return writeError(socket, 404, `hub replica ${this.options.hubId} does not wait for that tunnel of node ${node} (unknown, expired or already answered)`);
    if (socket.destroyed) return claim.fail('the peer went away');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${TUNNEL_JOIN_UPGRADE}\r\n\r\n`);
    if (head.length > 0) socket.unshift(head);
    const listeners: (() => void)[] = [];
    const touch = (): void => listeners.forEach((listener) => listener());
    socket.on('data', touch);
    // Bytes written toward the agent count as activity too (the idle timer of tunnel-broker.ts).
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((...args: unknown[]) => {
      touch();
      return write(...args);
    }) as typeof socket.write;
    this.options.logger.debug({ node, from: forwardedBy(req) }, 'a peer replica joined a tunnel dial');
    claim.complete({ stream: socket, onActivity: (listener) => listeners.push(listener) });
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
    if (url.pathname.startsWith(SESSION_PROBE_PREFIX) || url.pathname.startsWith(TUNNEL_JOIN_PREFIX)) return this.resolvePeer(user, url.pathname, req.method ?? 'GET', upgrade);
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

  /**
   * A peer's `GET /edge-sync/v1/sessions/<node>` or `/edge-sync/v1/tunnels/<node>/<id>`,
   * authorised as `get nodes/proxy` on the node, or its tunnel join (an upgrade), as `create`.
   */
  private async resolvePeer(user: KubeletUser, pathname: string, method: string, upgrade: boolean): Promise<Outcome> {
    if (method !== 'GET') return { status: 405, error: 'a session or tunnel probe is a GET' };
    const tunnel = pathname.startsWith(TUNNEL_JOIN_PREFIX);
    let names: string[];
    try {
      names = pathname.slice((tunnel ? TUNNEL_JOIN_PREFIX : SESSION_PROBE_PREFIX).length).split('/').map((part) => decodeURIComponent(part));
    } catch {
      return { status: 400, error: 'the path is not valid percent-encoding' };
    }
    const [node = '', id] = names;
    if (names.length !== (tunnel ? 2 : 1)) return { status: 404, error: tunnel ? `expected ${TUNNEL_JOIN_PREFIX}{node}/{id}` : `expected ${SESSION_PROBE_PREFIX}{node}` };
    const why = dns1123SubdomainError(node);
    if (why !== undefined) return { status: 400, error: `not a node name: ${why}` };
    if (tunnel && !TUNNEL_ID_PATTERN.test(id ?? '')) return { status: 400, error: 'a tunnel id is 22 base64url characters' };
    const verb = upgrade ? 'create' : 'get';
    const denied = await this.options.auth.authorize(user, node, { verb, subresource: 'proxy' });
    if (denied !== undefined) return { status: 403, error: `Forbidden (${denied})` };
    return { node, path: pathname, purpose: tunnel ? 'tunnel' : 'probe', peer: tunnel ? { tunnel: id! } : {} };
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
