/**
 * Broker identity and topic rules, on mosquitto (configured, with password files and ACLs, by
 * `cloud-hub token mosquitto-auth`) and on the embedded aedes broker (its hooks), with a real
 * hub serving both. A node is only ever itself: whatever client id, subscription, publish,
 * retained message, packet size or number of connections it tries, it reaches nothing but its
 * own topics, cannot disconnect another node or the hub, and every attack is followed by proof
 * that the legitimate nodes and the hub still work.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import { decode, encode, type CloudFrame } from '../../protocol/index.js';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../cloud-hub/replicas/shard-ownership.js';
import { TestCluster } from '../helpers/cluster.js';
import { metricValue } from '../helpers/hub.js';
import { MOSQUITTO, Mosquitto, freePort } from '../helpers/mosquitto.js';
import { NodeLink, connect, hello, publishOrDisconnect } from '../helpers/mqtt-node.js';
import { BIN, run } from '../helpers/process.js';
import { requireTool } from '../helpers/system-tools.js';
import { waitFor } from '../helpers/wait.js';

const SHARDS = 16;
const FRAME_LIMIT = 4 * 1024 * 1024;

interface BrokerSetup {
  url: string;
  hubArgs: string[];
  mosquitto?: Mosquitto;
  stop: () => Promise<unknown>;
}

const BROKERS = [
  {
    name: 'mosquitto',
    setup: async (cluster: TestCluster): Promise<BrokerSetup> => {
      requireTool(MOSQUITTO, 'mosquitto');
      const mosquitto = await new Mosquitto(cluster.dir.path, cluster.kubeconfig).start();
      return { url: mosquitto.url, hubArgs: [...mosquitto.hubArgs(), '--shards', String(SHARDS)], mosquitto, stop: () => mosquitto.stop() };
    },
  },
  {
    name: 'embedded aedes',
    setup: async (): Promise<BrokerSetup> => {
      const port = await freePort();
      return { url: `mqtt://127.0.0.1:${port}`, hubArgs: ['--embedded-broker', `127.0.0.1:${port}`], stop: async () => undefined };
    },
  },
];

describe.each(BROKERS)('node identity and topics on $name', (broker) => {
  let cluster: TestCluster;
  let setup: BrokerSetup;
  let url: string;
  const tokens = new Map<string, string>();
  const links: NodeLink[] = [];
  const clients: MqttClient[] = [];
  /** edge-b's one legitimate connection, open through every attack. */
  let edgeB: NodeLink;

  const open = async (node: string, options: IClientOptions = {}): Promise<NodeLink> => {
    const link = await NodeLink.open(url, node, tokens.get(node)!, options);
    links.push(link);
    return link;
  };
  const attacker = async (options: IClientOptions = {}): Promise<MqttClient> => {
    const client = await connect(url, 'edge-a', tokens.get('edge-a')!, options);
    clients.push(client);
    return client;
  };
  const hellos = () => metricValue(cluster.hubMetrics, 'edge_hub_frames_total', { type: 'hello', direction: 'in' });
  const hubLog = (msg: string) => cluster.hub!.logs.filter((line) => line.msg === msg);

  /** The hub kept its one broker connection, edge-b its own, and both nodes are still served. */
  async function legitimateNodesAndHubStillWork(): Promise<void> {
    await edgeB.sync();
    const edgeA = await open('edge-a');
    await edgeA.sync();
    edgeA.end();
    expect(edgeB.closes).toBe(0);
    expect(edgeB.received.every((message) => message.topic === 'edge/v1/edge-b/down')).toBe(true);
    expect(hubLog('connected to the MQTT broker')).toHaveLength(1);
    expect(hubLog('broker connection lost; reconnecting')).toEqual([]);
  }

  beforeAll(async () => {
    cluster = await new TestCluster().start();
    for (const node of ['edge-a', 'edge-b', 'edge-c']) tokens.set(node, await cluster.tokens.create(node));
    setup = await broker.setup(cluster);
    url = setup.url;
    await cluster.stopHub();
    await cluster.startHub(setup.hubArgs);
    // The hub knows the tokens once its informers have listed (before, the embedded broker answers 'Server unavailable').
    await cluster.hub!.waitForLog((line) => line.msg === 'ready', 20_000, 'informers synced (ready)');
    if (setup.mosquitto) {
      // The condition the hellos need: this replica owns the shards of the test's nodes.
      const needed = ['edge-a', 'edge-b', 'edge-c'].map((node) => shardOf(node, SHARDS));
      await cluster.hub!.waitForLog((line) => line.msg === 'shard ownership changed' && needed.every((shard) => (line.owned as number[]).includes(shard)), 20_000, 'shards of the test nodes owned');
    }
    // The client id the agent uses: an impostor choosing it must not replace this connection.
    edgeB = await open('edge-b', { clientId: 'edge-edge-b', clean: false });
    await edgeB.sync();
  });

  afterAll(async () => {
    for (const link of links) link.end();
    for (const client of clients) client.end(true);
    await cluster.close();
    await setup?.stop();
  });

  it('refuses a wrong token, another node\'s token, no credentials and the hub\'s user with a node\'s token', async () => {
    const refused = /Bad username or password|Not authorized/i;
    await expect(connect(url, 'edge-a', 'wrong')).rejects.toThrow(refused);
    await expect(connect(url, 'edge-a', tokens.get('edge-b')!)).rejects.toThrow(refused);
    await expect(connect(url, undefined, undefined)).rejects.toThrow(refused);
    await expect(connect(url, '_cloud-hub', tokens.get('edge-a')!)).rejects.toThrow(refused);
    await legitimateNodesAndHubStillWork();
  });

  it('a node connecting twice with one client id keeps working as itself, and only as itself', async () => {
    const first = await open('edge-a', { clientId: 'edge-edge-a', clean: false });
    const second = await open('edge-a', { clientId: 'edge-edge-a', clean: false });
    // The second connection replaced the first (its disconnect must not change who the second is).
    await waitFor(() => first.closes > 0, { what: 'the first connection replaced' });
    await second.sync();
    // Still edge-a, never the hub: no other node's frames, no other node's topics.
    const overheard = second.received.length;
    await second.client.subscribeAsync({ 'edge/v1/+/down': { qos: 1 }, 'edge/v1/+/up': { qos: 1 }, '#': { qos: 1 } }).catch(() => undefined);
    await edgeB.sync();
    expect(second.received.slice(overheard).filter((message) => message.topic !== 'edge/v1/edge-a/down')).toEqual([]);
    const before = await hellos();
    expect(await publishOrDisconnect(second.client, 'edge/v1/edge-b/up', hello('edge-b', 'forged-after-takeover'))).toMatch(/acked|closed/);
    await legitimateNodesAndHubStillWork();
    // The forged hello never reached the hub: only the two legitimate ones did.
    expect(await hellos()).toBe(before + 2);
    expect(edgeB.received.some((message) => message.text.includes('forged-after-takeover'))).toBe(false);
  });

  it('a node using another node\'s client id neither replaces it nor receives its frames', async () => {
    const from = edgeB.received.length;
    for (const clientId of ['edge-edge-b', 'edge-b']) {
      const impostor = await attacker({ clientId });
      const overheard: string[] = [];
      impostor.on('message', (topic) => overheard.push(topic));
      await impostor.subscribeAsync('edge/v1/edge-b/down', { qos: 1 }).catch(() => undefined);
      await edgeB.sync();
      expect(overheard).toEqual([]);
    }
    expect(edgeB.received.length).toBeGreaterThan(from);
    await legitimateNodesAndHubStillWork();
  });

  it('a node using the hub\'s client id does not disconnect the hub', async () => {
    const hubClientId = hubLog('connected to the MQTT broker')[0]!.clientId as string;
    const hubId = (edgeB.received.map((message) => decode(message.text) as CloudFrame).find((frame) => frame.t === 'welcome') as { hub: string }).hub;
    expect(hubClientId).toContain(hubId);
    for (const clientId of [hubClientId, `cloud-hub-${hubId}`, '_cloud-hub']) {
      const impostor = await attacker({ clientId });
      await edgeB.sync();
      impostor.end(true);
    }
    await legitimateNodesAndHubStillWork();
  });

  it('a node never receives what is not on its own down topic, whatever it subscribes to', async () => {
    const spy = await attacker();
    const overheard: string[] = [];
    spy.on('message', (topic) => overheard.push(topic));
    const filters = ['edge/v1/+/down', '#', 'edge/v1/edge-b/down', 'edge/v1/edge-b/#', 'edge/v1/+/up', 'edge/v1/+/presence', '+/+/+/+', '$SYS/#'];
    const granted = await spy.subscribeAsync(Object.fromEntries(filters.map((filter) => [filter, { qos: 1 as const }]))).then(
      (grants) => grants.map((grant) => grant.qos as number),
      (err: { packet?: { granted?: number[] } }) => err.packet?.granted ?? [],
    );
    // aedes refuses each filter in the SUBACK; mosquitto 2.0 grants them and checks every delivery against the ACL.
    expect(granted).toEqual(filters.map(() => (setup.mosquitto ? 1 : 128)));
    await edgeB.sync();
    const edgeC = await open('edge-c');
    await edgeC.sync();
    edgeC.end();
    expect(overheard).toEqual([]);
    await legitimateNodesAndHubStillWork();
  });

  it('a node cannot publish on another node\'s topics: no forged hello, sync or presence', async () => {
    const before = await hellos();
    const forged: [string, string][] = [
      ['edge/v1/edge-b/up', hello('edge-b', 'forged-hello')],
      ['edge/v1/edge-b/down', encode({ v: 1, t: 'sync', seq: 1, ops: [{ op: 'put', obj: { marker: 'forged-sync' } }] } as never)],
      ['edge/v1/edge-b/presence', 'offline'],
      ['edge/v1/edge-b/events', 'forged-event'],
      ['edge/v1/edge-a/down', 'forged-own-down'],
    ];
    for (const [topic, payload] of forged) await publishOrDisconnect(await attacker(), topic, payload);
    // edge-b's session survived the forged offline: its next hello starts that session over.
    const startedOver = () => hubLog('hello on an open session: starting over').filter((line) => line.node === 'edge-b').length;
    const startsBefore = startedOver();
    await legitimateNodesAndHubStillWork();
    expect(startedOver()).toBe(startsBefore + 1);
    expect(await hellos()).toBe(before + 2);
    expect(edgeB.received.filter((message) => /forged/.test(message.text))).toEqual([]);
  });

  it('an oversize packet disconnects its sender and nothing else', async () => {
    const sender = await attacker();
    const before = await hellos();
    const outcome = await publishOrDisconnect(sender, 'edge/v1/edge-a/up', Buffer.alloc(FRAME_LIMIT + 100 * 1024, 0x20));
    await waitFor(() => !sender.connected, { what: 'the oversize sender disconnected' });
    expect(outcome).toBe('closed');
    await legitimateNodesAndHubStillWork();
    expect(await hellos()).toBe(before + 2);
  });

  it('many connections with one token leave one connection for that node', async () => {
    const attempts = await Promise.allSettled(Array.from({ length: 20 }, () => attacker({ clientId: `many-${Math.random()}` })));
    const opened = attempts.flatMap((attempt) => (attempt.status === 'fulfilled' ? [attempt.value] : []));
    expect(opened.length).toBeGreaterThanOrEqual(1);
    await waitFor(() => opened.filter((client) => client.connected).length === 1, { what: 'one connection of edge-a left' });
    await legitimateNodesAndHubStillWork();
    expect(await metricValue(cluster.hubMetrics, 'edge_hub_connected_nodes')).toBeLessThanOrEqual(3);
  });

  it('a node whose token is revoked gets no session', async () => {
    const edgeC = await open('edge-c');
    await edgeC.sync();
    await cluster.tokens.revoke('edge-c');
    if (setup.mosquitto) {
      // mosquitto keeps the connection until its password file is rewritten; the hub ignores the node at once.
      const ignoredBefore = hubLog('frame from a node without a token; ignored').length;
      await waitFor(
        async () => {
          await edgeC.client.publishAsync('edge/v1/edge-c/up', hello('edge-c', `revoked-${Math.random()}`), { qos: 1 });
          return hubLog('frame from a node without a token; ignored').length > ignoredBefore;
        },
        { what: 'the hub ignoring edge-c' },
      );
    } else {
      await waitFor(() => edgeC.closes > 0, { what: 'edge-c disconnected by the broker' });
      await expect(connect(url, 'edge-c', tokens.get('edge-c')!)).rejects.toThrow(/Bad username or password/i);
    }
    expect(edgeC.received.some((message) => message.text.includes('revoked-'))).toBe(false);
    await legitimateNodesAndHubStillWork();
  });

  it('keeps no retained message on node topics but presence', async () => {
    const before = await hellos();
    const node = await attacker();
    expect(await publishOrDisconnect(node, 'edge/v1/edge-a/presence', 'online', true)).toBe('acked');
    if (setup.mosquitto) {
      const mosquitto = setup.mosquitto;
      // mosquitto cannot refuse a retained message per topic: it keeps it (within max_packet_size)
      // and the hub deletes what is not presence: garbage presence at once, an `up` message when
      // it is next delivered as retained (the hub reconnecting after a broker restart).
      await publishOrDisconnect(await attacker(), 'edge/v1/edge-a/presence', Buffer.alloc(64 * 1024, 0x41), true);
      await cluster.hub!.waitForLog((line) => line.msg === 'presence that is neither online nor offline; deleted', 10_000, 'garbage presence deleted');
      await publishOrDisconnect(await attacker(), 'edge/v1/edge-a/up', hello('edge-a', 'retained-hello'), true);
      await mosquitto.restart();
      await cluster.hub!.waitForLog((line) => line.msg === 'retained message on a node\'s up topic: not a frame; deleted', 20_000, 'retained up deleted');
      const observer = await connect(mosquitto.hubUrl, mosquitto.hubUser, mosquitto.hubPassword);
      clients.push(observer);
      const seen: { topic: string; text: string; retain: boolean }[] = [];
      observer.on('message', (topic, payload, packet) => seen.push({ topic, text: payload.toString(), retain: packet.retain }));
      await observer.subscribeAsync({ 'edge/v1/edge-a/up': { qos: 1 }, 'edge/v1/edge-a/presence': { qos: 1 } });
      // Retained messages come right after the SUBACK; this probe comes after them.
      await observer.subscribeAsync('edge/v1/edge-a/events', { qos: 1 });
      await observer.publishAsync('edge/v1/edge-a/events', 'probe', { qos: 1 });
      await waitFor(() => seen.some((message) => message.text === 'probe'), { what: 'the probe' });
      expect(seen.filter((message) => message.retain && message.topic === 'edge/v1/edge-a/up')).toEqual([]);
      expect(seen.filter((message) => message.retain && message.topic === 'edge/v1/edge-a/presence').every((message) => ['online', 'offline'].includes(message.text))).toBe(true);
      // The broker restart cut every connection; edge-b's link comes back as the agent's would.
      edgeB.end();
      edgeB = await open('edge-b', { clientId: 'edge-edge-b', clean: false });
      await waitFor(() => hubLog('connected to the MQTT broker').length === 2, { what: 'the hub reconnected' });
      await edgeB.sync();
      const edgeA = await open('edge-a');
      await edgeA.sync();
      // The retained hello was a frame once, when it was published live, and never again.
      expect(await hellos()).toBe(before + 3);
    } else {
      expect(await publishOrDisconnect(await attacker(), 'edge/v1/edge-a/up', hello('edge-a', 'retained-hello'), true)).toBe('closed');
      expect(await publishOrDisconnect(await attacker(), 'edge/v1/edge-a/presence', Buffer.alloc(64 * 1024, 0x41), true)).toBe('closed');
      await legitimateNodesAndHubStillWork();
      expect(await hellos()).toBe(before + 2);
    }
  });
});

