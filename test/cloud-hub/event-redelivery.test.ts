/**
 * A priority event resent while the hub is still writing its first copy (the API was down, the
 * node reconnected) must not be acked before the Kubernetes Event exists: the node would drop
 * its copy, and a hub killed before its retried write got through would lose the event. Found
 * by `edge-sim --scenario chaos` (an API restart, a link cut and a hub kill in a row).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type EdgeEvent } from '../../protocol/index.js';
import { TestCluster } from '../helpers/cluster.js';
import { metricValue } from '../helpers/hub.js';
import { BIN, startProcess } from '../helpers/process.js';
import { TestNode } from '../helpers/protocol-client.js';
import { waitFor } from '../helpers/wait.js';

const NODE = 'edge-redeliver';
let cluster: TestCluster;
let token = '';

beforeAll(async () => {
  cluster = await new TestCluster().start();
  token = await cluster.tokens.create(NODE);
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

async function connected(): Promise<TestNode> {
  // The hub learns a new token from its Secret informer: refused (401) until then.
  const node = await waitFor(() => TestNode.connect(cluster.hubUrl, NODE, { token }), { what: 'the hub to accept the token' });
  node.hello([]);
  await node.waitForFrame((frame) => frame.t === 'synced', 30_000, 'synced');
  return node;
}

const acked = (node: TestNode, id: string): boolean => node.of('ack').some((frame) => (frame.ids ?? []).includes(id));

async function eventsFor(id: string): Promise<number> {
  const list = await cluster.client.get<{ items?: { message?: string }[] }>('/api/v1/namespaces/default/events');
  return (list.items ?? []).filter((item) => item.message === `redelivery ${id}`).length;
}

describe('an event resent while its first copy is being written', () => {
  it('is acked only once the Kubernetes Event exists, so a hub killed meanwhile loses nothing', async () => {
    const apiPort = Number(new URL(String(cluster.api.logs.find((line) => line.msg === 'ready')!.api)).port);
    const event: EdgeEvent = { id: 'redeliver-1', ts: Date.now(), source: 'node', type: 'Warning', reason: 'DiskPressure', message: 'redelivery redeliver-1', priority: 8 };
    const first = await connected();
    // The API goes away: the hub's write of the event fails and is retried with backoff.
    await cluster.api.kill();
    first.send({ v: PROTOCOL_VERSION, t: 'event', events: [event] });
    await cluster.hub!.waitForLog((line) => line.msg === 'API write failed' && line.node === NODE && String(line.key).startsWith('Event/'), 30_000, 'the failed Event write');
    // The node reconnects and sends it again, as its upstream pump does with everything unacked.
    first.close();
    const second = await connected();
    second.send({ v: PROTOCOL_VERSION, t: 'event', events: [event] });
    await waitFor(async () => (await metricValue(cluster.hubMetrics, 'edge_hub_events_total', { result: 'duplicate' })) >= 1, { what: 'the hub to see the resend' });
    // The hub dies before its write got through. The API was down all along, so no Event
    // exists: an ack to either connection would have told the node to drop its only copy.
    await cluster.stopHub(true);
    expect(acked(first, event.id) || acked(second, event.id)).toBe(false);
    second.close();
    cluster.api = await startProcess(BIN.cloudHub, ['apiserver', '--data', cluster.apiDir, '--listen', `127.0.0.1:${apiPort}`]);
    expect(await eventsFor(event.id)).toBe(0);
    await cluster.startHub();
    // The node still holds it and sends it to the restarted hub, which writes it once.
    const third = await connected();
    third.send({ v: PROTOCOL_VERSION, t: 'event', events: [event] });
    await third.waitUntil(() => acked(third, event.id), 30_000, 'the ack from the restarted hub');
    expect(await eventsFor(event.id)).toBe(1);
    third.close();
  }, 120_000);
});
