/**
 * The hub's side of the MQTT transport: one broker connection for the whole replica. Frames a
 * node publishes on `edge/v1/<node>/up` go to that node's session (a session is created on
 * its first frame; its hello starts the resync), frames for the node go out on its `down`
 * topic, and a retained `offline` on its presence topic (its last will) ends the session.
 * Like the WebSocket server it moves bytes and knows no frame types.
 *
 * Only nodes with a valid token get a session or a place in the replica's memory. A retained
 * `up` message is never a frame (it is a node's old publish, delivered again to every hub that
 * subscribes) and presence is only `online`/`offline`: the bridge deletes anything else it
 * finds retained on node topics, since a broker such as mosquitto cannot refuse it per topic.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { PRESENCE_ONLINE, allNodesFilter, nodeTopic, parseNodeTopic } from '../../protocol/index.js';
import { isPresencePayload } from '../auth/broker-acl.js';
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
  /**
   * Nodes with a token that are online (presence, or a frame seen, also one for a shard this
   * replica does not own yet), so a replica that gains their shard can ask them to say hello.
   */
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
    client.on('message', (topic, payload, packet) => this.route(topic, payload, packet.retain));
    client.on('error', (err) => logger.warn({ err: err.message }, 'broker connection error'));
    client.on('offline', () => logger.warn('broker connection lost; reconnecting'));
    const subscribed = new Promise<void>((resolve, reject) => {
      client.once('error', reject);
      client.on('connect', () => {
        logger.info({ broker: brokerUrl, clientId }, 'connected to the MQTT broker');
        // A clean session: subscribe on every connect. Sessions survive a broker blip; agents
        // that lost theirs get an E_HELLO answer and say hello again. The replica is started
        // once the broker has acknowledged the subscriptions: a hello published before that
        // would reach no hub.
        client.subscribe({ [allNodesFilter('up')]: { qos: 1 }, [allNodesFilter('presence')]: { qos: 1 } }, (err, granted) => {
          const refused = granted?.filter((grant) => grant.qos === 128).map((grant) => grant.topic) ?? [];
          if (!err && refused.length === 0) return resolve();
          const message = err ? err.message : `refused ${refused.join(', ')}`;
          logger.error({ err: message }, 'broker refused the hub\'s subscriptions');
          reject(new Error(`the broker refused the hub's subscriptions (${message}): check the hub user's ACL`));
        });
      });
    });
    await subscribed;
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

  /** Forgets a node whose token was revoked. */
  forget(node: string): void {
    this.online.delete(node);
    const handler = this.handlers.get(node);
    this.handlers.delete(node);
    handler?.closed();
  }

  async close(): Promise<void> {
    for (const handler of this.handlers.values()) handler.closed();
    this.handlers.clear();
    await this.client?.endAsync();
  }

  private route(topic: string, payload: Buffer, retained: boolean): void {
    const parsed = parseNodeTopic(topic);
    // Empty: a retained message being deleted (by this bridge among others); nothing to route.
    if (!parsed || payload.length === 0) return;
    const { node, channel } = parsed;
    const { logger } = this.options;
    if (channel === 'presence') {
      if (!isPresencePayload(payload)) {
        logger.warn({ node, bytes: payload.length }, 'presence that is neither online nor offline; deleted');
        this.clearRetained(topic);
        return;
      }
      if (!this.authorized(node)) return;
      if (payload.toString('utf8') === PRESENCE_ONLINE) this.online.add(node);
      else this.forget(node);
      return;
    }
    if (channel !== 'up') return;
    if (retained) {
      logger.warn({ node, bytes: payload.length }, 'retained message on a node\'s up topic: not a frame; deleted');
      this.clearRetained(topic);
      return;
    }
    if (!this.authorized(node)) {
      logger.warn({ node }, 'frame from a node without a token; ignored');
      return;
    }
    this.online.add(node);
    if (this.options.owns && !this.options.owns(node)) return;
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

  private authorized(node: string): boolean {
    return this.options.authorized ? this.options.authorized(node) : true;
  }

  /** Deletes the retained message on `topic` (an empty retained publish). */
  private clearRetained(topic: string): void {
    this.client?.publish(topic, '', { qos: 1, retain: true });
  }
}
