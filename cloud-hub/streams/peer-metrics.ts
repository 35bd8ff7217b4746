/** Prometheus metrics of forwarding kubelet requests between hub replicas (peer-directory.ts, peer-forward.ts). */
import { Counter, type Registry } from 'prom-client';

export class PeerMetrics {
  /** Requests sent on to the replica that holds the node's session, by kubelet path kind. */
  readonly forwarded: Counter<'kind'>;
  /** Requests for a node whose session is not on this replica that could not be sent on, by reason. */
  readonly misses: Counter<'reason'>;
  /** Probes of one peer that gave no answer, by reason (timeout, error, status, busy, answer). */
  readonly probeFailures: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.forwarded = new Counter({ name: 'edge_hub_peer_forwarded_requests_total', help: 'Kubelet requests forwarded to the hub replica holding the node\'s session, by path kind.', labelNames: ['kind'], registers });
    this.misses = new Counter({
      name: 'edge_hub_peer_misses_total',
      help: 'Kubelet requests for a node whose session is not on this replica and that no replica took: no_holder (no peer said it holds it), already_forwarded (a forwarded request is not forwarded again), no_peers.',
      labelNames: ['reason'],
      registers,
    });
    this.probeFailures = new Counter({ name: 'edge_hub_peer_probe_failures_total', help: 'Session probes of a peer replica that gave no usable answer, by reason.', labelNames: ['reason'], registers });
  }
}
