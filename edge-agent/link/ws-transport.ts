/** The WebSocket transport: `ws[s]://HOST:PORT/edge/v1/<node>`, bearer token, server pings for liveness. */
import WebSocket from 'ws';
import { LinkRefusedError, type LinkConnection, type LinkEvents, type LinkTransport } from './transport.js';

export const WS_SUBPROTOCOL = 'edge-sync.v1';

export interface WsTransportOptions {
  /** `ws://host:port` or `wss://host:port` (a path prefix is kept). */
  hubUrl: string;
  node: string;
  token?: string;
  /** Extra CA for wss with a private CA. */
  ca?: Buffer;
  connectTimeoutMs?: number;
}

export class WsTransport implements LinkTransport {
  readonly description: string;
  /** The hub holds a hello it cannot answer yet (informers still listing), so only a wedged hub needs a repeat. */
  readonly helloRetryMs = 30_000;
  private readonly url: string;

  constructor(private readonly options: WsTransportOptions) {
    this.url = `${options.hubUrl.replace(/\/+$/, '')}/edge/v1/${encodeURIComponent(options.node)}`;
    this.description = this.url;
  }

  connect(events: LinkEvents): Promise<LinkConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, WS_SUBPROTOCOL, {
        headers: this.options.token ? { authorization: `Bearer ${this.options.token}` } : {},
        handshakeTimeout: this.options.connectTimeoutMs ?? 10_000,
        maxPayload: 64 * 1024 * 1024,
        perMessageDeflate: false,
        ...(this.options.ca ? { ca: this.options.ca } : {}),
      });
      let opened = false;
      let ended = false;
      const end = (reason: string): void => {
        if (ended) return;
        ended = true;
        events.closed(reason);
      };
      let watchdog: NodeJS.Timeout | undefined;
      let silenceLimit = 0;
      let lastTraffic = Date.now();
      const touch = (): void => {
        lastTraffic = Date.now();
      };
      ws.once('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        ws.terminate();
        const message = `hub refused the connection: HTTP ${status}`;
        reject(status === 401 || status === 403 || status === 404 ? new LinkRefusedError(message, status) : new Error(message));
      });
      ws.once('error', (err) => {
        if (!opened) reject(err);
      });
      ws.once('open', () => {
        opened = true;
        resolve({
          send: (text) => {
            if (ws.readyState === WebSocket.OPEN) ws.send(text);
          },
          close: (reason) => {
            ws.close(1000, reason.slice(0, 120));
            setTimeout(() => ws.terminate(), 2_000).unref();
          },
          expectTrafficWithin: (ms) => {
            silenceLimit = ms;
            if (watchdog) clearInterval(watchdog);
            watchdog = setInterval(() => {
              if (Date.now() - lastTraffic > silenceLimit) {
                end(`no traffic from the hub for ${silenceLimit} ms`);
                ws.terminate();
              }
            }, Math.max(50, Math.floor(ms / 4)));
            watchdog.unref();
          },
        });
      });
      ws.on('ping', touch);
      ws.on('message', (data: Buffer) => {
        touch();
        events.message(data);
      });
      ws.once('close', (code, reason) => {
        if (watchdog) clearInterval(watchdog);
        if (opened) end(`closed by the hub (${code}${reason.length ? `: ${reason.toString()}` : ''})`);
      });
    });
  }
}
