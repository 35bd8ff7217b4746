/**
 * Stream tunnels to agents (protocol/README.md, "Stream tunnels"): `open(node)` sends the node a
 * `tunnel` frame on its session and resolves with the byte stream once the agent dials
 * `/edge/v1/<node>/tunnel/<id>`; `arrive(node, id, stream)` is what the WebSocket server calls
 * for such a dial, with the node its token authenticated.
 *
 * A node only ever answers its own tunnels: an id is matched only to a request issued for the
 * node whose token dialled it, once, before it expires. Per node: at most `maxPending` tunnels
 * waiting for their dial and `maxOpen` open; an open tunnel idle for `idleMs` is closed.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';

export interface TunnelLimits {
  /** Tunnels asked of one node and not answered yet. */
  maxPending: number;
  /** Open tunnels per node. */
  maxOpen: number;
  /** How long the agent has to dial a tunnel, ms. */
  dialTimeoutMs: number;
  /** An open tunnel with no bytes either way for this long is closed, ms. */
  idleMs: number;
}

// The idle timeout is the kubelet's streamingConnectionIdleTimeout default (4 h): a quiet `logs -f` stays open as on a kubelet;
// tunnels whose agent vanished are dropped by ping (transport/tunnel-liveness.ts), not by this.
export const DEFAULT_TUNNEL_LIMITS: TunnelLimits = { maxPending: 16, maxOpen: 32, dialTimeoutMs: 10_000, idleMs: 4 * 3_600_000 };

/** Why a tunnel could not be had; `status` is the HTTP answer for the caller. */
export class TunnelError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface TunnelBrokerOptions {
  limits: TunnelLimits;
  logger: Logger;
  /** Sends the node a `tunnel` frame; false when this hub has no session for it that takes tunnels. */
  signal: (node: string, id: string, purpose: string) => boolean;
}

/** A dialled tunnel: its bytes, and a hook called on every message either way (for the idle timer). */
export interface TunnelStream {
  stream: Duplex;
  onActivity(listener: () => void): void;
}

export interface TunnelClaim {
  complete(tunnel: TunnelStream): void;
  fail(why: string): void;
}

interface Pending {
  node: string;
  resolve: (stream: Duplex) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class TunnelBroker {
  private readonly pending = new Map<string, Pending>();
  private readonly pendingPerNode = new Map<string, number>();
  private readonly openPerNode = new Map<string, number>();
  private readonly streams = new Set<Duplex>();

  constructor(private readonly options: TunnelBrokerOptions) {}

  /** Open tunnels over all nodes. */
  get open(): number {
    return this.streams.size;
  }

  /** Asks `node` for a tunnel; rejects with a TunnelError when it cannot be had. */
  request(node: string, purpose: string): Promise<Duplex> {
    const { limits } = this.options;
    if ((this.openPerNode.get(node) ?? 0) >= limits.maxOpen) return Promise.reject(new TunnelError(429, `node ${node} has ${limits.maxOpen} open streams, the most it may have; close one and try again`));
    if ((this.pendingPerNode.get(node) ?? 0) >= limits.maxPending) return Promise.reject(new TunnelError(429, `node ${node} has ${limits.maxPending} streams waiting to be opened; try again`));
    const id = randomBytes(16).toString('base64url');
    return new Promise<Duplex>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.take(id)) return;
        this.options.logger.warn({ node, purpose }, 'the node did not open the stream tunnel in time');
        reject(new TunnelError(504, `node ${node} did not open a stream tunnel within ${limits.dialTimeoutMs} ms (is its --stream-url reachable?)`));
      }, limits.dialTimeoutMs);
      timer.unref();
      this.pending.set(id, { node, resolve, reject, timer });
      bump(this.pendingPerNode, node, 1);
      let sent = false;
      try {
        sent = this.options.signal(node, id, purpose);
      } catch (err) {
        this.options.logger.error({ node, err: (err as Error).message }, 'could not send the tunnel frame');
      }
      if (!sent && this.take(id)) {
        clearTimeout(timer);
        reject(new TunnelError(502, `node ${node} is not connected to this hub, or its agent does not serve streams`));
      }
    });
  }

  /** True when tunnel `id` was asked of `node` and waits for its dial. */
  awaits(node: string, id: string): boolean {
    return this.pending.get(id)?.node === node;
  }

  /**
   * The agent of `node` (authenticated by its token) dials tunnel `id`: when the id was asked of
   * that node and is still waiting, it is taken (a second dial of it is refused) and the
   * returned claim hands the stream over once the upgrade is done; undefined otherwise, and the
   * caller refuses the dial.
   */
  claim(node: string, id: string): TunnelClaim | undefined {
    const waiting = this.pending.get(id);
    if (!waiting || waiting.node !== node) {
      if (waiting) this.options.logger.warn({ node, owner: waiting.node }, 'a node dialled a tunnel asked of another node: refused');
      return undefined;
    }
    this.take(id);
    clearTimeout(waiting.timer);
    return {
      complete: (tunnel) => {
        this.track(node, tunnel);
        waiting.resolve(tunnel.stream);
      },
      fail: (why) => waiting.reject(new TunnelError(502, `node ${node}'s tunnel failed: ${why}`)),
    };
  }

  /** Ends every tunnel and every wait. */
  close(): void {
    for (const id of [...this.pending.keys()]) {
      const waiting = this.take(id);
      if (!waiting) continue;
      clearTimeout(waiting.timer);
      waiting.reject(new TunnelError(503, 'the hub is shutting down'));
    }
    for (const stream of this.streams) stream.destroy();
  }

  private take(id: string): Pending | undefined {
    const waiting = this.pending.get(id);
    if (!waiting) return undefined;
    this.pending.delete(id);
    bump(this.pendingPerNode, waiting.node, -1);
    return waiting;
  }

  private track(node: string, tunnel: TunnelStream): void {
    const { stream } = tunnel;
    this.streams.add(stream);
    bump(this.openPerNode, node, 1);
    let idle: NodeJS.Timeout | undefined;
    const touch = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        this.options.logger.info({ node }, 'stream tunnel idle; closing');
        stream.destroy();
      }, this.options.limits.idleMs);
      idle.unref();
    };
    touch();
    tunnel.onActivity(touch);
    stream.on('error', () => undefined);
    stream.once('close', () => {
      clearTimeout(idle);
      if (this.streams.delete(stream)) bump(this.openPerNode, node, -1);
    });
  }
}

function bump(counts: Map<string, number>, node: string, by: number): void {
  const next = (counts.get(node) ?? 0) + by;
  if (next <= 0) counts.delete(node);
  else counts.set(node, next);
}
