/**
 * Hands an upgrade request to the container runtime's streaming server, as the kubelet does with
 * the URL CRI Exec/Attach/PortForward return: the request is replayed there (its method, the
 * URL's path and query, the client's upgrade headers) and from then on bytes are copied both
 * ways, whatever protocol the two ends agree on (WebSocket channels, SPDY). Only http:// URLs
 * on the runtime's own address are followed (containerd's streaming server listens on loopback).
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

const HOP_BY_HOP = new Set(['host', 'content-length', 'transfer-encoding', 'keep-alive', 'proxy-connection', 'te', 'trailer']);

/** The streaming server's URL, checked: http on a loopback address. */
export function streamingUrl(text: string): URL {
  const url = new URL(text);
  if (url.protocol !== 'http:') throw new Error(`streaming URL ${JSON.stringify(text)}: only http:// is supported`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!(net.isIP(host) && (host.startsWith('127.') || host === '::1')) && host !== 'localhost') throw new Error(`streaming URL ${JSON.stringify(text)}: not a loopback address`);
  return url;
}

/** Replays the upgrade request `req` (whose socket is `socket`, with `head` already read) at `target`. */
export function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: URL): Promise<void> {
  return new Promise((resolve) => {
    const upstream = net.connect({ host: target.hostname.replace(/^\[|\]$/g, ''), port: Number(target.port || 80) });
    const lines = [`${req.method ?? 'GET'} ${target.pathname}${target.search} HTTP/1.1`, `Host: ${target.host}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!;
      if (!HOP_BY_HOP.has(name.toLowerCase())) lines.push(`${name}: ${req.rawHeaders[i + 1]!}`);
    }
    let connected = false;
    const done = (): void => {
      upstream.destroy();
      socket.destroy();
      resolve();
    };
    upstream.once('error', (err: Error) => {
      if (!connected && socket.writable) {
        const body = `the container runtime's streaming server is not reachable: ${err.message}\n`;
        socket.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      }
    });
    upstream.once('connect', () => {
      connected = true;
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.once('close', () => (connected ? done() : (upstream.destroy(), resolve())));
    socket.once('error', done);
    socket.once('close', done);
  });
}
