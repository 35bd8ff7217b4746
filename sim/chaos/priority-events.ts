/**
 * The priority events' ledger: every probe event the fleet's agents put into their outboxes,
 * and the check that each reached the cluster. The hub turns a node event into a Kubernetes
 * Event on the Node (namespace `default`) named after the event's id, and acks it only after
 * the API took it; the agent resends what was not acked (after a reconnect, a restart, a hub
 * restart). Delivery is at least once on the wire, and the Event's name makes the result
 * exactly once in the cluster: a resend finds the Event already there (409) and is acked.
 * The check counts each token's Events, so a duplicate would show.
 */
import type { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import type { Fleet } from '../fleet/fleet.js';
import { PROBE_REASON, probeToken } from '../fleet/probe-events.js';

type EventList = { metadata?: { continue?: string }; items?: { reason?: string; message?: string; count?: number }[] };

export class PriorityEventLedger {
  private readonly emitted = new Set<string>();
  private readonly overflowed = new Set<string>();
  private notForwarded = 0;
  pending = 0;

  constructor(
    private readonly fleet: Fleet,
    private readonly client: KubeClient,
  ) {}

  get emittedTokens(): ReadonlySet<string> {
    return this.emitted;
  }

  get overflowedTokens(): ReadonlySet<string> {
    return this.overflowed;
  }

  get filtered(): number {
    return this.notForwarded;
  }

  /** Collects what the workers emitted since the last call and what their outboxes hold now. */
  async collect(): Promise<void> {
    const ledger = await this.fleet.ledger();
    for (const token of ledger.emitted) this.emitted.add(token);
    for (const token of ledger.overflowed) this.overflowed.add(token);
    this.notForwarded += ledger.notForwarded.length;
    this.pending = ledger.pending;
  }

  /** Token -> how many Kubernetes Events carry it, for this run's tokens. */
  async inCluster(runTag: string): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    let continueToken: string | undefined;
    do {
      const page = await this.client.get<EventList>('/api/v1/namespaces/default/events', { labelSelector: 'edge-sync.io/node', limit: '1000', continue: continueToken });
      for (const event of page.items ?? []) {
        if (event.reason !== PROBE_REASON) continue;
        const token = probeToken(event.message);
        if (token?.startsWith(`${runTag}/`)) found.set(token, (found.get(token) ?? 0) + 1);
      }
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    return found;
  }

  /**
   * Waits until every emitted token is in the cluster and the outboxes are empty, or the
   * deadline; returns the last look.
   */
  async waitDelivered(runTag: string, deadlineMs: number, excused: ReadonlySet<string>): Promise<{ found: Map<string, number>; missing: string[] }> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      await this.collect();
      let found: Map<string, number>;
      try {
        found = await this.inCluster(runTag);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        continue;
      }
      // A token the outbox refused (full) will never arrive: lost, but nothing to wait for.
      const missing = [...this.emitted].filter((token) => !found.has(token) && !excused.has(token) && !this.overflowed.has(token));
      if ((missing.length === 0 && this.pending === 0) || Date.now() > deadline) return { found, missing };
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}
