/**
 * Where forwarded edge events go. Events about a Pod or a Node become Kubernetes Events on that
 * object (what `kubectl describe` shows); everything else (local bus messages) goes to the
 * cloud sink: the node's MQTT `events` topic when the hub has a broker, an HTTP webhook when
 * configured, else one log line. Agents deliver at least once; the hub de-duplicates by event
 * id (a Kubernetes Event is named after it, so even a restarted hub creates it once) and acks
 * an id only after its sink took it, a resend that arrives while the first copy is still being
 * written included, so an event is never acked and lost.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { formatKey, parseKey, type EdgeEvent, type EventFrame } from '../../protocol/index.js';
import { isConflict, type KubeClient } from '../kube/kube-client.js';
import type { HubMetrics } from '../metrics.js';
import type { NodeScope } from '../scope/node-scope.js';
import type { ObjectStore } from '../source/object-store.js';
import type { NodeReply } from '../session/upstream-sink.js';
import type { EventSink } from './kube-upstream.js';
import { kubeMicroTime, kubeTime, paths } from './kube-paths.js';
import { RecentIds } from './recent-ids.js';
import type { WriteQueue } from './write-queue.js';

/** A destination for events that are not about a Kubernetes object. */
export interface CloudEventSink {
  readonly name: string;
  deliver(node: string, events: readonly EdgeEvent[]): Promise<void>;
}

export interface EventForwarderDeps {
  client: KubeClient;
  store: ObjectStore;
  writes: WriteQueue;
  metrics: HubMetrics;
  logger: Logger;
  scope: NodeScope;
  /** For bus events; none: logged. A getter, because the MQTT sink exists only once the bridge runs. */
  cloudSink: () => CloudEventSink | undefined;
}

const KUBE_SOURCES = new Set(['pod', 'container', 'node', 'agent']);
/** Sessions kept waiting on one event's first copy (a node reconnecting in a loop cannot grow it further). */
const MAX_WAITING_REPLIES = 8;

export class EventForwarder implements EventSink {
  private readonly seen = new RecentIds(200_000);
  /**
   * Ids whose first copy is still on its way to the sink (a write retrying while the API is
   * down), with every session waiting for it. A resend of such an id (the node reconnected) is
   * acked only once the sink has the event: acked at once as a duplicate, the node would drop
   * its copy, and a hub killed before its write got through would lose the event.
   */
  private readonly inflight = new Map<string, NodeReply[]>();

  constructor(private readonly deps: EventForwarderDeps) {}

  accept(node: string, frame: EventFrame, reply: NodeReply): void {
    const now = Date.now();
    const { metrics } = this.deps;
    const duplicates: string[] = [];
    const expired: string[] = [];
    const toKube: EdgeEvent[] = [];
    const toCloud: EdgeEvent[] = [];
    for (const event of frame.events) {
      const waiting = this.inflight.get(event.id);
      if (waiting) {
        // A resend while the first copy is still on its way to the sink: acked when that one is.
        if (!waiting.includes(reply)) waiting.push(reply);
        if (waiting.length > MAX_WAITING_REPLIES) waiting.splice(1, waiting.length - MAX_WAITING_REPLIES);
        metrics.events.inc({ result: 'duplicate' });
        continue;
      }
      if (!this.seen.firstSighting(event.id)) duplicates.push(event.id);
      else if (event.expires !== undefined && event.expires < now) expired.push(event.id);
      else {
        (KUBE_SOURCES.has(event.source) && this.involvedObject(node, event) ? toKube : toCloud).push(event);
        this.inflight.set(event.id, [reply]);
      }
    }
    if (duplicates.length > 0) metrics.events.inc({ result: 'duplicate' }, duplicates.length);
    if (expired.length > 0) metrics.events.inc({ result: 'expired' }, expired.length);
    if (duplicates.length + expired.length > 0) reply.ack([...duplicates, ...expired]);
    for (const event of toKube) this.writeKubeEvent(node, event, reply);
    if (toCloud.length > 0) void this.deliverToCloud(node, toCloud, reply);
  }

