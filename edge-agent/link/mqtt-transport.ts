/**
 * The MQTT transport: frames travel through a broker on the node's topics (protocol/topics.ts),
 * QoS 1 both ways. The client id is stable and the session persistent, so what the hub sends
 * while the link is down is queued by the broker; presence is retained `online` with a last
 * will of `offline`, which tells the hub the node is gone. Only MQTT 3.1.1 is required; MQTT 5
 * is used when the broker speaks it, for session and message expiry.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import { PRESENCE_OFFLINE, PRESENCE_ONLINE, nodeTopics, type NodeTopics } from '../../protocol/index.js';
import { LinkRefusedError, currentToken, describeConnectError, tokenRefused, type LinkConnection, type LinkEvents, type LinkTransport, type TokenOption } from './transport.js';

export interface MqttTransportOptions {
  /** `mqtt://host:port` or `mqtts://host:port`. */
  brokerUrl: string;
  node: string;
  /** The node's token, presented as the MQTT password (username = node name); a source is read anew after a refusal. */
  token?: TokenOption;
  /** CA certificate(s) that sign the broker's certificate (mqtts:// with a private CA); replaces the system's CAs. */
  ca?: Buffer;
  /** 5, 4 (3.1.1) or auto: try 5 and fall back to 3.1.1 for brokers without it (aedes). */
  protocolVersion?: 4 | 5 | 'auto';
  keepaliveSeconds?: number;
  /** How long the broker keeps the session of a disconnected node (MQTT 5). */
  sessionExpirySeconds?: number;
  /** How long a queued frame stays worth delivering (MQTT 5). */
  messageExpirySeconds?: number;
  connectTimeoutMs?: number;
}

/** CONNACK codes meaning "this broker does not speak that protocol version" (3.1.1: 1, MQTT 5: 0x84). */
const UNSUPPORTED_VERSION = new Set([1, 0x84]);
/** CONNACK codes meaning the credentials were refused (3.1.1: 4, 5; MQTT 5: 0x86, 0x87). */
const NOT_AUTHORIZED = new Set([4, 5, 0x86, 0x87]);

export class MqttTransport implements LinkTransport {
  readonly description: string;
  /** A hello published while no hub subscribes (a hub restarting behind the broker) is gone. */
  readonly helloRetryMs = 5_000;
  private readonly topics: NodeTopics;
  private version: 4 | 5 | undefined;

  constructor(private readonly options: MqttTransportOptions) {
    this.topics = nodeTopics(options.node);
    const url = new URL(options.brokerUrl);
    this.description = `${url.protocol}//${url.host} (${this.topics.up})`;
    this.version = options.protocolVersion === 'auto' || options.protocolVersion === undefined ? undefined : options.protocolVersion;
  }

  async connect(events: LinkEvents): Promise<LinkConnection> {
    const version = this.version ?? 5;
    try {
      const connection = await this.connectWith(version, events);
      this.version = version;
      return connection;
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (this.version === undefined && version === 5 && (code === undefined || UNSUPPORTED_VERSION.has(code)) && !(err instanceof LinkRefusedError)) {
        // The broker has no MQTT 5 (or hung up on it): 3.1.1 from now on.
        this.version = 4;
        return this.connectWith(4, events);
      }
      throw err;
    }
  }

  private async connectWith(version: 4 | 5, events: LinkEvents): Promise<LinkConnection> {
    // Loaded on first use: MQTT.js costs an agent that talks WebSocket about 20 MB of RSS.
    const { default: mqtt } = await import('mqtt');
    const { node } = this.options;
    const token = currentToken(this.options.token);
    const v5 = version === 5;
    const options: IClientOptions = {
      clientId: `edge-${node}`,
      protocolVersion: version,
      clean: false,
      keepalive: this.options.keepaliveSeconds ?? 30,
      reconnectPeriod: 0,
      connectTimeout: this.options.connectTimeoutMs ?? 10_000,
      username: node,
      ...(token ? { password: token } : {}),
      ...(this.options.ca ? { ca: this.options.ca } : {}),
      will: { topic: this.topics.presence, payload: Buffer.from(PRESENCE_OFFLINE), qos: 1, retain: true },
      ...(v5 ? { properties: { sessionExpiryInterval: this.options.sessionExpirySeconds ?? 7 * 24 * 3600 } } : {}),
    };
    const publishOptions = { qos: 1 as const, ...(v5 ? { properties: { messageExpiryInterval: this.options.messageExpirySeconds ?? 3600 } } : {}) };
    return new Promise((resolve, reject) => {
      const client: MqttClient = mqtt.connect(this.options.brokerUrl, options);
      let open = false;
      let ended = false;
      const end = (reason: string): void => {
        if (ended) return;
        ended = true;
        client.end(true);
        if (open) events.closed(reason);
      };
      client.on('message', (topic, payload) => {
        if (topic === this.topics.down) events.message(payload);
      });
      client.on('error', (err) => {
        const code = (err as { code?: number }).code;
        if (!open) {
          client.end(true);
          if (code !== undefined && NOT_AUTHORIZED.has(code)) {
            // Read the token file again before the next attempt: it may have been rotated.
            tokenRefused(this.options.token);
            reject(new LinkRefusedError(`broker refused node ${node}: ${err.message}`, code));
          } else {
            reject(Object.assign(describeConnectError(err, this.options.brokerUrl), { code }));
          }
          return;
        }
        end(`broker error: ${err.message}`);
      });
      client.on('close', () => {
        if (!open) reject(Object.assign(new Error('broker closed the connection before it was accepted'), { code: undefined }));
        end('connection to the broker closed');
      });
      client.once('connect', () => {
        client.subscribe(this.topics.down, { qos: 1 }, (err, granted) => {
          if (err || granted?.some((grant) => grant.qos === 128)) {
            client.end(true);
            reject(new LinkRefusedError(`broker refused the subscription to ${this.topics.down}${err ? `: ${err.message}` : ''}`));
            return;
          }
          client.publish(this.topics.presence, PRESENCE_ONLINE, { qos: 1, retain: true });
          open = true;
          resolve({
            send: (text) => {
              client.publish(this.topics.up, text, publishOptions);
            },
            close: (reason) => {
              // A clean goodbye: the hub sees offline now rather than after the keepalive runs out.
              client.publish(this.topics.presence, PRESENCE_OFFLINE, { qos: 1, retain: true }, () => end(reason));
            },
            // The broker's keepalive watches the link; the hub's silence is normal over MQTT.
            expectTrafficWithin: () => undefined,
          });
        });
      });
    });
  }
}
