/**
 * Where forwarded edge events go. Events about a Pod or a Node become Kubernetes Events on that
 * object (what `kubectl describe` shows); everything else (local bus messages) goes to the
 * cloud sink: the node's MQTT `events` topic when the hub has a broker, an HTTP webhook when
 * configured, else one log line. Agents deliver at least once; the hub de-duplicates by event
 * id per node (a Kubernetes Event is named after node and id, so even a restarted hub creates
 * it once) and acks an id only after its sink took it, so an event is never acked and lost.
 *
 * Each node may have a bounded number of events in flight at the hub (being written or
 * delivered). Events beyond it are refused with `E_UNAVAILABLE` and not acked: they stay in
 * the agent's outbox and come again. An agent never has more than 4 frames of 200 events
 * unacked, so only a node that ignores acks meets the bound; its flood costs the hub a
 * bounded amount of memory and, through the write queue's per-node round robin, costs other
 * nodes one turn at most.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode, formatKey, parseKey, type EdgeEvent, type EventFrame } from '../../protocol/index.js';
import type { FleetView } from '../fleet/fleet-view.js';
import { isConflict, type KubeClient } from '../kube/kube-client.js';
import { kubeMicroTime, kubeTime, paths } from '../kube/kube-paths.js';
import type { HubMetrics } from '../observability/hub-metrics.js';
import type { NodeReply } from '../session/upstream-sink.js';
import type { EventSink } from './kube-upstream.js';
import { RecentIds } from './recent-ids.js';
import type { WriteQueue } from './write-queue.js';

/** A destination for events that are not about a Kubernetes object. */
export interface CloudEventSink {
  readonly name: string;
  deliver(node: string, events: readonly EdgeEvent[]): Promise<void>;
}

export interface EventForwarderDeps {
  client: KubeClient;
  /** Where a Pod runs and a Node's uid, for the object an event is about. */
  fleet: FleetView;
  writes: WriteQueue;
  metrics: HubMetrics;
  logger: Logger;
  /** For bus events; none: logged. A getter, because the MQTT sink exists only once the bridge runs. */
  cloudSink: () => CloudEventSink | undefined;
  /** Events of one node in flight at the hub; more are refused until some are done. */
  maxInflightPerNode?: number;
}

/** Twice what a well-behaved agent can have unacked (4 frames of 200 events). */
export const DEFAULT_MAX_INFLIGHT_EVENTS_PER_NODE = 1_600;
/** Ids remembered per node for de-duplication, and in all. */
const SEEN_PER_NODE = 4_096;
const SEEN_TOTAL = 200_000;
const REFUSAL_LOG_INTERVAL_MS = 60_000;

/**
 * Values of an event's `source` field (where on the node it came from: pod, container, node,
 * agent or bus, edge-agent/filter/README.md) whose events are about a Pod or the Node and become
 * Kubernetes Events; the rest go to the cloud sink. Not the hub's source/ (its informers).
 */
const ABOUT_KUBE_OBJECTS = new Set(['pod', 'container', 'node', 'agent']);
/** Sessions kept waiting on one event's first copy (a node reconnecting in a loop cannot grow it further). */
const MAX_WAITING_REPLIES = 8;

interface InvolvedObject {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

export class EventForwarder implements EventSink {
  private readonly seen = new RecentIds(SEEN_TOTAL, SEEN_PER_NODE);
  /** `node\nid` of every event in flight -> the replies to ack it on (a redelivery waits for the first delivery). */
  private readonly inflight = new Map<string, Set<NodeReply>>();
  private readonly inflightPerNode = new Map<string, number>();
  private readonly refusalLogged = new Map<string, number>();

  constructor(private readonly deps: EventForwarderDeps) {}

  /** Events of `node` in flight at the hub. */
  inflightFor(node: string): number {
    return this.inflightPerNode.get(node) ?? 0;
  }

  accept(node: string, frame: EventFrame, reply: NodeReply): void {
    const now = Date.now();
    const limit = this.deps.maxInflightPerNode ?? DEFAULT_MAX_INFLIGHT_EVENTS_PER_NODE;
    let used = this.inflightFor(node);
    let duplicates = 0;
    let expired = 0;
    const ackNow: string[] = [];
    const refused: string[] = [];
    const toKube: { event: EdgeEvent; involved: InvolvedObject }[] = [];
    const toCloud: EdgeEvent[] = [];
    for (const event of frame.events) {
      const waiting = this.inflight.get(inflightKey(node, event.id));
      if (waiting) {
        // Sent again while its first delivery is still under way: ack both when it is done
        // (a node reconnecting in a loop cannot grow the waiting sessions past a few).
        if (!waiting.has(reply) && waiting.size >= MAX_WAITING_REPLIES) {
          // Keep the first sender and the newest ones: the sessions in between are long gone.
          const [, oldestResend] = waiting;
          if (oldestResend) waiting.delete(oldestResend);
        }
        waiting.add(reply);
        duplicates += 1;
      } else if (!this.seen.firstSighting(node, event.id)) {
        duplicates += 1;
        ackNow.push(event.id);
      } else if (event.expires !== undefined && event.expires < now) {
        expired += 1;
        ackNow.push(event.id);
      } else if (used >= limit) {
        this.seen.forget(node, event.id);
        refused.push(event.id);
      } else {
        used += 1;
        this.inflight.set(inflightKey(node, event.id), new Set([reply]));
        const involved = ABOUT_KUBE_OBJECTS.has(event.source) ? this.involvedObject(node, event) : undefined;
        if (involved) toKube.push({ event, involved });
        else toCloud.push(event);
      }
    }
    if (used > 0) this.inflightPerNode.set(node, used);
    const { metrics } = this.deps;
    if (duplicates > 0) metrics.events.inc({ result: 'duplicate' }, duplicates);
    if (expired > 0) metrics.events.inc({ result: 'expired' }, expired);
    if (ackNow.length > 0) reply.ack(ackNow);
    if (refused.length > 0) this.refuse(node, refused, limit, reply);
    for (const { event, involved } of toKube) this.writeKubeEvent(node, event, involved);
    if (toCloud.length > 0) void this.deliverToCloud(node, toCloud);
  }

