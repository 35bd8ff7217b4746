/**
 * HTTP/1.1 over a bare TCP socket, for requests no HTTP client library would send (raw bytes in
 * the request line, broken headers), and a strict reader of the answer: a status line, headers,
 * then a body framed by Content-Length or chunked encoding. Anything else fails the test.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  body: string;
  /** The server closed the connection after the answer. */
  closed: boolean;
}

export interface RawRequestOptions {
  timeoutMs?: number;
  /** Resolve only once the server closed the connection. */
  untilClosed?: boolean;
  /** A 2xx with a chunked body (a watch stream) is complete once its headers are in; its body is left unread. */
  streamOk?: boolean;
  /** The request was HEAD: no body follows the headers. */
  head?: boolean;
}

/**
 * Sends `request` (already framed) and reads one answer; rejects when none comes within
 * `timeoutMs`. With `untilClosed` it resolves only once the server closed the connection.
 */
export function rawRequest(base: string, request: string | Buffer, options: RawRequestOptions = {}): Promise<RawAnswer> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const url = new URL(base);
  return new Promise<RawAnswer>((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (error?: Error): void => {
      if (done) return;
      if (options.untilClosed && !error && !socket.readableEnded) return;
      const buffer = Buffer.concat(chunks);
      let answer: RawAnswer | undefined;
      try {
        answer = parseAnswer(buffer, options);
      } catch (parseError) {
        // Not complete yet: wait for more bytes, unless the socket is gone.
        if (!error && !socket.destroyed && !socket.readableEnded) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`${(parseError as Error).message}; got ${JSON.stringify(buffer.toString('latin1').slice(0, 300))}${error ? ` (${error.message})` : ''}`));
        return;
      }
      done = true;
      clearTimeout(timer);
      if (socket.readableEnded || socket.destroyed) answer.closed = true;
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => {
      done = true;
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms; got ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 300))}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      finish();
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish(new Error('connection closed')));
    socket.on('error', (err) => finish(err));
    socket.write(request);
  });
}

/** A GET for `target` (sent as it is) with the given header lines. */
export function getRequest(target: string | Buffer, headers: string[] = ['Host: 127.0.0.1']): Buffer {
  return Buffer.concat([Buffer.from('GET '), Buffer.isBuffer(target) ? target : Buffer.from(target, 'utf8'), Buffer.from(` HTTP/1.1\r\n${[...headers, 'Connection: close'].join('\r\n')}\r\n\r\n`)]);
}

function parseAnswer(buffer: Buffer, options: RawRequestOptions): RawAnswer {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) throw new Error('no end of headers');
  const head = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const statusLine = /^HTTP\/1\.[01] (\d{3}) [^\r\n]*$/.exec(head[0] ?? '');
  if (!statusLine) throw new Error(`malformed status line ${JSON.stringify(head[0])}`);
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`malformed header line ${JSON.stringify(line)}`);
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  const rest = buffer.subarray(end + 4);
  const status = Number(statusLine[1]);
  const chunked = headers.get('transfer-encoding')?.toLowerCase() === 'chunked';
  if (options.head || (options.streamOk && chunked && status >= 200 && status < 300)) return { status, headers, body: '', closed: false };
  const length = headers.get('content-length');
  let body: Buffer;
  if (length !== undefined) {
    if (rest.length < Number(length)) throw new Error('body shorter than Content-Length');
    body = rest.subarray(0, Number(length));
  } else if (chunked) {
    body = dechunk(rest);
  } else {
    body = rest;
  }
  return { status, headers, body: body.toString('utf8'), closed: false };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) throw new Error('incomplete chunk size');
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) throw new Error('malformed chunk size');
    if (size === 0) return Buffer.concat(parts);
    if (data.length < lineEnd + 2 + size + 2) throw new Error('incomplete chunk');
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