  private involvedObject(node: string, event: EdgeEvent): { kind: string; namespace: string; name: string; uid: string } | undefined {
    const key = event.object ?? (event.source === 'node' || event.source === 'agent' ? formatKey('Node', '', node) : undefined);
    if (!key) return undefined;
    const { kind, namespace, name } = parseKey(key);
    if (kind !== 'Pod' && kind !== 'Node') return undefined;
    // Only the node's own objects: a node cannot write events onto another node's Pods.
    if (kind === 'Node' && name !== node) return undefined;
    if (kind === 'Pod') {
      const placement = this.deps.scope.placementOf(key);
      return placement?.node === node ? { kind, namespace, name, uid: placement.uid } : undefined;
    }
    const stored = this.deps.store.get(key);
    const uid = stored ? ((JSON.parse(stored.json) as { metadata?: { uid?: string } }).metadata?.uid ?? '') : '';
    return { kind, namespace, name, uid };
  }

  private writeKubeEvent(node: string, event: EdgeEvent, reply: NodeReply): void {
    const involved = this.involvedObject(node, event)!;
    // Events of cluster-scoped objects live in "default", as the kubelet's Node events do.
    const namespace = involved.namespace || 'default';
    const name = `${involved.name}.edge-${createHash('sha256').update(event.id).digest('hex').slice(0, 16)}`;
    const at = kubeTime(event.ts);
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace, labels: { 'edge-sync.io/node': node } },
      involvedObject: { apiVersion: 'v1', kind: involved.kind, name: involved.name, ...(involved.namespace ? { namespace: involved.namespace } : {}), ...(involved.uid ? { uid: involved.uid } : {}) },
      reason: event.reason,
      message: event.message ?? '',
      type: event.type === 'Warning' ? 'Warning' : 'Normal',
      count: event.count ?? 1,
      firstTimestamp: at,
      lastTimestamp: at,
      eventTime: kubeMicroTime(event.ts),
      source: { component: 'edge-agent', host: node },
      reportingComponent: 'edge-sync.io/edge-agent',
      reportingInstance: node,
      action: event.reason,
    };
    this.deps.writes.submit(
      `Event/${name}`,
      'Event',
      async () => {
        try {
          await this.deps.client.create(paths.events(namespace), body);
        } catch (err) {
          // Created before (a redelivery, perhaps to a restarted hub): the sink has it once.
          if (!isConflict(err)) throw err;
        }
      },
      (result) => {
        this.deps.metrics.events.inc({ result: result === 'ok' ? 'kubernetes' : 'failed' });
        if (result === 'ok') this.delivered([event.id], reply);
        else this.undelivered([event.id]);
      },
    );
  }

  private async deliverToCloud(node: string, events: EdgeEvent[], reply: NodeReply): Promise<void> {
    const { logger, metrics } = this.deps;
    const cloudSink = this.deps.cloudSink();
    try {
      if (cloudSink) await cloudSink.deliver(node, events);
      else for (const event of events) logger.info({ node, event }, 'edge event');
      metrics.events.inc({ result: cloudSink?.name ?? 'log' }, events.length);
      this.delivered(events.map((event) => event.id), reply);
    } catch (err) {
      // Not acked: the agent keeps them and sends them again.
      this.undelivered(events.map((event) => event.id));
      metrics.events.inc({ result: 'failed' }, events.length);
      logger.warn({ node, events: events.length, err: (err as Error).message }, 'cloud event sink failed; the node will resend');
    }
  }

  /** The sink has these events: ack them to the session that sent them and to every session that resent them meanwhile. */
  private delivered(ids: readonly string[], reply: NodeReply): void {
    const resent = new Map<NodeReply, string[]>();
    for (const id of ids) {
      for (const waiting of this.inflight.get(id) ?? []) if (waiting !== reply) resent.set(waiting, [...(resent.get(waiting) ?? []), id]);
      this.inflight.delete(id);
    }
    reply.ack(ids);
    for (const [waiting, waitingIds] of resent) waiting.ack(waitingIds);
  }

  /** The sink refused them for good: nobody is acked, so the nodes keep them and send them again. */
  private undelivered(ids: readonly string[]): void {
    for (const id of ids) {
      this.inflight.delete(id);
      this.forget(id);
    }
  }

  private forget(id: string): void {
    this.seen.forget(id);
  }
}
