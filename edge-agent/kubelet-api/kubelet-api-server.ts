/**
 * The kubelet's API for this node's own Pods, served by the agent: container logs, exec, attach,
 * port-forward, stats. Connections arrive already established (the hub's tunnel hands each one
 * to `handleConnection`: plain HTTP/1.1 inside, upgrades included), or on an optional local
 * listener (`--kubelet-api-address`, loopback only: it has no authentication of its own).
 *
 * Authorisation is the agent's: only Pods in its cache bound to this node that a runtime here
 * has are served; anything else is the kubelet's 404. Every path segment is validated before it
 * is used (request-target.ts). Streams (logs being followed, exec, attach, port-forward) are
 * capped per node; every byte moves with backpressure.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { formatKey, type JsonObject } from '../../protocol/index.js';
import { StreamNotFoundError, StreamRequestError, type ExecOptions, type RuntimeStreams, type StreamTarget } from '../runtime/runtime-streams.js';
import { answerText, serveContainerLogs } from './log-request.js';
import { parsePort, serveChannelPortForward, serveSpdyPortForward, type PortForwardTarget } from './port-forward.js';
import { CHANNEL_PROTOCOLS, serveChannels, type ChannelProtocol } from './remote-command.js';
import { servePodLog } from './pod-log.js';
import { SPDY_COMMAND_PROTOCOLS, serveSpdyCommand } from './remote-command-spdy.js';
import { parseTarget, type KubeletTarget } from './request-target.js';
import { KubeletStats } from './stats.js';
import { proxyUpgrade, streamingUrl } from './stream-proxy.js';

export interface KubeletApiDeps {
  nodeName: string;
  /** A Pod in the agent's cache by key (`Pod/ns/name`); only Pods bound to nodeName are served. */
  getPod: (key: string) => JsonObject | undefined;
  /** Every Pod in the agent's cache, for /pods. */
  listPods: () => JsonObject[];
  /** The runtime's status of a Pod, for /pods. */
  podStatus?: (key: string) => JsonObject | undefined;
  streams: RuntimeStreams;
  logger: Logger;
  /** Streams open at once (followed logs, exec, attach, port-forward sessions). Default 32. */
  maxStreams?: number;
  /** Where a Pod's ports are (host network). Default 127.0.0.1. */
  forwardHost?: string;
  now?: () => number;
}

export const KUBELET_API_LIMITS = { maxStreams: 32, maxHeaderBytes: 16 * 1024, headersTimeoutMs: 10_000, maxMessageBytes: 4 * 1024 * 1024 } as const;

const SPDY_PORT_FORWARD = 'portforward.k8s.io';
const WS_SPDY_PORT_FORWARD = 'SPDY/3.1+portforward.k8s.io';

type PodTarget = Extract<KubeletTarget, { namespace: string }>;

export class KubeletApiServer {
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly stats: KubeletStats;
  private readonly chosenProtocol = new WeakMap<http.IncomingMessage, string>();
  private readonly maxStreams: number;
  private readonly now: () => number;
  private active = 0;
  /** Every upgraded socket still open (close() ends them). */
  private readonly upgraded = new Set<Duplex>();
  private listening = false;

