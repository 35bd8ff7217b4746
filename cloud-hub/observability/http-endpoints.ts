/** `/metrics`, `/healthz` and `/readyz` on the metrics listener (and health on the WebSocket port). */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { WS_PATH_PREFIX } from '../../protocol/index.js';

export interface HealthChecks {
  /** Ready: every informer has listed, so hellos can be answered. */
  ready: () => boolean;
}

/** Handles the health paths; returns false for anything else. */
export function handleHealth(checks: HealthChecks, req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const path = (req.url ?? '').split('?')[0];
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return true;
  }
  if (path === '/readyz') {
    const ready = checks.ready();
    res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ok\n' : 'informers not synced\n');
    return true;
  }
  return false;
}

export class MetricsServer {
  private readonly server: http.Server;

  constructor(
    private readonly registry: Registry,
    private readonly checks: HealthChecks,
    /** Serve https with this certificate and key (PEM). */
    private readonly tls?: { cert: string; key: string },
  ) {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    };
    this.server = tls ? https.createServer({ cert: tls.cert, key: tls.key }, handler) : http.createServer(handler);
  }

  async start(host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    return `${this.tls ? 'https' : 'http'}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    return closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (handleHealth(this.checks, req, res)) return;
    if ((req.url ?? '').split('?')[0] === '/metrics') {
      try {
        const body = await this.registry.metrics();
        res.writeHead(200, { 'content-type': this.registry.contentType }).end(body);
      } catch (err) {
        res.writeHead(500).end(String(err));
      }
      return;
    }
    // An agent pointed here by mistake: say so (its upgrade request is answered as a request).
    const hint = (req.url ?? '').startsWith(WS_PATH_PREFIX) ? '; this is the hub\'s metrics address, agents connect to its --listen address' : '';
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found${hint}\n`);
  }
}
