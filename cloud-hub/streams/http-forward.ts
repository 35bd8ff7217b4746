/**
 * One HTTP request, forwarded over a byte stream (a tunnel to an agent, or a TLS connection to
 * a kubelet endpoint): Node's HTTP client writes the request onto the stream
 * (`createConnection`) and parses the answer, so nothing here parses HTTP by hand. A plain
 * answer is piped back with its status and headers; an upgrade (exec, attach, port-forward)
 * answered with 101 becomes a raw two-way pipe between the caller's socket and the stream.
 * Back-pressure is the streams' own (pipe), so nothing is buffered without bound; an error
 * on either side ends both, and a side that closes closes the other once it is flushed (splice.ts).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { splice } from './splice.js';

/** The header by which the embedded API names the node to the hub's kubelet endpoint (a caller's own is dropped when forwarded). */
export const NODE_HEADER = 'x-edge-sync-node';

/** Headers that belong to one hop, and credentials of the caller that must never reach the next hop. */
const DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'authorization',
  'cookie',
]);
/** Header prefixes that carry an identity (kube-apiserver's front-proxy and impersonation headers). */
const DROPPED_PREFIXES = ['x-remote-', 'impersonate-', 'x-edge-sync-'];

/** The request headers to send on: without hop-by-hop headers, credentials and identity headers. */
export function forwardHeaders(headers: IncomingHttpHeaders, upgrade: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || DROPPED.has(name) || DROPPED_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    out[name] = value;
  }
  if (upgrade && headers.upgrade) {
    out.connection = 'Upgrade';
    out.upgrade = headers.upgrade;
  }
  return out;
}

/** The response headers to send back: without hop-by-hop headers (Node sets its own framing). */
function responseHeaders(res: IncomingMessage): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined || name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding') continue;
    out[name] = value;
  }
  return out;
}

export interface ForwardTarget {
  /** The connection to send the request on; used for this one request only. */
  connect: () => Duplex;
  method: string;
  /** Path and query. */
  path: string;
  headers: OutgoingHttpHeaders;
  /** Host header for the next hop. */
  host: string;
  /** The next hop, in error messages (default: the node's kubelet API). */
  label?: string;
}

/** Forwards a plain (non-upgrade) request; resolves when the answer is finished or either side is gone. */
export function forwardRequest(req: IncomingMessage, res: ServerResponse, target: ForwardTarget): Promise<void> {
  return new Promise((resolve) => {
    const { outgoing, stream } = openRequest(target);
    const fail = (status: number, message: string): void => {
      if (!res.headersSent) {
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
      } else {
        res.destroy();
      }
      resolve();
    };
    outgoing.on('error', (err) => fail(502, `${target.label ?? "the node's kubelet API"} failed: ${err.message}`));
    outgoing.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, responseHeaders(answer));
      // Logs follow for as long as the caller reads; a caller that goes away ends the stream.
      res.flushHeaders();
      answer.pipe(res);
      answer.on('error', () => res.destroy());
      res.on('close', () => {
        answer.destroy();
        stream()?.destroy();
        resolve();
      });
    });
    // A caller that goes away before the answer (res 'close'; a request's own 'close' only means its body was read).
    res.on('close', () => {
      if (!res.writableFinished) {
        outgoing.destroy();
        stream()?.destroy();
      }
    });
    req.pipe(outgoing);
  });
}

/**
 * Forwards an upgrade request (exec, attach, port-forward). The next hop's 101 is written to
 * the caller as it came, then bytes flow both ways until either side closes; any other answer
 * is written back as it came and the connection ends.
 */
export function forwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: ForwardTarget): void {
  const { outgoing, stream } = openRequest(target);
  socket.on('error', () => outgoing.destroy());
  socket.on('close', () => stream()?.destroy());
  outgoing.on('error', (err) => writeError(socket, 502, `${target.label ?? "the node's kubelet API"} failed: ${err.message}`));
  outgoing.on('upgrade', (answer, upstream, upstreamHead) => {
    socket.write(statusHead(answer));
    if (head.length > 0) upstream.write(head);
    splice(socket, upstream, upstreamHead);
  });
  outgoing.on('response', (answer) => {
    socket.write(statusHead(answer, true));
    // Nothing reads the caller's bytes any more: discarded, so that its FIN closes the socket.
    socket.resume();
    socket.once('finish', () => socket.destroy());
    answer.pipe(socket);
    answer.on('error', () => socket.destroy());
  });
  outgoing.end();
}

/** The request to the next hop over the byte stream `target.connect()` gives, opened when Node's client asks for it. */
function openRequest(target: ForwardTarget): { outgoing: http.ClientRequest; stream: () => Duplex | undefined } {
  let stream: Duplex | undefined;
  const outgoing = http.request({
    method: target.method,
    path: target.path,
    // Not `Connection: close`: Node's client would end its side after the request, which ends a tunnel at once.
    headers: { ...target.headers, host: target.host },
    createConnection: () => {
      stream = target.connect();
      return stream as never;
    },
  });
  return { outgoing, stream: () => stream };
}

/** The status line and headers of an answer, as bytes for a raw socket. */
function statusHead(answer: IncomingMessage, close = false): string {
  const lines = [`HTTP/1.1 ${answer.statusCode ?? 502} ${answer.statusMessage ?? ''}`];
  const raw = answer.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (close && (name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding' || name === 'content-length')) continue;
    lines.push(`${raw[i]}: ${raw[i + 1]}`);
  }
  if (close) lines.push('Connection: close');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Answers on a raw socket (an upgrade that failed) and closes it. */
export function writeError(socket: Duplex, status: number, message: string, contentType = 'text/plain; charset=utf-8'): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${message}\n`;
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), 1_000).unref();
}
