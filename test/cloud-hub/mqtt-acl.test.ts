/**
 * Broker credentials and topic rules, on mosquitto (password file and ACL written by
 * `cloud-hub token mosquitto-auth`) and on the embedded aedes broker (its hooks): a node uses
 * only its own topics.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_DIGEST, decode, encode, type CloudFrame } from '../../protocol/index.js';
import { TestCluster } from '../helpers/cluster.js';
import { metricValue } from '../helpers/hub.js';
import { MOSQUITTO, Mosquitto, freePort } from '../helpers/mosquitto.js';
import { requireTool } from '../helpers/system-tools.js';
import { waitFor } from '../helpers/wait.js';

const hello = (node: string) =>
  encode({ v: 1, t: 'hello', node, agent: 'acl-test', caps: [], info: { arch: 'amd64', os: 'linux', capacity: {}, labels: {} }, digest: EMPTY_DIGEST, have: [], sid: `sid-${node}` });

function connect(url: string, username: string, password: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { clientId: `acl-${username}-${Math.random()}`, username, password, reconnectPeriod: 0, protocolVersion: 4 });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

/** Resolves when the broker acked the publish or dropped the connection over it. */
function publishOrDisconnect(client: MqttClient, topic: string, payload: string): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve();
    client.once('close', () => resolve());
    client.publish(topic, payload, { qos: 1 }, () => resolve());
  });
}

const BROKERS = [
  {
    name: 'mosquitto',
    setup: async (cluster: TestCluster) => {
      requireTool(MOSQUITTO, 'mosquitto');
      const mosquitto = await new Mosquitto(cluster.dir.path, cluster.kubeconfig).start();
      return { url: mosquitto.url, hubArgs: mosquitto.hubArgs(), stop: () => mosquitto.stop() };
    },
  },
  {
    name: 'embedded aedes',
    setup: async () => {
      const port = await freePort();
      return { url: `mqtt://127.0.0.1:${port}`, hubArgs: ['--embedded-broker', `127.0.0.1:${port}`], stop: async () => undefined };
    },
  },
];

describe.each(BROKERS)('node credentials and topics on $name', (broker) => {
  let cluster: TestCluster;
  let url: string;
  let stopBroker: () => Promise<unknown>;
  const tokens = new Map<string, string>();
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    cluster = await new TestCluster().start();
    for (const node of ['edge-a', 'edge-b']) tokens.set(node, await cluster.tokens.create(node));
    const setup = await broker.setup(cluster);
    url = setup.url;
    stopBroker = setup.stop;
    await cluster.stopHub();
    await cluster.startHub(setup.hubArgs);
  });

  afterAll(async () => {
    for (const client of clients) client.end(true);
    await cluster.close();
    await stopBroker();
  });

  it('refuses a wrong token and another node\'s token', async () => {
    await expect(connect(url, 'edge-a', 'wrong')).rejects.toThrow(/Bad username or password|Not authorized/i);
    await expect(connect(url, 'edge-a', tokens.get('edge-b')!)).rejects.toThrow(/Bad username or password|Not authorized/i);
    const ok = await connect(url, 'edge-a', tokens.get('edge-a')!);
    clients.push(ok);
    expect(ok.connected).toBe(true);
  });

  it('never delivers another node\'s frames to a node, and delivers its own', async () => {
    // edge-a tries to listen in on edge-b (the broker refuses the subscription or never delivers on it).
    const spy = await connect(url, 'edge-a', tokens.get('edge-a')!);
    clients.push(spy);
    const overheard: string[] = [];
    spy.on('message', (topic) => overheard.push(topic));
    await spy.subscribeAsync({ 'edge/v1/edge-b/down': { qos: 1 }, 'edge/v1/+/down': { qos: 1 } }).catch(() => undefined);
    // edge-b talks to the hub on its own topics and gets answered.
    const b = await connect(url, 'edge-b', tokens.get('edge-b')!);
    clients.push(b);
    const frames: CloudFrame[] = [];
    b.on('message', (_topic, payload) => frames.push(decode(payload) as CloudFrame));
    await b.subscribeAsync('edge/v1/edge-b/down', { qos: 1 });
    await b.publishAsync('edge/v1/edge-b/up', hello('edge-b'), { qos: 1 });
    await waitFor(() => frames.some((frame) => frame.t === 'synced'), { what: 'edge-b synced' });
    expect(frames[0]).toMatchObject({ t: 'welcome', sid: 'sid-edge-b' });
    expect(overheard).toEqual([]);
  });

  it('drops what a node publishes on another node\'s topics', async () => {
    const hellosBefore = await metricValue(cluster.hubMetrics, 'edge_hub_frames_total', { type: 'hello', direction: 'in' });
    // Pretending to be edge-b, and writing to edge-b's down topic: the broker drops both (or disconnects the client).
    const attacker = await connect(url, 'edge-a', tokens.get('edge-a')!);
    clients.push(attacker);
    await publishOrDisconnect(attacker, 'edge/v1/edge-b/up', hello('edge-b'));
    await publishOrDisconnect(attacker, 'edge/v1/edge-b/down', encode({ v: 1, t: 'synced', seq: 0, digest: 'x', n: 0 }));
    // Then edge-a's own hello on a fresh connection; the broker processed the attempts before it.
    const own = await connect(url, 'edge-a', tokens.get('edge-a')!);
    clients.push(own);
    const frames: CloudFrame[] = [];
    own.on('message', (_topic, payload) => frames.push(decode(payload) as CloudFrame));
    await own.subscribeAsync('edge/v1/edge-a/down', { qos: 1 });
    await own.publishAsync('edge/v1/edge-a/up', hello('edge-a'), { qos: 1 });
    await waitFor(() => frames.some((frame) => frame.t === 'synced'), { what: 'edge-a synced over its own topics' });
    expect(frames.filter((frame) => frame.t === 'synced')).toHaveLength(1);
    expect(await metricValue(cluster.hubMetrics, 'edge_hub_frames_total', { type: 'hello', direction: 'in' })).toBe(hellosBefore + 1);
  });
});