  private refuse(node: string, ids: string[], limit: number, reply: NodeReply): void {
    this.deps.metrics.events.inc({ result: 'refused' }, ids.length);
    reply.error(ErrorCode.Unavailable, `node ${node} has ${limit} events in flight at the hub (the limit); ${ids.length} refused and not acked: send them again once earlier ones are acked`, 'event');
    // One line per node per minute: a flood must not become a log flood.
    const now = Date.now();
    if (now - (this.refusalLogged.get(node) ?? 0) < REFUSAL_LOG_INTERVAL_MS) return;
    this.refusalLogged.set(node, now);
    this.deps.logger.warn({ node, refused: ids.length, limit }, 'node has too many events in flight; refusing more until earlier ones are done');
  }

  /** The node's events are done: ack them everywhere they were sent, or forget them so a resend is handled. */
  private settle(node: string, ids: readonly string[], ok: boolean): void {
    const acks = new Map<NodeReply, string[]>();
    let done = 0;
    for (const id of ids) {
      const key = inflightKey(node, id);
      const replies = this.inflight.get(key);
      if (!replies) continue;
      this.inflight.delete(key);
      done += 1;
      if (!ok) {
        this.seen.forget(node, id);
        continue;
      }
      for (const reply of replies) {
        const list = acks.get(reply);
        if (list) list.push(id);
        else acks.set(reply, [id]);
      }
    }
    const left = this.inflightFor(node) - done;
    if (left > 0) this.inflightPerNode.set(node, left);
    else {
      this.inflightPerNode.delete(node);
      this.refusalLogged.delete(node);
    }
    for (const [reply, list] of acks) reply.ack(list);
  }

  private involvedObject(node: string, event: EdgeEvent): InvolvedObject | undefined {
    const key = event.object ?? (event.source === 'node' || event.source === 'agent' ? formatKey('Node', '', node) : undefined);
    if (!key) return undefined;
    const { kind, namespace, name } = parseKey(key);
    if (kind !== 'Pod' && kind !== 'Node') return undefined;
    // Only the node's own objects: a node cannot write events onto another node's Pods.
    if (kind === 'Node' && name !== node) return undefined;
    if (kind === 'Pod') {
      const placement = this.deps.fleet.placementOf(key);
      return placement?.node === node ? { kind, namespace, name, uid: placement.uid } : undefined;
    }
    const stored = this.deps.fleet.get(key);
    const uid = stored ? ((JSON.parse(stored.json) as { metadata?: { uid?: string } }).metadata?.uid ?? '') : '';
    return { kind, namespace, name, uid };
  }

  private writeKubeEvent(node: string, event: EdgeEvent, involved: InvolvedObject): void {
    // Events of cluster-scoped objects live in "default", as the kubelet's Node events do.
    const namespace = involved.namespace || 'default';
    const name = `${involved.name}.edge-${createHash('sha256').update(inflightKey(node, event.id)).digest('hex').slice(0, 16)}`;
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
    this.deps.writes.submit({
      key: `Event/${namespace}/${name}`,
      kind: 'Event',
      node,
      lane: 'bulk',
      run: async () => {
        try {
          await this.deps.client.create(paths.events(namespace), body);
        } catch (err) {
          // Created before (a redelivery, perhaps to a restarted hub): the sink has it once.
          if (!isConflict(err)) throw err;
        }
      },
      settled: (result) => {
        this.deps.metrics.events.inc({ result: result === 'ok' ? 'kubernetes' : 'failed' });
        this.settle(node, [event.id], result === 'ok');
      },
    });
  }

  private async deliverToCloud(node: string, events: EdgeEvent[]): Promise<void> {
    const { logger, metrics } = this.deps;
    const cloudSink = this.deps.cloudSink();
    const ids = events.map((event) => event.id);
    try {
      if (cloudSink) await cloudSink.deliver(node, events);
      else for (const event of events) logger.info({ node, event }, 'edge event');
      metrics.events.inc({ result: cloudSink?.name ?? 'log' }, events.length);
      this.settle(node, ids, true);
    } catch (err) {
      // Not acked: the agent keeps them and sends them again.
      this.settle(node, ids, false);
      metrics.events.inc({ result: 'failed' }, events.length);
      logger.warn({ node, events: events.length, err: (err as Error).message }, 'cloud event sink failed; the node will resend');
    }
  }
}

function inflightKey(node: string, id: string): string {
  return `${node}\n${id}`;
}
