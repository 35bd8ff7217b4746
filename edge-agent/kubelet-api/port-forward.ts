/**
 * port-forward: Pods use the host's network in both runtimes, so forwarding a Pod's port is a
 * TCP connection to the device's loopback at that port.
 *
 * Two protocols, as the kubelet serves them:
 * - `portforward.k8s.io` over SPDY/3.1 (spdy.ts), what client-go uses, directly after an HTTP
 *   upgrade or tunnelled in WebSocket binary messages (`SPDY/3.1+portforward.k8s.io`, kubectl
 *   1.31+): per forwarded connection the client opens an `error` stream and a `data` stream with
 *   headers `port` and `requestid`; the data stream carries the bytes, the error stream a message
 *   if the connection to the port fails.
 * - the older WebSocket channel protocol (`v4.channel.k8s.io`, ports in `?port=`): channel 2i
 *   is data and 2i+1 errors of the i-th port, each opened with the port as two little-endian bytes.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { SpdySession, type SpdyStream } from './spdy.js';

export interface PortForwardTarget {
  /** For error messages, as the kubelet words them: `error forwarding port 80 to pod <uid>, uid : ...`. */
  podUid: string;
  host: string;
  /** Connections open at once over one forwarding session. */
  maxConnections: number;
}

/** A port number from a header or query value, or an error message. */
export function parsePort(value: string | undefined): number | string {
  if (value === undefined || !/^\d{1,5}$/.test(value)) return `invalid port ${JSON.stringify(String(value ?? ''))}: expected a number from 1 to 65535`;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : `invalid port ${port}: expected a number from 1 to 65535`;
}

function dial(target: PortForwardTarget, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.host, port });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function forwardError(target: PortForwardTarget, port: number, err: unknown): string {
  return `error forwarding port ${port} to pod ${target.podUid}, uid : failed to connect to ${target.host}:${port}: ${(err as Error).message}`;
}

/** Serves SPDY port-forward on `socket` (upgraded, or a WebSocket tunnel); resolves when the session ends. */
export function serveSpdyPortForward(socket: Duplex, target: PortForwardTarget): Promise<void> {
  const session = new SpdySession(socket, 2 * target.maxConnections);
  const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
  session.on('stream', (stream: SpdyStream) => {
    const type = stream.headers.streamtype;
    const requestId = stream.headers.requestid ?? '';
    const port = parsePort(stream.headers.port);
    void stream.reply().catch(() => undefined);
    stream.on('error', () => undefined);
    const pair = pairs.get(requestId) ?? {};
    pairs.set(requestId, pair);
    if (type === 'error') {
      pair.error = stream;
      stream.resume(); // the client sends nothing on it; it only closes its side
      stream.once('close', () => pairs.delete(requestId));
      return;
    }
    if (type !== 'data') {
      stream.end(`invalid stream type ${JSON.stringify(type ?? '')}\n`);
      return;
    }
    pair.data = stream;
    if (typeof port === 'string') {
      pair.error?.end(port);
      stream.end();
      return;
    }
    dial(target, port).then(
      (connection) => {
        connection.on('error', () => stream.destroy());
        stream.on('close', () => connection.destroy());
        stream.pipe(connection);
        connection.pipe(stream);
        connection.once('close', () => {
          // Nothing reads the stream any more: what the client still sends on it is dropped (left
          // unread, it would fill the stream and pause the session's socket, every stream with it).
          stream.unpipe(connection);
          stream.resume();
          pair.error?.end();
        });
      },
      (err: unknown) => {
        pair.error?.end(forwardError(target, port, err));
        stream.end();
      },
    );
  });
  return new Promise((resolve) => session.once('close', resolve));
}

/** Serves the WebSocket channel port-forward protocol for `ports`; resolves when the socket closes. */
export function serveChannelPortForward(ws: WebSocket, ports: number[], target: PortForwardTarget): Promise<void> {
  const send = (channel: number, data: Buffer): void => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), data]));
  };
  // Data the client sends before the connection is up waits for it, in order.
  const connections = ports.map((port, index) => {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(port, 0);
    send(2 * index, prefix);
    send(2 * index + 1, prefix);
    return dial(target, port).then(
      (connection) => {
        connection.on('data', (chunk: Buffer) => {
          send(2 * index, chunk);
          if (ws.bufferedAmount <= 1024 * 1024) return;
          connection.pause();
          const resume = setInterval(() => {
            if (ws.bufferedAmount < 256 * 1024 || ws.readyState !== ws.OPEN) {
              clearInterval(resume);
              connection.resume();
            }
          }, 10);
        });
        connection.on('error', () => undefined);
        connection.on('close', () => {
          if (ws.readyState === ws.OPEN) ws.close(1000);
        });
        return connection;
      },
      (err: unknown) => {
        send(2 * index + 1, Buffer.from(forwardError(target, port, err)));
        ws.close(1000);
        return undefined;
      },
    );
  });
  ws.on('message', (raw: Buffer) => {
    if (raw.length === 0) return;
    const index = raw[0]! / 2;
    const connection = Number.isInteger(index) ? connections[index] : undefined;
    const payload = raw.subarray(1);
    void connection?.then((socket) => socket?.write(payload));
  });
  return new Promise((resolve) => {
    ws.once('close', () => {
      for (const connection of connections) void connection.then((socket) => socket?.destroy());
      resolve();
    });
  });
}
