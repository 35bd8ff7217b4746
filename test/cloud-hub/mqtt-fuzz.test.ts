/**
 * Fuzz of the hub's MQTT and plain-HTTP entry points (fast-check, a bounded number of runs): a
 * node with a valid token publishes random payloads (bytes, JSON, frame-like objects of every
 * type) on its own topics, strangers send random bytes to the broker's port, and random requests
 * hit the hub's metrics and health endpoint. Afterwards the hub process is alive and serves a
 * good node over MQTT and over WebSocket. (The WebSocket endpoint and the agent's entry points
 * have their own fuzz tests: ws-hardening, edge-agent/link/fuzz, edge-agent/local-api/fuzz.)
 */
import fc from 'fast-check';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { NodeLink, connect } from '../helpers/mqtt-node.js';
import { TestNode } from '../helpers/protocol-client.js';
import { rawRequest } from '../helpers/raw-http.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);

const frameType = fc.constantFrom('hello', 'ack', 'need', 'status', 'event', 'heartbeat', 'error', 'sync', 'welcome', 'synced', 'nope');
const frameLike = fc.record(
  {
    v: fc.oneof(fc.constant(1), fc.integer(), fc.string()),
    t: frameType,
    node: fc.oneof(fc.constant('edge-fuzz'), fc.constant('edge-good'), fc.string({ maxLength: 300 })),
    seq: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.string()),
    ids: fc.array(fc.string({ maxLength: 200 }), { maxLength: 20 }),
    keys: fc.array(fc.string({ maxLength: 200 }), { maxLength: 20 }),
    events: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 20 }),
    pods: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 20 }),
    have: fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 20 }),
    info: fc.jsonValue({ maxDepth: 3 }),
    ts: fc.oneof(fc.integer(), fc.double(), fc.string()),
  },
  { requiredKeys: ['v', 't'] },
);
const payload = fc.oneof(
  frameLike.map((frame) => JSON.stringify(frame)),
  fc.json({ maxDepth: 4 }),
  fc.string({ maxLength: 400 }),
  fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
  // Deep nesting, which a recursive decoder would overflow on.
  fc.integer({ min: 1_000, max: 20_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
);
const ownTopic = fc.oneof(
  fc.constant('edge/v1/edge-fuzz/up'),
  fc.constant('edge/v1/edge-fuzz/presence'),
  fc.constant('edge/v1/edge-fuzz/events'),
  fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/[#+\u0000]/.test(s)).map((suffix) => `edge/v1/edge-fuzz/${suffix}`),
);

describe('the hub under random MQTT payloads, broker bytes and HTTP requests', () => {
  let cluster: TestCluster;
  let brokerUrl: string;
  let brokerPort: number;
  const tokens = new Map<string, string>();

  beforeAll(async () => {
    cluster = await new TestCluster().start();
    for (const node of ['edge-fuzz', 'edge-good']) tokens.set(node, await cluster.tokens.create(node));
    await cluster.stopHub();
    // Port 0: a port picked beforehand can be taken by another process before the hub binds it.
    await cluster.startHub(['--embedded-broker', '127.0.0.1:0'], { freshPort: true });
    brokerUrl = cluster.hubMqtt!;
    brokerPort = Number(new URL(brokerUrl).port);
  });

  afterAll(async () => {
    await cluster?.close();
  });

  async function hubServesGoodNodes(): Promise<void> {
    expect(cluster.hub!.running).toBe(true);
    const link = await NodeLink.open(brokerUrl, 'edge-good', tokens.get('edge-good')!);
    await link.sync();
    link.end();
    const node = await TestNode.connect(cluster.hubUrl, 'edge-good', { token: tokens.get('edge-good')! });
    node.hello();
    await node.waitForFrame((frame) => frame.t === 'synced', 20_000, 'edge-good synced over WebSocket');
    node.close();
  }

  it('survives random payloads a node publishes on its own topics, and still serves good nodes', async () => {
    const samples = fc.sample(fc.tuple(ownTopic, payload, fc.boolean(), fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1>), { numRuns: RUNS, seed: 1416 });
    let client = await connect(brokerUrl, 'edge-fuzz', tokens.get('edge-fuzz')!);
    let reconnects = 0;
    for (const [topic, body, retain, qos] of samples) {
      // The broker may cut a node over what it sent (a retained frame, say); the node comes back.
      if (!client.connected) {
        client.end(true);
        client = await connect(brokerUrl, 'edge-fuzz', tokens.get('edge-fuzz')!);
        reconnects += 1;
      }
      // Acked, or the connection dropped over it (then the callback may never come).
      await new Promise<void>((resolve) => {
        const done = (): void => {
          client.off('close', done);
          resolve();
        };
        client.once('close', done);
        client.publish(topic, body, { qos, retain }, done);
      });
    }
    client.end(true);
    console.log(`mqtt fuzz: ${samples.length} publishes, ${reconnects} reconnects after the broker cut the node`);
    await hubServesGoodNodes();
  });

  it('survives random bytes on the broker port from strangers', async () => {
    const garbage = fc.sample(
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 600 }).map((bytes) => Buffer.from(bytes)),
        // A CONNECT header announcing a huge remaining length, then nothing.
        fc.constant(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f])),
        // PUBLISH before CONNECT.
        fc.constant(Buffer.from([0x30, 0x0a, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x68, 0x65, 0x6c, 0x6c, 0x6f])),
      ),
      { numRuns: 60, seed: 1417 },
    );
    await Promise.all(
      garbage.map(
        (bytes) =>
          new Promise<void>((resolve) => {
            const socket = net.connect(brokerPort, '127.0.0.1', () => socket.end(bytes));
            socket.on('error', () => resolve());
            socket.on('close', () => resolve());
            socket.setTimeout(15_000, () => socket.destroy());
          }),
      ),
    );
    await hubServesGoodNodes();
  });

  it('answers random requests to its metrics and health endpoint and stays up', async () => {
    const port = Number(new URL(cluster.hubMetrics).port);
    const token = fc.string({ minLength: 0, maxLength: 60 }).map((s) => s.replace(/[\r\n]/g, ''));
    const requests = fc.sample(
      fc.oneof(
        fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'BREW'), fc.oneof(token.map((s) => `/${s}`), fc.constantFrom('///', '//%', '//[', '/metrics?%', '/readyz/../../etc/passwd', '*'))).map(
          ([method, path]) => `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
        ),
        fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      ),
      { numRuns: 80, seed: 1418 },
    );
    for (const request of requests) {
      // Any answer, or a closed connection; never a dead process.
      await rawRequest(port, request, { timeoutMs: 15_000 }).catch(() => undefined);
    }
    const healthy = await fetch(`${cluster.hubMetrics}/readyz`);
    expect(healthy.status).toBe(200);
    await hubServesGoodNodes();
  });
});
