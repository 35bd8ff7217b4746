/** The agent's Prometheus metrics, on a registry the caller owns, fed through the link's observer hooks. */
import { Counter, Gauge, Histogram, collectDefaultMetrics, Registry } from 'prom-client';
import type { HubLinkObserver } from './link/hub-link.js';
import type { AgentTelemetry, OutboxStats } from './telemetry.js';

/** prom-client's Registry, for prometheus-telemetry.ts, which imports this module on demand. */
export { Registry as PromRegistry };

export class AgentMetrics implements AgentTelemetry {
  readonly connected: Gauge;
  readonly frames: Counter<'type' | 'direction'>;
  readonly bytes: Counter<'type' | 'direction'>;
  readonly resyncs: Counter<'result'>;
  readonly applySeconds: Histogram;
  readonly needs: Counter;
  readonly ops: Counter<'op'>;
  readonly events: Counter<'result'>;
  readonly rulesRejected: Counter;
  readonly refused: Counter<'code'>;

  constructor(
    readonly registry: Registry,
    cachedObjects: () => number,
    outbox?: OutboxStats,
  ) {
    collectDefaultMetrics({ register: registry, prefix: 'edge_agent_' });
    const registers = [registry];
    this.connected = new Gauge({ name: 'edge_agent_connected', help: '1 while a hub connection is up (resyncing or in sync).', registers });
    this.frames = new Counter({ name: 'edge_agent_frames_total', help: 'Protocol frames by type and direction (in = from hub).', labelNames: ['type', 'direction'], registers });
    this.bytes = new Counter({ name: 'edge_agent_frame_bytes_total', help: 'Protocol frame bytes by type and direction.', labelNames: ['type', 'direction'], registers });
    this.resyncs = new Counter({ name: 'edge_agent_resyncs_total', help: 'Resyncs by result (matched: digest equal after resync).', labelNames: ['result'], registers });
    this.applySeconds = new Histogram({ name: 'edge_agent_apply_seconds', help: 'Time to apply a sync batch to the cache.', buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1], registers });
    this.ops = new Counter({ name: 'edge_agent_ops_total', help: 'Sync ops received, by op (put, patch, del).', labelNames: ['op'], registers });
    this.needs = new Counter({ name: 'edge_agent_needs_total', help: 'Objects asked for whole after a patch could not apply.', registers });
    this.events = new Counter({
      name: 'edge_agent_events_total',
      help: 'Upstream event candidates by what the filter did: forwarded, dropped, deduped, rateLimited, sampledOut, aggregated, invalid.',
      labelNames: ['result'],
      registers,
    });
    this.refused = new Counter({
      name: 'edge_agent_hub_refused_total',
      help: 'What the agent refused from the hub, by the error code it answered: whole frames (E_JSON, E_SHAPE, E_STATE, ...), and single sync ops whose object broke the cache rules (E_SHAPE).',
      labelNames: ['code'],
      registers,
    });
    this.rulesRejected = new Counter({ name: 'edge_agent_filter_rules_rejected_total', help: 'Rule sets refused as invalid (the previous set stayed in force).', registers });
    if (outbox) {
      new Gauge({ name: 'edge_agent_outbox_items', help: 'Reports and events waiting to go upstream.', registers, collect(this: Gauge) { this.set(outbox.size); } });
      new Gauge({ name: 'edge_agent_outbox_bytes', help: 'Bytes waiting in the outbox.', registers, collect(this: Gauge) { this.set(outbox.bytes); } });
      new Gauge({
        name: 'edge_agent_outbox_dropped',
        help: 'Outbox rows lost since start, by reason: expired (TTL) or overflow (byte budget, lowest priority first).',
        labelNames: ['reason'],
        registers,
        collect(this: Gauge<'reason'>) {
          this.set({ reason: 'expired' }, outbox.counters.expired);
          this.set({ reason: 'overflow' }, outbox.counters.overflowed);
        },
      });
    }
    new Gauge({
      name: 'edge_agent_cached_objects',
      help: 'Objects in the local cache.',
      registers,
      collect(this: Gauge) {
        this.set(cachedObjects());
      },
    });
  }

  countEvent(result: string): void {
    this.events.inc({ result });
  }

  countRejectedRules(): void {
    this.rulesRejected.inc();
  }

  /** Hooks for HubLink. */
  observer(): HubLinkObserver {
    return {
      connected: () => this.connected.set(1),
      disconnected: () => this.connected.set(0),
      synced: ({ matched }) => this.resyncs.inc({ result: matched ? 'matched' : 'mismatch' }),
      applied: (result, ms, ops) => {
        this.applySeconds.observe(ms / 1000);
        for (const op of ops) this.ops.inc({ op: op.op });
        if (result.needs.length > 0) this.needs.inc(result.needs.length);
      },
      frameIn: (type, bytes) => {
        this.frames.inc({ type, direction: 'in' });
        this.bytes.inc({ type, direction: 'in' }, bytes);
      },
      frameOut: (type, bytes) => {
        this.frames.inc({ type, direction: 'out' });
        this.bytes.inc({ type, direction: 'out' }, bytes);
      },
      refused: (code, count) => this.refused.inc({ code }, count),
    };
  }
}
