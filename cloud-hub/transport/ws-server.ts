/**
 * The hub's WebSocket endpoint: `ws[s]://HOST:PORT/edge/v1/<node>` with `Authorization: Bearer
 * <token>`. Credentials are checked during the HTTP upgrade, so a refused peer never gets a
 * WebSocket and no frame of it is read. Moves text frames in and out; knows no frame types.
 *
 * Every input is hostile: a bad path or header is answered with an HTTP error carrying a
 * protocol error code (header `edge-sync-error`), and no exception leaves a handler. What a peer
 * can hold is bounded: pending (unauthenticated) connections in total and per address, one
 * pending and one live connection per node, a handshake deadline, a payload limit just above
 * the protocol's frame limit, and a cap on what is queued for a peer that does not read.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { ErrorCode, TUNNEL_SUBPROTOCOL, WS_PATH_PREFIX, WS_SUBPROTOCOL } from '../../protocol/index.js';
import { CLOSE_INTERNAL, CLOSE_REPLACED, CLOSE_SILENT, type Connection, type ConnectionHandler } from './connection.js';
import { PendingConnections, type PendingRefusal } from './pending-connections.js';
import { parseNodePath, refuse } from './ws-paths.js';
import { TunnelLiveness } from './tunnel-liveness.js';

export { parseNodePath };

export { WS_SUBPROTOCOL };

/** One listener for every socket's 'error' (each socket's own close event cleans up). */
const ignoreError = (): void => undefined;

/** A frame this much over the protocol limit is still read, and answered with E_TOO_LARGE; a larger one closes with 1009. */
export const PAYLOAD_SLACK_BYTES = 1024 * 1024;

/** A tunnel dial the hub asked for: `complete` hands its bytes over once upgraded. */
export interface TunnelAcceptance {
  complete(tunnel: { stream: Duplex; onActivity(listener: () => void): void }): void;
  fail(why: string): void;
}

export type WsRefusal = PendingRefusal | 'silent' | 'bad-path' | 'auth' | 'tunnel-refused' | 'pending-replaced' | 'frame-too-large' | 'send-buffer' | 'internal';

export interface WsLimits {
  maxPending: number;
  maxPendingPerAddress: number;
  handshakeTimeoutMs: number;
  maxSendBufferBytes: number;
}

export interface WsServerOptions {
  host: string;
  port: number;
  logger: Logger;
  /** Resolves true when `token` is valid for `node`. */
  authenticate: (node: string, token: string | undefined) => Promise<boolean>;
  accept: (node: string, connection: Connection) => ConnectionHandler;
  /**
   * A node dials `/edge/v1/<node>/tunnel/<id>` (after its token was checked): the acceptance
   * when this hub asked that node for that tunnel, else undefined (403). Without it tunnel
   * paths are 404.
   */
  acceptTunnel?: (node: string, id: string) => TunnelAcceptance | undefined;
  /** A dial for a tunnel this hub did not ask for: the acceptance that joins it to the replica that did, else undefined (403). */
  forwardTunnel?: (node: string, id: string) => Promise<TunnelAcceptance | undefined>;
  /** The server pings every interval; a peer silent for two intervals is dropped. */
  pingIntervalMs: number;
  /** Plain HTTP requests on the same port (health checks); return false for 404. */
  httpHandler?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  /** Serve wss:// (and https) with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** The protocol's frame limit, bytes. */
  maxFrameBytes: number;
  limits: WsLimits;
  /** Counts a refused, cut or timed-out peer. */
  refused?: (reason: WsRefusal) => void;
}

interface Tracked {
  node: string;
  alive: boolean;
  /** Set by the first frame (see adopt). */
  handler?: ConnectionHandler;
  /** Until the first frame: drops a connection that never speaks. */
  silenceTimer?: NodeJS.Timeout;
  /** Reading is paused until then (throttle); ms since the epoch, 0 when not paused. */
  pausedUntil: number;
  resumeTimer?: NodeJS.Timeout;
  /** Set when the hub cut the connection: frames the socket had already read are dropped. */
  cut?: boolean;
  /**
   * Frames that arrived while paused: the ones already read from the socket when the pause
   * began (at most one read's worth). They are handed over when the pause ends, so a throttled
   * node is served at its rate exactly and loses nothing.
   */
  held: Buffer[];
  deliver: (data: Buffer) => void;
}

