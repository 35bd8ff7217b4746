/**
 * One node's flood must not hurt the others: while a node sends 50,000 events, every other
 * node's Lease keeps renewing and no replica marks any of them NotReady; the flooding node is
 * bounded (refused with E_UNAVAILABLE, not acked) and other nodes' events still go through.
 * A node marked NotReady is Ready again as soon as its heartbeats resume, on the same connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeEvent, ErrorFrame, JsonObject } from '../../protocol/index.js';
import { metricValue, startHub, type HubHandle } from '../helpers/hub.js';
import { BIN, startProcess, type RunningProcess } from '../helpers/process.js';
import { TestNode } from '../helpers/protocol-client.js';
import { waitFor } from '../helpers/wait.js';

const GRACE_MS = 8_000;
const FLOOD = 50_000;
const PER_FRAME = 500;

let hub: HubHandle;
/** A second replica that serves no node: it judges liveness from the Leases alone. */
let observer: RunningProcess;
const tokens = new Map<string, string>();
const timers: NodeJS.Timeout[] = [];
const clients: TestNode[] = [];

beforeAll(async () => {
  // A low write budget makes the queue the bottleneck, as 50,000 events are on a real cluster.
  hub = await startHub({ args: ['--node-grace-period', String(GRACE_MS), '--api-qps', '100'] });
  observer = await startProcess(BIN.cloudHub, ['--kubeconfig', hub.kubeconfig, '--hub-id', 'observer', '--listen', '127.0.0.1:0', '--node-grace-period', String(GRACE_MS)]);
  for (const node of ['flood', 'steady-1', 'steady-2', 'steady-3', 'steady-4', 'steady-5', 'pausing', 'status-flood']) tokens.set(node, await hub.tokens.create(node));
});

afterAll(async () => {
  for (const timer of timers) clearInterval(timer);
  for (const client of clients) client.close();
  await observer?.stop();
  await hub?.stop();
});

async function connect(node: string): Promise<TestNode> {
  const client = await TestNode.connect(hub.ws, node, { token: tokens.get(node)! });
  clients.push(client);
  client.hello([]);
  await client.waitForFrame((f) => f.t === 'synced');
  return client;
}

/** Sends a heartbeat every second, as an agent told `hb: 1000` does; returns a stop function. */
function heartbeat(client: TestNode): () => void {
  const beat = () => client.send({ v: 1, t: 'heartbeat', ts: Date.now() });
  beat();
  const timer = setInterval(beat, 1_000);
  timers.push(timer);
  return () => clearInterval(timer);
}

interface NodeHealth {
  leaseAgeMs: number;
  ready: string | undefined;
}

