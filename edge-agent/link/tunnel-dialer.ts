/**
 * The agent's half of stream tunnels (protocol/README.md, "Stream tunnels"): a `tunnel` frame
 * from the hub makes it dial `<stream url>/edge/v1/<node>/tunnel/<id>` with its own token, and
 * hand the WebSocket's bytes (binary) to the kubelet API, which serves one HTTP/1.1 connection
 * on them (`logs`, `exec`, `attach`, `port-forward`, stats).
 *
 * The frame is hostile like any other: its id was checked by the frame schema (22 base64url
 * characters, so it cannot change the URL's shape); the agent dials only the stream URL it was
 * configured with, never one a frame names; at most `maxOpen` tunnels are open and at most
 * `ratePerSecond` are dialled a second, so a hub cannot make it open sockets without bound.
 *
 * Masking: a WebSocket client masks every frame with a fresh random key (RFC 6455 5.3) so that
 * bytes an attacker controls (here: a container's log lines) can never appear verbatim on the
 * wire, where a broken intercepting proxy might take them for HTTP (RFC 6455 10.3). Masking
 * means a copy of every chunk (ws cannot mask the caller's buffer in place): at 10 MB/s of logs
 * that churn made the agent's process run a full GC about once a second, stalls its sync shares
 * (sim/bench/streams.ts). Over `wss://` no intermediary sees the bytes, so the key is all zeros,
 * which ws sends without masking or copying; over plain `ws://` the key stays random.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import WebSocket, { createWebSocketStream } from 'ws';
import { TUNNEL_ID_PATTERN, TUNNEL_SUBPROTOCOL, tunnelPath } from '../../protocol/index.js';
import { currentToken, type TokenOption } from './transport.js';

/** Serves one HTTP/1.1 connection on a byte stream (the kubelet API: edge-agent/kubelet-api/). */
export interface StreamConnectionHandler {
  handleConnection(socket: Duplex): void;
}

export interface TunnelDialerOptions {
  /** `ws[s]://host:port` of the hub (its --listen): `--stream-url`, or `--hub` when that is ws[s]://. */
  streamUrl: string;
  node: string;
  token?: TokenOption;
  /** CA that signs the hub's certificate (wss:// with a private CA). */
  ca?: Buffer;
  handler: StreamConnectionHandler;
  logger: Logger;
  maxOpen?: number;
  ratePerSecond?: number;
  connectTimeoutMs?: number;
}

/** ws's `generateMask` for a tunnel to `url`: a zero key under TLS (nothing on the path can read the frames), ws's random default otherwise. */
export function tunnelMask(url: string): ((mask: Buffer) => void) | undefined {
  return /^wss:/i.test(url) ? (mask) => void mask.fill(0) : undefined;
}

export type TunnelRefusal = 'bad-id' | 'too-many-open' | 'rate-limited';

export class TunnelDialer {
  private openCount = 0;
  private tokens: number;
  private refilled = Date.now();
  private readonly sockets = new Set<WebSocket>();
  private stopped = false;

  constructor(private readonly options: TunnelDialerOptions) {
    this.tokens = this.rate;
  }

  private get rate(): number {
    return this.options.ratePerSecond ?? 20;
  }

  /** Open tunnels. */
  get open(): number {
    return this.openCount;
  }

  /** Dials tunnel `id`; returns why not when it refuses (the caller answers the hub). */
  dial(id: string, purpose = ''): TunnelRefusal | undefined {
    if (!TUNNEL_ID_PATTERN.test(id)) return 'bad-id';
    if (this.stopped || this.openCount >= (this.options.maxOpen ?? 32)) return 'too-many-open';
    const now = Date.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.refilled) / 1000) * this.rate);
    this.refilled = now;
    if (this.tokens < 1) return 'rate-limited';
    this.tokens -= 1;
    this.openCount += 1;
    const { logger } = this.options;
    const url = `${this.options.streamUrl.replace(/\/+$/, '')}${tunnelPath(this.options.node, id)}`;
    const token = currentToken(this.options.token);
    const generateMask = tunnelMask(url);
    const ws = new WebSocket(url, TUNNEL_SUBPROTOCOL, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      handshakeTimeout: this.options.connectTimeoutMs ?? 10_000,
      perMessageDeflate: false,
      maxPayload: 16 * 1024 * 1024,
      ...(this.options.ca ? { ca: this.options.ca } : {}),
      ...(generateMask ? { generateMask } : {}),
    });
    this.sockets.add(ws);
    let closed = false;
    const done = (): void => {
      if (closed) return;
      closed = true;
      this.openCount -= 1;
      this.sockets.delete(ws);
    };
    ws.on('error', (err) => logger.warn({ purpose, err: err.message }, 'stream tunnel failed'));
    ws.on('unexpected-response', (_req, res) => {
      logger.warn({ purpose, status: res.statusCode }, 'the hub refused the stream tunnel');
      res.resume();
      ws.terminate();
    });
    ws.once('close', done);
    ws.once('open', () => {
      logger.debug({ purpose }, 'stream tunnel open');
      const stream = createWebSocketStream(ws, { allowHalfOpen: false });
      stream.on('error', () => undefined);
      try {
        this.options.handler.handleConnection(stream);
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'the kubelet API failed on a tunnel');
        stream.destroy();
      }
    });
    return undefined;
  }

  /** Closes every tunnel and dials no more. */
  stop(): void {
    this.stopped = true;
    for (const ws of this.sockets) ws.terminate();
  }
}
