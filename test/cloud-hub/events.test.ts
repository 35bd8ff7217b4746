/** Forwarded edge events on the hub: Kubernetes Events for Pods and Nodes, a webhook for the rest, each once. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeEvent, JsonObject } from '../../protocol/index.js';
import { startHub, metricValue, type HubHandle } from '../helpers/hub.js';
import { TestNode } from '../helpers/protocol-client.js';
import { waitFor } from '../helpers/wait.js';

let hub: HubHandle;
let webhook: http.Server;
const received: { node: string; events: EdgeEvent[] }[] = [];
let failNext = 0;
let token = '';
let tokenF = '';

const event = (id: string, extra: Partial<EdgeEvent>): EdgeEvent => ({ id, ts: Date.now(), source: 'pod', type: 'Warning', reason: 'BackOff', priority: 7, ...extra });

beforeAll(async () => {
  webhook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (failNext > 0) {
        failNext -= 1;
        res.writeHead(503).end();
        return;
      }
      received.push(JSON.parse(body) as { node: string; events: EdgeEvent[] });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', () => resolve()));
  hub = await startHub({ args: ['--event-webhook', `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/events`] });
  await hub.client.create('/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'crashy', namespace: 'default' },
    spec: { nodeName: 'edge-e', containers: [{ name: 'c', image: 'x', command: ['false'] }] },
  });
  await hub.client.create('/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'not-mine', namespace: 'default' },
    spec: { nodeName: 'edge-other', containers: [{ name: 'c', image: 'x', command: ['true'] }] },
  });
  token = await hub.tokens.create('edge-e');
  tokenF = await hub.tokens.create('edge-f');
});

afterAll(async () => {
  await hub?.stop();
  await new Promise<void>((resolve) => webhook.close(() => resolve()));
});

async function connected(name = 'edge-e'): Promise<TestNode> {
  const node = await TestNode.connect(hub.ws, name, { token: name === 'edge-f' ? tokenF : token });
  node.hello([]);
  await node.waitForFrame((f) => f.t === 'synced');
  return node;
}

const acked = (node: TestNode, id: string) => node.frames.some((f) => f.t === 'ack' && (f.ids ?? []).includes(id));

describe('edge events on the hub', () => {
  it('become Kubernetes Events on the node\'s own Pod and Node, once however often they arrive', async () => {
    const node = await connected();
    const podEvent = event('ev-pod-1', { object: 'Pod/default/crashy', message: 'back-off restarting failed container', count: 3 });
    const nodeEvent = event('ev-node-1', { source: 'node', reason: 'DiskPressure', message: 'free space below 10%' });
    node.send({ v: 1, t: 'event', events: [podEvent, nodeEvent] });
    node.send({ v: 1, t: 'event', events: [podEvent] });
    await node.waitUntil(() => acked(node, 'ev-pod-1') && acked(node, 'ev-node-1'), 10_000, 'acks');
    const events = await waitFor(async () => {
      const list = await hub.client.get<{ items: JsonObject[] }>('/api/v1/namespaces/default/events');
      return list.items.length >= 2 ? list.items : undefined;
    });
    const onPod = events.filter((e) => (e.involvedObject as JsonObject).name === 'crashy');
    expect(onPod).toHaveLength(1);
    expect(onPod[0]).toMatchObject({ reason: 'BackOff', type: 'Warning', count: 3, message: 'back-off restarting failed container', source: { component: 'edge-agent', host: 'edge-e' } });
    expect(events.find((e) => (e.involvedObject as JsonObject).kind === 'Node')).toMatchObject({ reason: 'DiskPressure', involvedObject: { name: 'edge-e' } });
    expect(await metricValue(hub.metrics, 'edge_hub_events_total', { result: 'duplicate' })).toBeGreaterThanOrEqual(1);
    node.close();
  });

  it('never writes events onto another node\'s Pod: they go to the cloud sink as plain events', async () => {
    const node = await connected();
    node.send({ v: 1, t: 'event', events: [event('ev-foreign', { object: 'Pod/default/not-mine' })] });
    await node.waitUntil(() => acked(node, 'ev-foreign'), 10_000, 'ack');
    const list = await hub.client.get<{ items: JsonObject[] }>('/api/v1/namespaces/default/events');
    expect(list.items.some((e) => (e.involvedObject as JsonObject).name === 'not-mine')).toBe(false);
    expect(received.flatMap((r) => r.events.map((e) => e.id))).toContain('ev-foreign');
    node.close();
  });

  it('posts bus events to the webhook, and acks only what the webhook took', async () => {
    const node = await connected();
    failNext = 1;
    const reading = event('ev-bus-1', { source: 'bus', type: 'reading', reason: 'temperature', topic: 'sensors/t1', payload: { value: 21.5 } });
    node.send({ v: 1, t: 'event', events: [reading] });
    // The webhook failed: no ack, so the agent would resend.
    await waitFor(async () => (await metricValue(hub.metrics, 'edge_hub_events_total', { result: 'failed' })) >= 1, { what: 'failed delivery counted' });
    expect(acked(node, 'ev-bus-1')).toBe(false);
    node.send({ v: 1, t: 'event', events: [reading] });
    await node.waitUntil(() => acked(node, 'ev-bus-1'), 10_000, 'ack after redelivery');
    expect(received.filter((r) => r.events.some((e) => e.id === 'ev-bus-1'))).toHaveLength(1);
    expect(received.find((r) => r.events.some((e) => e.id === 'ev-bus-1'))!.node).toBe('edge-e');
    node.close();
  });

  it('de-duplicates per node: two nodes sending the same event id both get their events', async () => {
    const [e, f] = [await connected('edge-e'), await connected('edge-f')];
    for (const node of [e, f]) {
      node.send({
        v: 1,
        t: 'event',
        events: [
          event('shared-id', { source: 'node', reason: 'DiskPressure', message: `disk full on ${node.node}` }),
          event('shared-bus-id', { source: 'bus', type: 'reading', reason: 'level', topic: 'tank/1', payload: { node: node.node } }),
        ],
      });
      await node.waitUntil(() => acked(node, 'shared-id') && acked(node, 'shared-bus-id'), 10_000, 'acks');
    }
    const onNodes = await waitFor(async () => {
      const list = await hub.client.get<{ items: JsonObject[] }>('/api/v1/namespaces/default/events');
      const found = list.items.filter((item) => item.reason === 'DiskPressure' && String(item.message).startsWith('disk full on'));
      return found.length >= 2 ? found : undefined;
    });
    expect(onNodes.map((item) => [(item.involvedObject as JsonObject).name, item.message]).sort()).toEqual([
      ['edge-e', 'disk full on edge-e'],
      ['edge-f', 'disk full on edge-f'],
    ]);
    const bus = received.filter((r) => r.events.some((ev) => ev.id === 'shared-bus-id'));
    expect(bus.map((r) => r.node).sort()).toEqual(['edge-e', 'edge-f']);
    // A node's own redelivery is still a duplicate.
    f.send({ v: 1, t: 'event', events: [event('shared-bus-id', { source: 'bus', type: 'reading', reason: 'level' })] });
    await waitFor(() => f.frames.filter((fr) => fr.t === 'ack' && (fr.ids ?? []).includes('shared-bus-id')).length >= 2, { what: 'the redelivery acked' });
    expect(received.filter((r) => r.events.some((ev) => ev.id === 'shared-bus-id'))).toHaveLength(2);
    e.close();
    f.close();
  });

  it('drops expired events, counting them', async () => {
    const node = await connected();
    node.send({ v: 1, t: 'event', events: [event('ev-old', { source: 'bus', type: 'reading', reason: 'x', expires: Date.now() - 1000 })] });
    await node.waitUntil(() => acked(node, 'ev-old'), 10_000, 'ack');
    expect(received.some((r) => r.events.some((e) => e.id === 'ev-old'))).toBe(false);
    expect(await metricValue(hub.metrics, 'edge_hub_events_total', { result: 'expired' })).toBeGreaterThanOrEqual(1);
    node.close();
  });
});
