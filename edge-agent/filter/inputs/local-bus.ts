/**
 * Messages that local applications and devices publish to the MQTT broker on the device
 * (`--local-mqtt URL`, subscribed to `--local-mqtt-topics`). Each message becomes a `bus`
 * candidate whose payload is the JSON it carried (or `{text}` when it was not JSON); the
 * filter decides what goes upstream.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { JsonValue } from '../../../protocol/index.js';
import type { NewCandidate } from '../upstream-events.js';

export interface LocalBusOptions {
  url: string;
  topics: readonly string[];
  node: string;
  offer: (candidate: NewCandidate) => void;
  logger: Logger;
}

export class LocalBus {
  private client?: MqttClient;

  constructor(private readonly options: LocalBusOptions) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async start(): Promise<void> {
    const { url, topics, node, logger } = this.options;
    // Loaded only when there is a local bus: MQTT.js costs about 20 MB of RSS.
    const { default: mqtt } = await import('mqtt');
    // The device's own broker: reconnect forever, quietly; it may start after the agent.
    const client = mqtt.connect(url, { clientId: `edge-agent-${node}-bus`, reconnectPeriod: 2_000, protocolVersion: 4, clean: true });
    this.client = client;
    client.on('connect', () => {
      logger.info({ url, topics }, 'listening on the local bus');
      client.subscribe(
        topics.map((topic) => topic),
        { qos: 1 },
        (err) => err && logger.error({ err: err.message }, 'local bus refused the subscription'),
      );
    });
    client.on('error', (err) => logger.warn({ err: err.message }, 'local bus error'));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
  }

  async stop(): Promise<void> {
    await this.client?.endAsync();
  }

  private onMessage(topic: string, payload: Buffer): void {
    const text = payload.toString('utf8');
    let value: JsonValue;
    try {
      value = JSON.parse(text) as JsonValue;
    } catch {
      value = { text };
    }
    const reason = (typeof value === 'object' && value !== null && !Array.isArray(value) && typeof value.reason === 'string' ? value.reason : topic.split('/').pop()) || 'message';
    this.options.offer({ source: 'bus', type: 'message', reason: reason.slice(0, 128), topic, payload: value });
  }
}