export class WsServer {
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Map<WebSocket, Tracked>();
  /** The one authenticated connection per node that has not spoken yet. */
  private readonly pendingByNode = new Map<string, WebSocket>();
  private readonly pending: PendingConnections;
  private pingTimer?: NodeJS.Timeout;
  private readonly tunnelLiveness: TunnelLiveness;

  constructor(private readonly options: WsServerOptions) {
    this.tunnelLiveness = new TunnelLiveness(options.logger);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxFrameBytes + PAYLOAD_SLACK_BYTES,
      perMessageDeflate: false,
      // The hub tracks its sockets itself (sockets below): no second Set and 'close' listener per socket.
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : protocols.has(TUNNEL_SUBPROTOCOL) ? TUNNEL_SUBPROTOCOL : false),
    });
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      try {
        if (this.options.httpHandler?.(req, res)) return;
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; edge agents connect to ${WS_PATH_PREFIX}<node>\n`);
      } catch (err) {
        this.options.logger.error({ err: (err as Error).message }, 'HTTP handler failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      }
    };
    this.server = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, onRequest) : http.createServer(onRequest);
    // Node's own deadline for a request's headers; the pending deadline below covers the rest.
    this.server.headersTimeout = Math.max(1_000, options.limits.handshakeTimeoutMs);
    this.server.requestTimeout = Math.max(1_000, options.limits.handshakeTimeoutMs);
    this.pending = new PendingConnections(
      { max: options.limits.maxPending, maxPerAddress: options.limits.maxPendingPerAddress, deadlineMs: options.limits.handshakeTimeoutMs },
      (reason, address) => {
        this.refused(reason);
        options.logger.warn({ remote: address, reason }, reason === 'handshake-timeout' ? 'no authenticated upgrade within the handshake timeout; closing' : 'too many pending connections; closing a new one');
      },
    );
    // The raw TCP socket, also under TLS: counted before a byte of it is read.
    this.server.on('connection', (socket: Socket) => {
      socket.on('error', ignoreError);
      this.pending.admit(socket);
    });
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      // The same socket as at 'connection' unless TLS wraps it.
      if (!socket.listeners('error').includes(ignoreError)) socket.on('error', ignoreError);
      this.upgrade(req, socket, head).catch((err: unknown) => {
        options.logger.error({ err: (err as Error).stack ?? String(err) }, 'upgrade handler failed');
        this.refused('internal');
        refuse(socket, 500, ErrorCode.Internal, 'internal error');
      });
    });
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** Accepted connections that are not an authenticated WebSocket yet. */
  get pendingConnections(): number {
    return this.pending.size;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.pingTimer = setInterval(() => this.pingAll(), this.options.pingIntervalMs);
    this.pingTimer.unref();
    return this.url;
  }

  get url(): string {
    const address = this.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `${this.options.tls ? 'wss' : 'ws'}://${host}:${address.port}`;
  }

  async close(): Promise<void> {
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const socket of this.sockets.keys()) socket.terminate();
    this.wss.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private refused(reason: WsRefusal): void {
    this.options.refused?.(reason);
  }

  private async upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { logger } = this.options;
    const remote = req.socket.remoteAddress;
    const path = (req.url ?? '').split('?')[0] ?? '';
    const target = parseNodePath(path, this.options.acceptTunnel !== undefined);
    if ('error' in target) {
      this.refused('bad-path');
      logger.info({ remote, path: path.slice(0, 200) }, `upgrade refused: ${target.error}`);
      return refuse(socket, target.status, ErrorCode.Shape, target.error);
    }
    const { node } = target;
    const auth = req.headers.authorization;
    const token = /^bearer /i.test(auth ?? '') ? auth!.slice('bearer '.length).trim() : undefined;
    // Until the token store is complete (informers listing) the upgrade waits; at the deadline it is answered.
    this.pending.onDeadline(req.socket, () => refuse(socket, 503, ErrorCode.Unavailable, 'the hub is starting (its informers are still listing); connect again'));
    let ok = false;
    try {
      ok = await this.options.authenticate(node, token || undefined);
    } catch (err) {
      logger.error({ node, err: (err as Error).message }, 'authentication failed with an error');
      return refuse(socket, 503, ErrorCode.Unavailable, 'authentication unavailable');
    }
    if (socket.destroyed || !this.pending.isPending(req.socket)) return; // timed out meanwhile
    if (!ok) {
      this.refused('auth');
      logger.warn({ node, remote, reason: token ? 'wrong or revoked token' : 'no token' }, 'connection refused');
      return refuse(socket, 401, ErrorCode.Auth, token ? 'invalid or revoked token' : 'missing bearer token');
    }
    if (target.tunnel !== undefined) {
      let acceptance = this.options.acceptTunnel?.(node, target.tunnel);
      if (!acceptance && this.options.forwardTunnel) {
        acceptance = await this.options.forwardTunnel(node, target.tunnel);
        if (socket.destroyed || !this.pending.isPending(req.socket)) return acceptance?.fail('the dial ended while the replica that asked for it was found');
      }
      if (!acceptance) {
        this.refused('tunnel-refused');
        logger.warn({ node, remote }, 'tunnel dial refused: not a tunnel this hub asked this node for, or already answered or expired');
        return refuse(socket, 403, ErrorCode.Forbidden, 'no such tunnel for this node (unknown, expired, already answered, or asked of another node)');
      }
      this.pending.release(req.socket);
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws, { allowHalfOpen: false });
        stream.on('error', () => undefined);
        this.tunnelLiveness.track(ws, node);
        acceptance.complete({ stream, onActivity: (listener) => ws.on('message', listener).on('ping', listener) });
      });
      socket.once('close', () => acceptance.fail('the connection closed during the upgrade'));
      return;
    }
    this.pending.release(req.socket);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.adopt(node, ws, `ws ${remote}:${req.socket.remotePort}`));
  }

  private adopt(node: string, ws: WebSocket, description: string): void {
    const { logger, limits } = this.options;
    const tracked: Tracked = { node, alive: true, pausedUntil: 0, held: [], deliver: () => undefined };
    const cut = (reason: WsRefusal, message: string): void => {
      if (tracked.cut) return;
      tracked.cut = true;
      this.refused(reason);
      logger.warn({ node, reason, buffered: ws.bufferedAmount }, message);
      // ws still parses and emits every frame it had read before 'close' (a flooding peer's
      // backlog can take minutes on a loaded hub): the session ends now (on the next turn: a
      // cut happens inside the session's own send), and those frames are dropped.
      tracked.held = [];
      ws.terminate();
      setImmediate(() => this.detach(ws, tracked));
    };
    const connection: Connection = {
      description,
      send: (text) => {
        if (ws.readyState !== ws.OPEN) return;
        // Bytes go out as a text message too: frames are JSON text, whichever form the hub built.
        ws.send(text, { binary: false });
        // A peer that does not read: everything queued for it is freed with the socket.
        if (ws.bufferedAmount > limits.maxSendBufferBytes) cut('send-buffer', 'node does not read what the hub sends: over the send buffer cap; cutting the connection');
      },
      close: (code, reason) => {
        ws.close(code, reason);
        // A peer that does not finish the close handshake is cut off.
        setTimeout(() => ws.terminate(), 5_000).unref();
      },
      bufferedBytes: () => ws.bufferedAmount,
      whenDrained: (callback) => {
        if (ws.readyState !== ws.OPEN) return;
        // A ping queued behind everything sent so far: its write completes once they are out.
        ws.ping(undefined, undefined, (err) => {
          if (!err) callback();
        });
      },
      throttle: (ms) => this.throttle(ws, tracked, ms),
    };
    this.sockets.set(ws, tracked);
    // One pending connection per node: a newer one is the agent's latest attempt.
    const previous = this.pendingByNode.get(node);
    if (previous) {
      this.refused('pending-replaced');
      previous.close(CLOSE_REPLACED, 'replaced by a newer connection');
      setTimeout(() => previous.terminate(), 5_000).unref();
    }
    this.pendingByNode.set(node, ws);
    tracked.silenceTimer = setTimeout(() => {
      if (tracked.handler) return;
      this.refused('silent');
      logger.info({ node }, 'no frame within the handshake timeout after the upgrade; closing');
      ws.close(CLOSE_SILENT, 'no hello within the handshake timeout');
      setTimeout(() => ws.terminate(), 5_000).unref();
    }, limits.handshakeTimeoutMs);
    tracked.silenceTimer.unref();
    tracked.deliver = (data: Buffer) => {
      try {
        if (!tracked.handler) {
          // The connection becomes the node's session only when its agent speaks. A busy hub can
          // finish an upgrade the agent has already given up on (its handshake timed out and it
          // connected again); attached at once, that dead socket would replace the live one.
          clearTimeout(tracked.silenceTimer);
          tracked.silenceTimer = undefined;
          if (this.pendingByNode.get(node) === ws) this.pendingByNode.delete(node);
          tracked.handler = this.options.accept(node, connection);
        }
        tracked.handler.receive(data);
      } catch (err) {
        this.failed(node, ws, err);
      }
    };
    ws.on('message', (data: Buffer) => {
      if (tracked.cut) return;
      tracked.alive = true;
      if (tracked.pausedUntil > 0) tracked.held.push(data);
      else tracked.deliver(data);
    });
    ws.on('pong', () => (tracked.alive = true));
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.refused('frame-too-large');
        logger.warn({ node, err: err.message }, 'frame over the payload limit; closed with 1009');
      } else {
        logger.debug({ node, err: err.message }, 'websocket error');
      }
    });
    ws.on('close', () => this.detach(ws, tracked));
  }

  /** Ends the connection's session, once: at 'close', or earlier when the hub cut it. */
  private detach(ws: WebSocket, tracked: Tracked): void {
    if (!this.sockets.delete(ws)) return;
    clearTimeout(tracked.silenceTimer);
    clearTimeout(tracked.resumeTimer);
    tracked.held = [];
    if (this.pendingByNode.get(tracked.node) === ws) this.pendingByNode.delete(tracked.node);
    try {
      tracked.handler?.closed();
    } catch (err) {
      this.options.logger.error({ node: tracked.node, err: (err as Error).stack ?? String(err) }, 'session close failed');
    }
  }

  /** Stops reading `ws` until `ms` from now (extending a pause in progress). */
  private throttle(ws: WebSocket, tracked: Tracked, ms: number): void {
    const until = Date.now() + ms;
    if (until <= tracked.pausedUntil || ws.readyState !== ws.OPEN) return;
    tracked.pausedUntil = until;
    clearTimeout(tracked.resumeTimer);
    ws.pause();
    tracked.resumeTimer = setTimeout(() => {
      tracked.pausedUntil = 0;
      // Unanswered pings while paused say nothing about the peer.
      tracked.alive = true;
      // Held frames first, in order; one of them may pause the connection again.
      while (tracked.held.length > 0 && tracked.pausedUntil === 0 && ws.readyState === ws.OPEN) tracked.deliver(tracked.held.shift()!);
      if (tracked.pausedUntil === 0 && ws.readyState === ws.OPEN) ws.resume();
    }, ms);
    tracked.resumeTimer.unref();
  }

  /** The hub (not the peer) failed: log, count, close cleanly; the agent reconnects and resyncs. */
  private failed(node: string, ws: WebSocket, err: unknown): void {
    this.refused('internal');
    this.options.logger.error({ node, err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'failed while handling a frame; closing the connection');
    ws.close(CLOSE_INTERNAL, 'internal error');
    setTimeout(() => ws.terminate(), 5_000).unref();
  }

  private pingAll(): void {
    this.tunnelLiveness.pingAll();
    const now = Date.now();
    for (const [ws, tracked] of this.sockets) {
      if (tracked.pausedUntil > now) continue;
      if (!tracked.alive) {
        this.options.logger.info({ node: tracked.node }, 'peer silent for two ping intervals; dropping');
        ws.terminate();
        continue;
      }
      tracked.alive = false;
      try {
        ws.ping();
      } catch {
        // Not open any more: its close event cleans up.
      }
    }
  }
}
