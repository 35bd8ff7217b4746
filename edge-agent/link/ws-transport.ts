/** The WebSocket transport: `ws[s]://HOST:PORT/edge/v1/<node>`, bearer token, server pings for liveness. */
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { ErrorCode, REFUSAL_HEADER, WS_PATH_PREFIX, WS_SUBPROTOCOL } from '../../protocol/index.js';
import { LinkRefusedError, currentToken, describeConnectError, tokenRefused, type LinkConnection, type LinkEvents, type LinkTransport, type TokenOption } from './transport.js';

export { WS_SUBPROTOCOL };

/**
 * The largest message the agent reads from the hub. A hub's frames stay under its announced
 * limit (4 MiB by default) but for one object larger than that, and Kubernetes objects are at
 * most about 1.5 MiB; a hostile peer cannot make the agent buffer more than this.
 */
export const AGENT_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
/** How much of a refusal's body goes into the error message. */
const REFUSAL_BODY_BYTES = 512;

export interface WsTransportOptions {
  /** `ws://host:port` or `wss://host:port` (a path prefix is kept). */
  hubUrl: string;
  node: string;
  /** The node's token, or a source that reads it anew after a 401 (token rotation). */
  token?: TokenOption;
  /** CA certificate(s) that sign the hub's certificate (wss:// with a private CA); replaces the system's CAs. */
  ca?: Buffer;
  connectTimeoutMs?: number;
}

export class WsTransport implements LinkTransport {
  readonly description: string;
  /** The hub holds a hello it cannot answer yet (informers still listing), so only a wedged hub needs a repeat. */
  readonly helloRetryMs = 30_000;
  private readonly url: string;

  constructor(private readonly options: WsTransportOptions) {
    this.url = `${options.hubUrl.replace(/\/+$/, '')}${WS_PATH_PREFIX}${encodeURIComponent(options.node)}`;
    this.description = this.url;
  }

  connect(events: LinkEvents): Promise<LinkConnection> {
    return new Promise((resolve, reject) => {
      const token = currentToken(this.options.token);
      const ws = new WebSocket(this.url, WS_SUBPROTOCOL, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        handshakeTimeout: this.options.connectTimeoutMs ?? 10_000,
        maxPayload: AGENT_MAX_PAYLOAD_BYTES,
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
        void this.refusal(res).then((err) => {
          // Rejected first: terminating a handshake in progress also reports an error.
          reject(err);
          ws.terminate();
        });
      });
      ws.once('error', (err) => {
        if (!opened) reject(describeConnectError(err, this.url));
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

  /**
   * An HTTP answer instead of an upgrade. A hub marks each refusal with its error code; an
   * answer without one came from something else at that address (the hub's metrics port, a
   * proxy, another service), and saying "check the token" then would send the operator the
   * wrong way.
   */
  private async refusal(res: IncomingMessage): Promise<Error> {
    const status = res.statusCode ?? 0;
    const header = res.headers[REFUSAL_HEADER];
    const code = typeof header === 'string' ? header : undefined;
    const body = await readSome(res, REFUSAL_BODY_BYTES);
    const detail = body ? `: ${body}` : '';
    if (code === undefined) {
      return new Error(`${this.url} is not an edge-sync hub endpoint (HTTP ${status}${detail}); --hub must be the hub's WebSocket address (cloud-hub --listen), not its metrics port or another service`);
    }
    if (code === ErrorCode.Auth) {
      // Read the token file again before the next attempt: it may have been rotated.
      tokenRefused(this.options.token);
      return new LinkRefusedError(`hub refused node ${this.options.node}'s token (HTTP ${status}${detail})`, status);
    }
    return new Error(`hub refused the connection (HTTP ${status}${detail})`);
  }
}

/** Up to `limit` bytes of a response body, as one line of text; never waits long for a slow peer. */
function readSome(res: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      res.removeAllListeners('data');
      res.destroy();
      resolve(
        Buffer.concat(chunks)
          .subarray(0, limit)
          .toString('utf8')
          .replace(/[\x00-\x1f\x7f]+/g, ' ')
          .trim(),
      );
    };
    const timer = setTimeout(done, 2_000);
    timer.unref();
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) done();
    });
    res.once('end', done);
    res.once('error', done);
  });
}
