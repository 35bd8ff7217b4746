/**
 * The agent's `/metrics`, `/healthz` and `/readyz` (ready = the cache is open; hub connectivity
 * is a metric, not readiness). Often bound beyond loopback for a scraper, so every request is
 * answered whatever its bytes (a throw in here would take the agent down), only GET and HEAD
 * are served, and what one client can hold is bounded: connections, header bytes, the time to
 * send a request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';

export const ENDPOINT_LIMITS = {
  maxConnections: 64,
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
} as const;

const TEXT = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' };

export class AgentHttpEndpoints {
  private readonly server: http.Server;

  constructor(
    private readonly registry: Registry,
    private readonly ready: () => boolean,
  ) {
    this.server = http.createServer(
      {
        maxHeaderSize: ENDPOINT_LIMITS.maxHeaderBytes,
        headersTimeout: ENDPOINT_LIMITS.headersTimeoutMs,
        requestTimeout: ENDPOINT_LIMITS.requestTimeoutMs,
        connectionsCheckingInterval: 1_000,
      },
      (req, res) => {
        try {
          this.handle(req, res);
        } catch (err) {
          answer(res, 500, `internal error: ${(err as Error).message}\n`);
        }
      },
    );
    this.server.maxConnections = ENDPOINT_LIMITS.maxConnections;
    this.server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
      if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
      const [status, phrase] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : [400, 'Bad Request'];
      const body = `${phrase.toLowerCase()}\n`;
      socket.end(`HTTP/1.1 ${status} ${phrase}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    // A body is never read: close the connection after answering instead of reading one in.
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) res.shouldKeepAlive = false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return answer(res, 405, 'method not allowed: only GET and HEAD\n');
    }
    // No URL parsing: the path is what comes before the query, whatever its bytes.
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz') return answer(res, 200, 'ok\n');
    if (path === '/readyz') {
      const ok = this.ready();
      return answer(res, ok ? 200 : 503, ok ? 'ok\n' : 'cache not open\n');
    }
    if (path !== '/metrics') return answer(res, 404, 'not found: this endpoint serves /metrics, /healthz and /readyz\n');
    this.registry.metrics().then(
      (body) => {
        if (!res.writableEnded) res.writeHead(200, { 'content-type': this.registry.contentType, 'cache-control': 'no-cache' }).end(body);
      },
      (err: unknown) => answer(res, 500, `metrics failed: ${String(err)}\n`),
    );
  }

  async start(host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function answer(res: http.ServerResponse, status: number, body: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { ...TEXT, 'content-length': Buffer.byteLength(body) }).end(body);
}
