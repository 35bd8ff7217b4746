/**
 * What one node (and one unauthenticated peer) may cost the hub, with the defaults the command
 * line documents, and the metrics that show each limit and every refusal by reason.
 *
 * The defaults leave a well-behaved agent far below every limit (its upstream pump keeps at
 * most 4 frames in flight, it heartbeats every few seconds), so only a broken or hostile node
 * ever meets one; a fleet behind one NAT or proxy address needs --max-pending-per-address raised.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface NodeLimits {
  /** Accepted connections not yet an authenticated WebSocket, over all peers (0: no cap). */
  maxPending: number;
  /** The same, per remote address (0: no cap). */
  maxPendingPerAddress: number;
  /** From TCP accept to an authenticated upgrade, and from the upgrade to the first frame, ms. */
  handshakeTimeoutMs: number;
  /** Frames per second a node may send, sustained. */
  frameRate: number;
  /** Frame bytes per second a node may send, sustained. */
  byteRate: number;
  /** Events and Pod status reports per second a node may send, sustained. */
  eventRate: number;
  /** Each rate may be exceeded in a burst of this many seconds' worth. */
  burstSeconds: number;
  /** Bytes queued for one connection that its peer has not read; over it the connection is cut. */
  maxSendBufferBytes: number;
}

export const DEFAULT_NODE_LIMITS: NodeLimits = {
  maxPending: 4096,
  maxPendingPerAddress: 256,
  handshakeTimeoutMs: 15_000,
  frameRate: 200,
  byteRate: 2 * 1024 * 1024,
  eventRate: 1000,
  burstSeconds: 10,
  maxSendBufferBytes: 32 * 1024 * 1024,
};

/** Why the hub refused, cut or slowed a peer: the `reason` label of edge_hub_refusals_total. */
export type RefusalReason =
  /** Over --max-pending: the connection was closed at once. */
  | 'pending-total'
  /** Over --max-pending-per-address. */
  | 'pending-address'
  /** No authenticated upgrade within --handshake-timeout. */
  | 'handshake-timeout'
  /** An authenticated WebSocket that sent no frame within --handshake-timeout. */
  | 'silent'
  /** Not /edge/v1/<node name>, or not decodable. */
  | 'bad-path'
  /** Missing, wrong or revoked token. */
  | 'auth'
  /** A tunnel dial for an id this hub did not ask that node for (or expired, or already answered). */
  | 'tunnel-refused'
  /** A newer authenticated connection of the same node took the one pending slot. */
  | 'pending-replaced'
  /** A frame over the WebSocket's payload limit: closed with 1009. */
  | 'frame-too-large'
  /** The peer did not read what the hub sent: over --max-send-buffer, cut. */
  | 'send-buffer'
  /** Over a per-node rate: slowed (WebSocket) or queued (MQTT), nothing lost. */
  | 'rate-frames'
  | 'rate-bytes'
  | 'rate-events'
  /** Over a per-node rate with the node's queue full (MQTT): dropped unhandled. */
  | 'rate-dropped'
  /** An exception in the hub while handling the peer's input (answered with E_INTERNAL). */
  | 'internal';

export class LimitMetrics {
  private readonly refusals: Counter<'reason'>;
  private readonly counters = new Map<RefusalReason, { inc(): void }>();

  constructor(registry: Registry, limits: NodeLimits, maxFrameBytes: number, pending?: () => number) {
    this.refusals = new Counter({
      name: 'edge_hub_refusals_total',
      help: 'Connections refused or cut and frames slowed or dropped by the per-node and per-peer limits, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    });
    const gauge = new Gauge({ name: 'edge_hub_limit', help: 'The configured per-node and per-peer limits (see cloud-hub --help).', labelNames: ['limit'], registers: [registry] });
    const values: Record<string, number> = {
      max_pending: limits.maxPending,
      max_pending_per_address: limits.maxPendingPerAddress,
      handshake_timeout_seconds: limits.handshakeTimeoutMs / 1000,
      node_frames_per_second: limits.frameRate,
      node_bytes_per_second: limits.byteRate,
      node_events_per_second: limits.eventRate,
      burst_seconds: limits.burstSeconds,
      max_send_buffer_bytes: limits.maxSendBufferBytes,
      max_frame_bytes: maxFrameBytes,
    };
    for (const [limit, value] of Object.entries(values)) gauge.set({ limit }, value);
    new Gauge({
      name: 'edge_hub_pending_connections',
      help: 'Accepted WebSocket-port connections not yet authenticated (capped by --max-pending).',
      registers: [registry],
      ...(pending ? { collect(this: Gauge) { this.set(pending()); } } : {}),
    });
  }

  refused(reason: RefusalReason): void {
    let counter = this.counters.get(reason);
    if (!counter) {
      counter = this.refusals.labels({ reason });
      this.counters.set(reason, counter);
    }
    counter.inc();
  }
}
