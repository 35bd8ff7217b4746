/** Raw HTTP over a socket, for sending what no well-behaved client would (bad paths, bad headers, nothing at all). */
import net from 'node:net';
import tls from 'node:tls';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Everything the server sent. */
  raw: string;
}

export interface RawOptions {
  /** Speak TLS, trusting this CA. */
  ca?: string | Buffer;
  timeoutMs?: number;
}

/** Sends `request` (bytes as given) and reads until the server closes; rejects on a timeout. */
export function rawRequest(port: number, request: string | Buffer, options: RawOptions = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = options.ca ? tls.connect({ port, host: '127.0.0.1', ca: options.ca, servername: 'localhost' }) : net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms; got ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 200))}`));
    }, options.timeoutMs ?? 10_000);
    socket.once(options.ca ? 'secureConnect' : 'connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(parseAnswer(Buffer.concat(chunks).toString('latin1')));
    });
  });
}

/** An upgrade request to `path` with the usual WebSocket headers, `extra` added (or overriding). */
export function upgradeRequest(path: string, extra: Record<string, string> = {}): string {
  const headers: Record<string, string> = {
    Host: '127.0.0.1',
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Protocol': 'edge-sync.v1',
    ...extra,
  };
  return `GET ${path} HTTP/1.1\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
}

function parseAnswer(raw: string): RawAnswer {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, body: end < 0 ? '' : raw.slice(end + 4), raw };
}

/** Opens a TCP connection that sends nothing; resolves when connected. */
export function silentSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      resolve(socket);
    });
    socket.on('error', (err) => {
      if (!connected) reject(err);
    });
  });
}