async function health(node: string): Promise<NodeHealth> {
  const lease = await hub.client.get<{ spec?: { renewTime?: string } }>(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node}`);
  const object = await hub.client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`/api/v1/nodes/${node}`);
  return {
    leaseAgeMs: Date.now() - Date.parse(lease.spec?.renewTime ?? '1970-01-01T00:00:00Z'),
    ready: object.status?.conditions?.find((c) => c.type === 'Ready')?.status,
  };
}

const nodeEvent = (id: string): EdgeEvent => ({ id, ts: Date.now(), source: 'node', type: 'Warning', reason: 'Flood', message: 'x', priority: 1 });
const acked = (client: TestNode) => new Set(client.of('ack').flatMap((f) => f.ids ?? []));

describe('upstream fairness between nodes', () => {
  it('keeps every other node\'s Lease fresh and Ready while one node floods 50,000 events', async () => {
    const steady = await Promise.all(['steady-1', 'steady-2', 'steady-3', 'steady-4', 'steady-5'].map(connect));
    for (const client of steady) heartbeat(client);
    await waitFor(async () => (await Promise.all(steady.map((c) => health(c.node)))).every((h) => h.leaseAgeMs < GRACE_MS && h.ready === 'True'), { what: 'steady nodes Ready with fresh Leases' });

    const flood = await connect('flood');
    heartbeat(flood);
    for (let frame = 0; frame < FLOOD / PER_FRAME; frame++) {
      flood.send({ v: 1, t: 'event', events: Array.from({ length: PER_FRAME }, (_, i) => nodeEvent(`flood-${frame * PER_FRAME + i}`)) });
    }
    // The node is bounded: the hub refuses what is beyond its limit, without acking it.
    const refusal = (await flood.waitForFrame((f) => f.t === 'error' && f.code === 'E_UNAVAILABLE', 20_000, 'E_UNAVAILABLE')) as ErrorFrame;
    expect(refusal.ref).toBe('event');

    // Mid-flood, another node's event is written too: it waits one turn, not for the backlog.
    const handled = async () =>
      (await metricValue(hub.metrics, 'edge_hub_events_total', { result: 'kubernetes' })) +
      (await metricValue(hub.metrics, 'edge_hub_events_total', { result: 'refused' })) +
      (await metricValue(hub.metrics, 'edge_hub_events_total', { result: 'rate-limited' }));
    steady[0]!.send({ v: 1, t: 'event', events: [nodeEvent('steady-during-flood')] });
    await steady[0]!.waitUntil(() => acked(steady[0]!).has('steady-during-flood'), 30_000, 'the steady node\'s event acked');
    const floodAcked = acked(flood).size;
    expect(floodAcked).toBeLessThan(FLOOD / 10);

    // Until the flood is worked off, no steady node's Lease may be older than the grace period,
    // and neither replica may mark one NotReady.
    let worst = 0;
    let samples = 0;
    const notReady: string[] = [];
    await waitFor(
      async () => {
        for (const client of steady) {
          const h = await health(client.node);
          worst = Math.max(worst, h.leaseAgeMs);
          if (h.ready !== 'True') notReady.push(`${client.node}: ${h.ready}`);
        }
        samples += 1;
        return (await handled()) >= FLOOD;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'every flooded event written or refused' },
    );
    expect(samples).toBeGreaterThan(1);
    expect(notReady).toEqual([]);
    expect(worst).toBeLessThan(GRACE_MS);
    expect(observer.logs.filter((line) => line.msg === 'edge node stopped reporting; marking NotReady')).toEqual([]);
    expect(hub.proc.logs.filter((line) => line.msg === 'edge node stopped reporting; marking NotReady')).toEqual([]);

    // What was refused comes again and is taken: nothing is lost, only deferred.
    const refused = Array.from({ length: 20 }, (_, i) => `flood-${FLOOD - 1 - i}`).filter((id) => !acked(flood).has(id));
    expect(refused.length).toBeGreaterThan(0);
    flood.send({ v: 1, t: 'event', events: refused.map(nodeEvent) });
    await flood.waitUntil(() => refused.every((id) => acked(flood).has(id)), 60_000, 'the resent events acked');
    console.log(`flood: ${samples} samples, oldest steady Lease ${worst} ms (grace ${GRACE_MS} ms), ${floodAcked} flood events acked when the steady node's was`);
  }, 180_000);

  it('marks a node that stops heartbeating NotReady, and Ready again when its heartbeats resume on the same connection', async () => {
    const client = await connect('pausing');
    let stop = heartbeat(client);
    await waitFor(async () => (await health('pausing')).ready === 'True', { what: 'pausing Ready' });
    stop();
    const notReady = await waitFor(
      async () => {
        const object = await hub.client.get<{ status?: { conditions?: JsonObject[] } }>('/api/v1/nodes/pausing');
        const ready = object.status?.conditions?.find((c) => c.type === 'Ready');
        return ready?.status === 'Unknown' ? ready : undefined;
      },
      { timeoutMs: 4 * GRACE_MS, what: 'pausing marked NotReady' },
    );
    expect(notReady).toMatchObject({ reason: 'NodeStatusUnknown' });
    stop = heartbeat(client);
    await waitFor(async () => (await health('pausing')).ready === 'True', { timeoutMs: 2 * GRACE_MS, what: 'pausing Ready again' });
    stop();
    // Same connection, same session: no reconnect and no second hello were needed.
    expect(client.closeCode).toBeUndefined();
    expect(client.of('welcome')).toHaveLength(1);
  }, 60_000);

  it('bounds a flood of status reports: a Pod\'s status replaces itself in the queue and reports beyond the limit are refused', async () => {
    await hub.client.create('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'chatty', namespace: 'default' },
      spec: { nodeName: 'status-flood', containers: [{ name: 'c', image: 'x', command: ['true'] }] },
    });
    const client = await connect('status-flood');
    await client.waitUntil(() => client.cache.has('Pod/default/chatty'), 10_000, 'the Pod synced');
    const writesBefore = await metricValue(hub.metrics, 'edge_hub_api_writes_total', { kind: 'PodStatus' });
    const REPORTS = 2_000;
    for (let i = 0; i < REPORTS; i++) {
      client.send({ v: 1, t: 'status', id: `st-${i}`, pods: [{ ns: 'default', name: 'chatty', uid: '', status: { phase: 'Running', message: `report ${i}` } }] });
    }
    const answered = () => {
      const acks = new Set(client.of('ack').flatMap((f) => f.ids ?? []).filter((id) => id.startsWith('st-')));
      const refusals = client.of('error').filter((f) => f.ref === 'status' && f.code === 'E_UNAVAILABLE').length;
      return acks.size + refusals >= REPORTS ? { acks: acks.size, refusals } : undefined;
    };
    const { acks, refusals } = await client.waitUntil(answered, 60_000, 'every report acked or refused');
    expect(refusals).toBeGreaterThan(0);
    expect(acks).toBeGreaterThan(0);
    // Every accepted report is acked, but the queue wrote the Pod far fewer times than it was told.
    const writes = (await metricValue(hub.metrics, 'edge_hub_api_writes_total', { kind: 'PodStatus' })) - writesBefore;
    expect(writes).toBeLessThan(acks);
    // And the node is served again as soon as its reports are done.
    client.send({ v: 1, t: 'status', id: 'st-last', pods: [{ ns: 'default', name: 'chatty', uid: '', status: { phase: 'Running', message: 'last' } }] });
    await client.waitUntil(() => client.of('ack').some((f) => (f.ids ?? []).includes('st-last')), 20_000, 'the last report acked');
    const pod = await hub.client.get<{ status?: { message?: string } }>('/api/v1/namespaces/default/pods/chatty');
    expect(pod.status?.message).toBe('last');
    console.log(`status flood: ${REPORTS} reports, ${acks} acked, ${refusals} refused, ${writes} Pod status writes`);
  }, 90_000);
});
