/** Cloud destinations for edge events that are not about a Kubernetes object. */
import type { EdgeEvent } from '../../protocol/index.js';
import { nodeTopic } from '../../protocol/index.js';
import type { CloudEventSink } from './event-forwarder.js';

/** Publishes each event, as JSON, to `edge/v1/<node>/events` (QoS 1, acked by the broker). */
export class MqttEventSink implements CloudEventSink {
  readonly name = 'mqtt';

  constructor(private readonly publish: (topic: string, payload: string) => Promise<void>) {}

  async deliver(node: string, events: readonly EdgeEvent[]): Promise<void> {
    const topic = nodeTopic(node, 'events');
    await Promise.all(events.map((event) => this.publish(topic, JSON.stringify({ node, ...event }))));
  }
}

/** POSTs `{node, events}` to a URL; anything but 2xx is a failure and the node resends later. */
export class WebhookEventSink implements CloudEventSink {
  readonly name = 'webhook';

  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async deliver(node: string, events: readonly EdgeEvent[]): Promise<void> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ node, events }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!response.ok) throw new Error(`webhook answered ${response.status}`);
  }
}
