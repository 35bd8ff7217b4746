/** The hub's Prometheus metrics, registered on a registry the caller owns. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class HubMetrics {
  readonly connectedNodes: Gauge;
  readonly frames: Counter<'type' | 'direction'>;
  readonly bytes: Counter<'type' | 'direction'>;
  readonly resyncs: Counter<'result'>;
  readonly resyncOps: Histogram;
  readonly resyncBytes: Histogram;
  readonly queueDepth: Gauge;
  readonly deltaLatency: Histogram;
  readonly frameErrors: Counter<'code'>;
  readonly apiWrites: Counter<'kind' | 'result'>;
  readonly statusRefused: Counter;
  readonly events: Counter<'result'>;
  /** Labelled children of `frames` and `bytes`, looked up once: counting is on every frame. */
  private readonly frameCounters = new Map<string, { frames: { inc(): void }; bytes: { inc(value: number): void } }>();

  constructor(readonly registry: Registry, options: { queueDepth?: () => number; connected?: () => number } = {}) {
    collectDefaultMetrics({ register: registry, prefix: 'edge_hub_' });
    const registers = [registry];
    this.connectedNodes = new Gauge({
      name: 'edge_hub_connected_nodes',
      help: 'Nodes with an open session on this hub replica.',
      registers,
      ...(options.connected ? { collect(this: Gauge) { this.set(options.connected!()); } } : {}),
    });
    this.frames = new Counter({ name: 'edge_hub_frames_total', help: 'Protocol frames by type and direction (in = from edge).', labelNames: ['type', 'direction'], registers });
    this.bytes = new Counter({ name: 'edge_hub_frame_bytes_total', help: 'Protocol frame bytes by type and direction.', labelNames: ['type', 'direction'], registers });
    this.resyncs = new Counter({ name: 'edge_hub_resyncs_total', help: 'Resyncs after hello, by result (equal digest or differences sent).', labelNames: ['result'], registers });
    this.resyncOps = new Histogram({ name: 'edge_hub_resync_ops', help: 'Ops sent per resync.', buckets: [0, 1, 5, 10, 50, 100, 500, 1000, 5000], registers });
    this.resyncBytes = new Histogram({ name: 'edge_hub_resync_bytes', help: 'Bytes of sync frames sent per resync.', buckets: [0, 256, 1024, 8192, 65536, 524288, 4194304], registers });
    this.queueDepth = new Gauge({
      name: 'edge_hub_send_queue_depth',
      help: 'Objects waiting to be sent, summed over connected nodes.',
      registers,
      ...(options.queueDepth ? { collect(this: Gauge) { this.set(options.queueDepth!()); } } : {}),
    });
    this.deltaLatency = new Histogram({
      name: 'edge_hub_delta_latency_seconds',
      help: 'From the watch event reaching the hub to the node acking the op that carried it.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.frameErrors = new Counter({ name: 'edge_hub_frame_errors_total', help: 'Frames refused with an error frame, by code.', labelNames: ['code'], registers });
    this.apiWrites = new Counter({ name: 'edge_hub_api_writes_total', help: 'Writes to the Kubernetes API by object kind and result.', labelNames: ['kind', 'result'], registers });
    this.events = new Counter({
      name: 'edge_hub_events_total',
      help: 'Forwarded edge events by result: kubernetes, mqtt, webhook or log (delivered), duplicate, expired, failed, refused (the node had too many in flight), rate-limited (the node was over --node-event-rate).',
      labelNames: ['result'],
      registers,
    });
    this.statusRefused = new Counter({ name: 'edge_hub_status_refused_total', help: 'Pod status items refused: the Pod is not bound to the sending node, the node had too many reports waiting, or it was over --node-event-rate.', registers });
  }

  /** Counts one frame of `type` and its bytes in `direction` (in = from the edge). */
  countFrame(type: string, direction: 'in' | 'out', bytes: number): void {
    const id = `${direction}:${type}`;
    let counters = this.frameCounters.get(id);
    if (!counters) {
      counters = { frames: this.frames.labels({ type, direction }), bytes: this.bytes.labels({ type, direction }) };
      this.frameCounters.set(id, counters);
    }
    counters.frames.inc();
    counters.bytes.inc(bytes);
  }
}
