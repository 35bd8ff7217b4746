/** A node on an MQTT broker for tests: connect with credentials, speak protocol v1 on its own topics. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { EMPTY_DIGEST, decode, encode, type CloudFrame } from '../../protocol/index.js';
import { waitFor } from './wait.js';

export const hello = (node: string, sid: string) =>
  encode({ v: 1, t: 'hello', node, agent: 'acl-test', caps: [], info: { arch: 'amd64', os: 'linux', capacity: {}, labels: {} }, digest: EMPTY_DIGEST, have: [], sid });

let sids = 0;

export function connect(url: string, username: string | undefined, password: string | undefined, options: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      clientId: `acl-${username}-${Math.random()}`,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      reconnectPeriod: 0,
      protocolVersion: 4,
      ...options,
    });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

/** Resolves when the broker acked the publish or dropped the connection over it. */
export function publishOrDisconnect(client: MqttClient, topic: string, payload: string | Buffer, retain = false): Promise<'acked' | 'closed'> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve('closed');
    client.once('close', () => resolve('closed'));
    client.publish(topic, payload, { qos: 1, retain }, (err) => resolve(err ? 'closed' : 'acked'));
  });
}

/** A node's connection that talks protocol on its own topics and records everything it receives. */
export class NodeLink {
  readonly received: { topic: string; text: string }[] = [];
  closes = 0;

  private constructor(readonly node: string, readonly client: MqttClient) {
    client.on('message', (topic, payload) => this.received.push({ topic, text: payload.toString('utf8') }));
    client.on('close', () => (this.closes += 1));
  }

  static async open(url: string, node: string, token: string, options: IClientOptions = {}): Promise<NodeLink> {
    const link = new NodeLink(node, await connect(url, node, token, options));
    await link.client.subscribeAsync(`edge/v1/${node}/down`, { qos: 1 });
    return link;
  }

  /** Says hello and waits for the hub's whole answer: welcome (with this hello's sid), then synced. */
  async sync(): Promise<void> {
    const sid = `sid-${this.node}-${++sids}`;
    const from = this.received.length;
    await this.client.publishAsync(`edge/v1/${this.node}/up`, hello(this.node, sid), { qos: 1 });
    await waitFor(
      () => {
        const frames = this.received.slice(from).map((message) => decode(message.text) as CloudFrame);
        const welcome = frames.findIndex((frame) => frame.t === 'welcome' && frame.sid === sid);
        return welcome >= 0 && frames.slice(welcome).some((frame) => frame.t === 'synced');
      },
      { what: `${this.node} synced (sid ${sid})` },
    );
  }

  end(): void {
    this.client.end(true);
  }
}

