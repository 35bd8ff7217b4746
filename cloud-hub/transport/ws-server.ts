/**
 * The hub's WebSocket endpoint: `ws://HOST:PORT/edge/v1/<node>` with `Authorization: Bearer
 * <token>`. Credentials are checked during the HTTP upgrade, so a refused peer never gets a
 * WebSocket and no frame of it is read. Moves text frames in and out; knows no frame types.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { isNodeName } from '../../protocol/index.js';
import type { Connection, ConnectionHandler } from './connection.js';

export const WS_SUBPROTOCOL = 'edge-sync.v1';
const PATH_PREFIX = '/edge/v1/';

export interface WsServerOptions {
  host: string;
  port: number;
  logger: Logger;
  /** Resolves true when `token` is valid for `node`. */
  authenticate: (node: string, token: string | undefined) => Promise<boolean>;
  accept: (node: string, connection: Connection) => ConnectionHandler;
  /** The server pings every interval; a peer silent for two intervals is dropped. */
  pingIntervalMs: number;
  /** Plain HTTP requests on the same port (health checks); return false for 404. */
  httpHandler?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}

interface Tracked {
  node: string;
  alive: boolean;
  /** Set by the first frame (see adopt). */
  handler?: ConnectionHandler;
}

export class WsServer {
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Map<WebSocket, Tracked>();
  private pingTimer?: NodeJS.Timeout;

  constructor(private readonly options: WsServerOptions) {
    // maxPayload is far above the protocol limit on purpose: ws closes the socket on an
    // oversize message, but protocol v1 answers an oversize frame with E_TOO_LARGE and stays up.
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: 64 * 1024 * 1024,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
    });
    this.http = http.createServer((req, res) => {
      if (this.options.httpHandler?.(req, res)) return;
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
    this.http.on('upgrade', (req, socket, head) => void this.upgrade(req, socket, head));
  }

  get connections(): number {
    return this.sockets.size;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port, this.options.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.pingTimer = setInterval(() => this.pingAll(), this.options.pingIntervalMs);
    this.pingTimer.unref();
    return this.url;
  }

  get url(): string {
    const address = this.http.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `ws://${host}:${address.port}`;
  }

  async close(): Promise<void> {
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const socket of this.sockets.keys()) socket.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private async upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { logger } = this.options;
    const path = (req.url ?? '').split('?')[0] ?? '';
    const node = path.startsWith(PATH_PREFIX) ? decodeURIComponent(path.slice(PATH_PREFIX.length)) : '';
    if (!isNodeName(node)) return refuse(socket, 404, `unknown endpoint ${path}; connect to ${PATH_PREFIX}<node>`);
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : undefined;
    let ok = false;
    try {
      ok = await this.options.authenticate(node, token);
    } catch (err) {
      logger.error({ node, err: (err as Error).message }, 'authentication failed with an error');
      return refuse(socket, 503, 'authentication unavailable');
    }
    if (!ok) {
      logger.warn({ node, remote: req.socket.remoteAddress, reason: token ? 'wrong or revoked token' : 'no token' }, 'connection refused');
      return refuse(socket, 401, token ? 'invalid or revoked token' : 'missing bearer token');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.adopt(node, ws, `ws ${req.socket.remoteAddress}:${req.socket.remotePort}`));
  }

  private adopt(node: string, ws: WebSocket, description: string): void {
    const connection: Connection = {
      description,
      send: (text) => {
        if (ws.readyState === ws.OPEN) ws.send(text);
      },
      close: (code, reason) => {
        ws.close(code, reason);
        // A peer that does not finish the close handshake is cut off.
        setTimeout(() => ws.terminate(), 5_000).unref();
      },
    };
    const tracked: Tracked = { node, alive: true };
    this.sockets.set(ws, tracked);
    ws.on('message', (data: Buffer) => {
      tracked.alive = true;
      // The connection becomes the node's session only when its agent speaks. A busy hub can
      // finish an upgrade the agent has already given up on (its handshake timed out and it
      // connected again); attached at once, that dead socket would replace the live one.
      tracked.handler ??= this.options.accept(node, connection);
      tracked.handler.receive(data);
    });
    ws.on('pong', () => (tracked.alive = true));
    ws.on('error', (err) => this.options.logger.debug({ node, err: err.message }, 'websocket error'));
    ws.on('close', () => {
      this.sockets.delete(ws);
      tracked.handler?.closed();
    });
  }

  private pingAll(): void {
    for (const [ws, tracked] of this.sockets) {
      if (!tracked.alive) {
        this.options.logger.info({ node: tracked.node }, 'peer silent for two ping intervals; dropping');
        ws.terminate();
        continue;
      }
      tracked.alive = false;
      ws.ping();
    }
  }
}

function refuse(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
