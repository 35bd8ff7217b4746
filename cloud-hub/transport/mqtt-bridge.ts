/**
 * The hub's side of the MQTT transport: one broker connection for the whole replica. Frames a
 * node publishes on `edge/v1/<node>/up` go to that node's session (a session is created on
 * its first frame; its hello starts the resync), frames for the node go out on its `down`
 * topic, and a retained `offline` on its presence topic (its last will) ends the session.
 * Like the WebSocket server it moves bytes and knows no frame types.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { PRESENCE_OFFLINE, PRESENCE_ONLINE, allNodesFilter, nodeTopic, parseNodeTopic } from '../../protocol/index.js';
import type { Connection, ConnectionHandler } from './connection.js';

export interface MqttBridgeOptions {
  brokerUrl: string;
  username?: string;
  password?: string;
  clientId: string;
  logger: Logger;
  accept: (node: string, connection: Connection) => ConnectionHandler;
  /** Whether this replica serves `node` (shard ownership); others' frames are ignored. */
  owns?: (node: string) => boolean;
  /** Whether `node` still has a valid token (the broker authenticated it when it connected). */
  authorized?: (node: string) => boolean;
  protocolVersion?: 4 | 5;
  ca?: Buffer;
}

export class MqttBridge {
  private client?: MqttClient;
  private readonly handlers = new Map<string, ConnectionHandler>();
  /** Nodes whose retained presence is online, for handing sessions over between replicas. */
  private readonly online = new Set<string>();

  constructor(private readonly options: MqttBridgeOptions) {}

  get sessions(): number {
    return this.handlers.size;
  }

  onlineNodes(): IterableIterator<string> {
    return this.online.values();
  }

  async start(): Promise<void> {
    const { brokerUrl, clientId, username, password, logger } = this.options;
    const options: IClientOptions = {
      clientId,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 1_000,
      protocolVersion: this.options.protocolVersion ?? 4,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(this.options.ca ? { ca: this.options.ca } : {}),
    };
    const client = mqtt.connect(brokerUrl, options);
    this.client = client;
    client.on('message', (topic, payload) => this.route(topic, payload));
    client.on('error', (err) => logger.warn({ err: err.message }, 'broker connection error'));
    client.on('offline', () => logger.warn('broker connection lost; reconnecting'));
    client.on('connect', () => {
      logger.info({ broker: brokerUrl }, 'connected to the MQTT broker');
      // A clean session: subscribe on every connect. Sessions survive a broker blip; agents
      // that lost theirs get an E_STATE answer and say hello again.
      client.subscribe({ [allNodesFilter('up')]: { qos: 1 }, [allNodesFilter('presence')]: { qos: 1 } }, (err) => {
        if (err) logger.error({ err: err.message }, 'broker refused the hub\'s subscriptions');
      });
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
  }

  /** Ends the sessions of nodes this replica no longer serves (shards moved away). */
  release(stillOwned: (node: string) => boolean): void {
    for (const [node, handler] of [...this.handlers]) {
      if (stillOwned(node)) continue;
      this.handlers.delete(node);
      handler.closed();
    }
  }

  /** Publishes with QoS 1 and resolves once the broker has it. */
  async publish(topic: string, payload: string): Promise<void> {
    if (!this.client) throw new Error('not connected to the broker');
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  /** Asks a node to say hello again (its session moved to this replica). */
  nudge(node: string, text: string): void {
    this.client?.publish(nodeTopic(node, 'down'), text, { qos: 1 });
  }

  async close(): Promise<void> {
    for (const handler of this.handlers.values()) handler.closed();
    this.handlers.clear();
    await this.client?.endAsync();
  }

  private route(topic: string, payload: Buffer): void {
    const parsed = parseNodeTopic(topic);
    if (!parsed) return;
    const { node, channel } = parsed;
    if (channel === 'presence') {
      const state = payload.toString('utf8');
      if (state === PRESENCE_ONLINE) this.online.add(node);
      if (state === PRESENCE_OFFLINE) {
        this.online.delete(node);
        const handler = this.handlers.get(node);
        this.handlers.delete(node);
        handler?.closed();
      }
      return;
    }
    if (channel !== 'up') return;
    if (this.options.owns && !this.options.owns(node)) return;
    if (this.options.authorized && !this.options.authorized(node)) {
      this.options.logger.warn({ node }, 'frame from a node without a token; ignored');
      return;
    }
    this.online.add(node);
    let handler = this.handlers.get(node);
    if (!handler) {
      const connection: Connection = {
        description: `mqtt ${node}`,
        send: (text) => this.client?.publish(nodeTopic(node, 'down'), text, { qos: 1 }),
        close: () => {
          if (this.handlers.get(node) === handler) this.handlers.delete(node);
        },
      };
      handler = this.options.accept(node, connection);
      this.handlers.set(node, handler);
    }
    handler.receive(payload);
  }
}