describe('the files `token mosquitto-auth` writes', () => {
  let cluster: TestCluster;
  let mosquitto: Mosquitto | undefined;
  const asRoot = process.getuid?.() === 0;

  beforeAll(async () => {
    cluster = await new TestCluster().start();
  });

  afterAll(async () => {
    await mosquitto?.stop();
    await cluster.close();
  });

  it(`are read by the broker's user: ${asRoot ? 'mosquitto started as root drops to "mosquitto" and reads what --owner mosquitto gave it' : 'the test user\'s own files'}`, async () => {
    const token = await cluster.tokens.create('edge-owner');
    mosquitto = await new Mosquitto(cluster.dir.path, cluster.kubeconfig, { asMosquittoUser: asRoot }).start();
    const brokerUid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${mosquitto.pid}/status`, 'utf8'))![1]);
    expect(brokerUid === 0).toBe(false);
    for (const name of ['passwd', 'hub.passwd']) {
      const stat = statSync(path.join(mosquitto.authDir, name));
      expect((stat.mode & 0o777).toString(8)).toBe('640');
      expect(stat.uid).toBe(brokerUid);
    }
    // Both password files were read: a node logs in on its listener, the hub on its own.
    const node = await connect(mosquitto.url, 'edge-owner', token);
    const hub = await connect(mosquitto.hubUrl, mosquitto.hubUser, mosquitto.hubPassword);
    expect(node.connected && hub.connected).toBe(true);
    node.end(true);
    hub.end(true);
  });

  it('names an unknown owner', async () => {
    const hubPasswordFile = path.join(cluster.dir.path, 'owner-test-hub-password');
    writeFileSync(hubPasswordFile, 'secret\n', { mode: 0o600 });
    const result = await run(process.execPath, [BIN.cloudHub, 'token', 'mosquitto-auth', '--kubeconfig', cluster.kubeconfig, '--dir', path.join(cluster.dir.path, 'unused'), '--hub-password-file', hubPasswordFile, '--owner', 'no-such-user-here']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--owner: no user named "no-such-user-here" in /etc/passwd');
  });
});

describe('the embedded broker before the hub has loaded the tokens', () => {
  it('asks a node to come back (Server unavailable) instead of calling its token wrong', async () => {
    const cluster = await new TestCluster().start();
    try {
      const token = await cluster.tokens.create('edge-early');
      await cluster.stopHub();
      // No API server: the informers cannot list, so the hub cannot know any token.
      await cluster.api.stop();
      const port = await freePort();
      await cluster.startHub(['--embedded-broker', `127.0.0.1:${port}`], { untilListening: true });
      await expect(connect(`mqtt://127.0.0.1:${port}`, 'edge-early', token)).rejects.toThrow(/Server unavailable/i);
      await expect(connect(`mqtt://127.0.0.1:${port}`, 'edge-early', 'wrong')).rejects.toThrow(/Server unavailable/i);
    } finally {
      await cluster.close();
    }
  });
});