  constructor(private readonly deps: KubeletApiDeps) {
    this.maxStreams = deps.maxStreams ?? KUBELET_API_LIMITS.maxStreams;
    this.now = deps.now ?? Date.now;
    this.stats = new KubeletStats(deps.streams, deps.nodeName, this.now);
    this.server = http.createServer({ maxHeaderSize: KUBELET_API_LIMITS.maxHeaderBytes, headersTimeout: KUBELET_API_LIMITS.headersTimeoutMs, requestTimeout: 60_000 }, (req, res) => {
      this.request(req, res).catch((err: unknown) => {
        deps.logger.error({ err, url: req.url?.slice(0, 200) }, 'kubelet API request failed');
        answerText(res, 500, `internal error: ${(err as Error).message}`);
      });
    });
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => undefined);
      this.upgraded.add(socket);
      socket.once('close', () => this.upgraded.delete(socket));
      this.upgrade(req, socket, head).catch((err: unknown) => {
        deps.logger.error({ err, url: req.url?.slice(0, 200) }, 'kubelet API stream failed');
        reject(socket, 500, `internal error: ${(err as Error).message}`);
      });
    });
    this.server.on('clientError', (_err: Error, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 12\r\n\r\nbad request\n');
      else socket.destroy();
    });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: KUBELET_API_LIMITS.maxMessageBytes,
      handleProtocols: (_offered, req) => this.chosenProtocol.get(req) ?? false,
    });
  }

  /** Serves one established connection (the hub's tunnel): plain HTTP/1.1, upgrades included. */
  handleConnection(socket: Duplex): void {
    this.server.emit('connection', socket);
  }

  /** Also listens on host:port (the local debug listener, and tests); resolves with the URL. */
  async listen(host: string, port: number): Promise<string> {
    // Rejects on 'error' (a port in use) instead of waiting forever.
    await once(this.server.listen(port, host), 'listening');
    this.listening = true;
    const address = this.server.address() as AddressInfo;
    return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }

  /**
   * The API server's `pods/{name}/log` for the agent's local API (pod-log.ts), under the same
   * stream limit.
   */
  async podLog(res: http.ServerResponse, namespace: string, name: string, query: URLSearchParams): Promise<void> {
    const release = this.acquire();
    if (!release) return answerText(res, 429, this.tooMany());
    try {
      await servePodLog(this.deps, res, namespace, name, query, this.now());
    } finally {
      release();
    }
  }

  /** Streams open now. */
  get activeStreams(): number {
    return this.active;
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    // SPDY sessions and sockets still being answered: the HTTP server no longer tracks them, and would wait for them.
    for (const socket of this.upgraded) socket.destroy();
    this.wss.close();
    this.server.closeAllConnections();
    if (this.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The Pod `target` names, if this node serves it; else the kubelet's 404 message. */
  private findPod(target: PodTarget): { key: string; pod: JsonObject } | string {
    const key = formatKey('Pod', target.namespace, target.pod);
    const missing = `pod ${JSON.stringify(target.pod)} does not exist`;
    const pod = this.deps.getPod(key);
    const spec = pod?.spec as JsonObject | undefined;
    if (!pod || spec?.nodeName !== this.deps.nodeName || !this.deps.streams.has(key)) return missing;
    if ('uid' in target && target.uid !== undefined && (pod.metadata as JsonObject).uid !== target.uid) return missing;
    if ('container' in target) {
      const names = ['containers', 'initContainers', 'ephemeralContainers'].flatMap((field) => ((spec[field] as JsonObject[] | undefined) ?? []).map((c) => c.name));
      if (!names.includes(target.container)) return `container ${JSON.stringify(target.container)} not found in pod ${JSON.stringify(target.pod)}`;
    }
    return { key, pod };
  }

  /** Takes a stream slot, or answers 429; the returned function gives it back (once). */
  private acquire(): (() => void) | undefined {
    if (this.active >= this.maxStreams) return undefined;
    this.active++;
    let released = false;
    return () => {
      if (!released) this.active--;
      released = true;
    };
  }

  private tooMany(): string {
    return `too many streams open on node ${this.deps.nodeName} (limit ${this.maxStreams}); close one and retry`;
  }

  private async request(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // No request body is read: close after answering rather than reading one in.
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) res.shouldKeepAlive = false;
    const parsed = parseTarget(req.url ?? '/');
    if (!parsed.ok) return answerText(res, parsed.status, parsed.message);
    const { target, query } = parsed;
    if (target.kind === 'exec' || target.kind === 'attach' || target.kind === 'portForward') return answerText(res, 400, 'Upgrade request required');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return answerText(res, 405, `method ${req.method ?? ''} not allowed`);
    }
    switch (target.kind) {
      case 'healthz':
        return answerText(res, 200, 'ok');
      case 'pods':
        return this.json(res, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: this.ownPods() });
      case 'summary':
        return this.json(res, await this.stats.summary());
      case 'resourceMetrics': {
        const body = await this.stats.resourceMetrics();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
        return;
      }
      case 'containerLogs': {
        const found = this.findPod(target);
        if (typeof found === 'string') return answerText(res, 404, found);
        const release = this.acquire();
        if (!release) return answerText(res, 429, this.tooMany());
        try {
          await serveContainerLogs(res, this.deps.streams, found.key, target.container, query, this.now());
        } finally {
          release();
        }
      }
    }
  }

  private ownPods(): JsonObject[] {
    return this.deps.listPods().flatMap((pod) => {
      const metadata = pod.metadata as JsonObject;
      const key = formatKey('Pod', String(metadata.namespace), String(metadata.name));
      if ((pod.spec as JsonObject | undefined)?.nodeName !== this.deps.nodeName || !this.deps.streams.has(key)) return [];
      const status = this.deps.podStatus?.(key);
      return [{ ...pod, ...(status ? { status } : {}) }];
    });
  }

  private json(res: http.ServerResponse, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  }

  private async upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const parsed = parseTarget(req.url ?? '/');
    if (!parsed.ok) return reject(socket, parsed.status, parsed.message);
    const { target, query } = parsed;
    if (target.kind !== 'exec' && target.kind !== 'attach' && target.kind !== 'portForward') return reject(socket, 400, `${req.url?.split('?')[0] ?? ''} is not a streaming endpoint`);
    const found = this.findPod(target);
    if (typeof found === 'string') return reject(socket, 404, found);
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const release = this.acquire();
    if (!release) return reject(socket, 429, this.tooMany());
    socket.once('close', release);
    try {
      if (target.kind === 'portForward') return await this.portForward(req, socket, head, found.pod, query, upgrade, offered);
      await this.remoteCommand(req, socket, head, target, found.key, query, upgrade, offered);
    } catch (err) {
      release();
      throw err;
    }
  }

  private async remoteCommand(req: http.IncomingMessage, socket: Duplex, head: Buffer, target: Extract<KubeletTarget, { kind: 'exec' | 'attach' }>, key: string, query: URLSearchParams, upgrade: string, offered: string[]): Promise<void> {
    const on = (...names: string[]) => names.some((name) => ['1', 'true'].includes(query.get(name) ?? ''));
    const tty = on('tty');
    // The kubelet's parameters are input/output/error; stdin/stdout/stderr are accepted too.
    const options: ExecOptions = { tty, stdin: on('input', 'stdin'), stdout: on('output', 'stdout'), stderr: on('error', 'stderr') && !tty };
    const command = query.getAll('command');
    if (target.kind === 'exec' && command.length === 0) return reject(socket, 400, 'you must specify at least 1 command');
    if (!options.stdin && !options.stdout && !options.stderr) return reject(socket, 400, 'you must specify at least 1 of stdin, stdout, stderr');
    const spdy = upgrade === 'spdy/3.1';
    if (!spdy && upgrade !== 'websocket') return reject(socket, 400, `unable to upgrade connection: unsupported upgrade ${JSON.stringify(upgrade)}`);
    const versions = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((v) => v.trim());
    const spdyProtocol = SPDY_COMMAND_PROTOCOLS.find((candidate) => versions.includes(candidate));
    const protocol = CHANNEL_PROTOCOLS.find((candidate) => offered.includes(candidate));
    let streamTarget: StreamTarget;
    try {
      streamTarget = target.kind === 'exec' ? await this.deps.streams.exec(key, target.container, command, options) : await this.deps.streams.attach(key, target.container, options);
    } catch (err) {
      if (err instanceof StreamNotFoundError) return reject(socket, 404, err.message);
      if (err instanceof StreamRequestError) return reject(socket, 400, err.message);
      throw err;
    }
    // The container runtime's streaming server speaks both protocols itself.
    if (streamTarget.kind === 'proxy') return proxyUpgrade(req, socket, head, streamingUrl(streamTarget.url));
    const session = streamTarget.session;
    if (spdy) {
      if (!spdyProtocol) {
        session.kill();
        return reject(socket, 403, `unable to upgrade: no supported stream protocol in ${JSON.stringify(versions)} (${SPDY_COMMAND_PROTOCOLS.join(', ')})`);
      }
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${spdyProtocol}\r\n\r\n`);
      if (head.length > 0) socket.unshift(head);
      this.deps.logger.info({ pod: key, container: target.container, kind: target.kind, protocol: `SPDY/3.1 ${spdyProtocol}`, tty }, 'stream opened');
      return serveSpdyCommand(socket, options, command, async () => session);
    }
    if (!protocol) {
      session.kill();
      return reject(socket, 400, `unable to upgrade connection: none of the offered subprotocols ${JSON.stringify(offered)} is supported (${CHANNEL_PROTOCOLS.join(', ')})`);
    }
    this.chosenProtocol.set(req, protocol);
    const ws = await this.accept(req, socket, head);
    if (!ws) return session.kill();
    this.deps.logger.info({ pod: key, container: target.container, kind: target.kind, protocol, tty }, 'stream opened');
    await serveChannels(ws, session, { protocol: protocol as ChannelProtocol, stdout: options.stdout, stderr: options.stderr, command });
  }

  private async portForward(req: http.IncomingMessage, socket: Duplex, head: Buffer, pod: JsonObject, query: URLSearchParams, upgrade: string, offered: string[]): Promise<void> {
    const forward: PortForwardTarget = { podUid: String((pod.metadata as JsonObject).uid ?? ''), host: this.deps.forwardHost ?? '127.0.0.1', maxConnections: this.maxStreams };
    if (upgrade === 'spdy/3.1') {
      const versions = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((v) => v.trim());
      if (!versions.includes(SPDY_PORT_FORWARD)) return reject(socket, 403, `unable to upgrade: no supported stream protocol in ${JSON.stringify(versions)} (${SPDY_PORT_FORWARD})`);
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${SPDY_PORT_FORWARD}\r\n\r\n`);
      if (head.length > 0) socket.unshift(head);
      return serveSpdyPortForward(socket, forward);
    }
    if (upgrade !== 'websocket') return reject(socket, 400, `unable to upgrade connection: unsupported upgrade ${JSON.stringify(upgrade)}`);
    if (offered.includes(WS_SPDY_PORT_FORWARD)) {
      this.chosenProtocol.set(req, WS_SPDY_PORT_FORWARD);
      // ws refuses subprotocols that are not RFC 7230 tokens ('/' is not); the answer names it all the same.
      req.headers['sec-websocket-protocol'] = 'spdy-tunnel';
      const ws = await this.accept(req, socket, head);
      if (!ws) return;
      const tunnel = createWebSocketStream(ws);
      tunnel.on('error', () => undefined);
      return serveSpdyPortForward(tunnel, forward);
    }
    if (!offered.includes('v4.channel.k8s.io')) return reject(socket, 400, `unable to upgrade connection: none of the offered subprotocols ${JSON.stringify(offered)} is supported (${WS_SPDY_PORT_FORWARD}, v4.channel.k8s.io)`);
    const ports = query.getAll('port').map(parsePort);
    const bad = ports.find((port) => typeof port === 'string');
    if (ports.length === 0 || bad !== undefined) return reject(socket, 400, typeof bad === 'string' ? bad : 'query parameter "port" is required');
    this.chosenProtocol.set(req, 'v4.channel.k8s.io');
    const ws = await this.accept(req, socket, head);
    if (!ws) return;
    return serveChannelPortForward(ws, ports as number[], forward);
  }

  /** Completes the WebSocket handshake; undefined when it failed (ws has answered the client and closed the socket). */
  private accept(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<WebSocket | undefined> {
    return new Promise((resolve) => {
      socket.once('close', () => resolve(undefined));
      this.wss.handleUpgrade(req, socket, head, (ws) => resolve(ws));
    });
  }
}

/** An HTTP error on a socket that asked for an upgrade (text, as the kubelet's). */
function reject(socket: Duplex, status: number, message: string): void {
  if (!socket.writable) return void socket.destroy();
  const body = `${message}\n`;
  const phrase = http.STATUS_CODES[status] ?? 'Error';
  socket.end(`HTTP/1.1 ${status} ${phrase}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

