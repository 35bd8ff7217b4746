/**
 * Several hub replicas sharing one fleet: over MQTT they split it into shards owned through
 * Leases and take a dead replica's shards over; over WebSocket any replica serves any node.
 */
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../protocol/index.js';
import { VirtualNode } from '../../sim/fleet/virtual-node.js';
import { TestCluster } from '../helpers/cluster.js';
import { metricValue } from '../helpers/hub.js';
import { MOSQUITTO, Mosquitto } from '../helpers/mosquitto.js';
import { requireTool } from '../helpers/system-tools.js';
import { BIN, startProcess, type RunningProcess } from '../helpers/process.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';

const NS = 'replicas';
const logger = pino({ level: 'silent' });
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function startReplica(cluster: TestCluster, id: string, args: string[]): Promise<RunningProcess & { metrics: string; ws: string }> {
  const proc = await startProcess(BIN.cloudHub, ['--kubeconfig', cluster.kubeconfig, '--hub-id', id, '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--heartbeat-interval', '1000', ...args]);
  cleanups.push(() => proc.stop());
  const ready = proc.logs.find((line) => line.msg === 'ready')!;
  return Object.assign(proc, { metrics: ready.metrics as string, ws: ready.ws as string });
}

const configValue = (node: VirtualNode): string | undefined => ((node.cache.get(`ConfigMap/${NS}/shared`)?.data as JsonObject | undefined)?.value as string | undefined);

async function fleetSetup(cluster: TestCluster, names: string[]): Promise<Map<string, string>> {
  await cluster.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await cluster.client.create(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared', namespace: NS }, data: { value: 'v0' } });
  const tokens = new Map<string, string>();
  for (const name of names) {
    tokens.set(name, await cluster.tokens.create(name));
    await cluster.client.create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `app-${name}`, namespace: NS },
      spec: { nodeName: name, containers: [{ name: 'app', image: 'x', command: ['sleep', '1'] }], volumes: [{ name: 'c', configMap: { name: 'shared' } }] },
    });
  }
  return tokens;
}

describe('MQTT: replicas own shards through Leases', () => {
  it('a killed replica\'s nodes move to the others and a change made during the failover reaches every node', async () => {
    const cluster = await new TestCluster().start();
    cleanups.push(() => cluster.close());
    const names = Array.from({ length: 10 }, (_, i) => `node-${i}`);
    const tokens = await fleetSetup(cluster, names);
    requireTool(MOSQUITTO, 'mosquitto');
    const mosquitto = await new Mosquitto(cluster.dir.path, cluster.kubeconfig).start();
    cleanups.push(() => mosquitto.stop());
    await cluster.stopHub();
    const leaseMs = 5_000;
    const args = [...mosquitto.hubArgs(), '--shards', '12', '--shard-lease-duration', String(leaseMs)];
    const replicas = await Promise.all(['hub-a', 'hub-b', 'hub-c'].map((id) => startReplica(cluster, id, args)));

    const nodes = names.map((name) => new VirtualNode({ name, hubUrl: mosquitto.url, token: tokens.get(name)!, logger }));
    cleanups.push(() => nodes.forEach((node) => node.stop()));
    for (const node of nodes) node.start();
    await waitFor(() => nodes.every((node) => node.inSync && configValue(node) === 'v0'), { timeoutMs: 30_000, what: 'every node in sync' });
    // Every node has exactly one session, spread over the replicas once they have balanced their
    // shares (replicas starting together first see only themselves, then shed to each other).
    const counts = await waitFor(
      async () => {
        const now = await Promise.all(replicas.map((replica) => metricValue(replica.metrics, 'edge_hub_connected_nodes')));
        return now.reduce((a, b) => a + b, 0) === names.length && now.filter((count) => count > 0).length >= 2 && nodes.every((node) => node.inSync) ? now : undefined;
      },
      { timeoutMs: 30_000, what: 'nodes spread over the replicas' },
    );

    const victim = replicas[counts.indexOf(Math.max(...counts))]!;
    const survivors = replicas.filter((replica) => replica !== victim);
    const resyncsBefore = nodes.map((node) => node.counters.resyncs);
    await victim.kill();
    await cluster.client.mergePatch(`/api/v1/namespaces/${NS}/configmaps/shared`, { data: { value: 'during-failover' } });
    await waitFor(() => nodes.every((node) => configValue(node) === 'during-failover'), { timeoutMs: leaseMs + 20_000, what: 'the change on every node' });
    await waitFor(async () => (await Promise.all(survivors.map((r) => metricValue(r.metrics, 'edge_hub_connected_nodes')))).reduce((a, b) => a + b, 0) === names.length, {
      timeoutMs: 20_000,
      what: 'all nodes served by the survivors',
    });
    // The moved nodes resynced by digest, a new hello each, and no resync ever disagreed.
    const moved = nodes.filter((node, i) => node.counters.resyncs > resyncsBefore[i]!);
    expect(moved.length).toBeGreaterThanOrEqual(Math.max(...counts));
    expect(nodes.every((node) => node.counters.mismatches === 0)).toBe(true);

    // A broker restart mid-stream: everything reconnects and converges.
    let n = 0;
    let streaming = true;
    const writer = (async () => {
      while (streaming) await cluster.client.mergePatch(`/api/v1/namespaces/${NS}/configmaps/shared`, { data: { value: `stream-${++n}` } });
    })();
    await waitFor(() => n >= 5, { what: 'stream started' });
    await mosquitto.restart();
    await waitFor(() => n >= 15, { what: 'stream after the restart' });
    streaming = false;
    await writer;
    await waitFor(() => nodes.every((node) => configValue(node) === `stream-${n}` && node.inSync), { timeoutMs: 30_000, what: `every node at stream-${n}` });
  }, 120_000);
});

interface ShardLease {
  metadata: { name: string };
  spec: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number };
}

async function shardLeases(cluster: TestCluster): Promise<ShardLease[]> {
  const list = await cluster.client.get<{ items: ShardLease[] }>('/apis/coordination.k8s.io/v1/namespaces/edge-system/leases');
  return list.items.filter((lease) => lease.metadata.name.startsWith('edge-hub-shard-'));
}

describe('MQTT: a replica keeps its shards across a restart and hands them over when it stops', () => {
  it('restarted after kill -9 under the same --hub-id it renews its unexpired Leases at once; stopped cleanly it empties them for the next replica', async () => {
    const cluster = await new TestCluster().start();
    cleanups.push(() => cluster.close());
    const names = Array.from({ length: 4 }, (_, i) => `restart-${i}`);
    const tokens = await fleetSetup(cluster, names);
    const mosquitto = await new Mosquitto(cluster.dir.path, cluster.kubeconfig).start();
    cleanups.push(() => mosquitto.stop());
    await cluster.stopHub();
    // Leases far longer than the test: anything that waited for them to expire would time out.
    const leaseMs = 300_000;
    const args = [...mosquitto.hubArgs(), '--shards', '4', '--shard-lease-duration', String(leaseMs)];
    const first = await startReplica(cluster, 'hub-a', args);
    const nodes = names.map((name) => new VirtualNode({ name, hubUrl: mosquitto.url, token: tokens.get(name)!, logger }));
    cleanups.push(() => nodes.forEach((node) => node.stop()));
    for (const node of nodes) node.start();
    await waitFor(() => nodes.every((node) => node.inSync && configValue(node) === 'v0'), { timeoutMs: 30_000, what: 'every node in sync through hub-a' });
    const held = await shardLeases(cluster);
    expect(held.map((lease) => lease.spec.holderIdentity)).toEqual(['hub-a', 'hub-a', 'hub-a', 'hub-a']);

    await first.kill();
    await cluster.client.mergePatch(`/api/v1/namespaces/${NS}/configmaps/shared`, { data: { value: 'after-crash' } });
    const again = await startReplica(cluster, 'hub-a', args);
    // Serving as soon as it says ready: the Leases it held are its own, renewed, not waited out.
    const renewed = await shardLeases(cluster);
    expect(renewed.map((lease) => lease.spec.holderIdentity)).toEqual(['hub-a', 'hub-a', 'hub-a', 'hub-a']);
    for (const lease of renewed) {
      const before = held.find((old) => old.metadata.name === lease.metadata.name)!;
      expect(Date.parse(lease.spec.renewTime!)).toBeGreaterThan(Date.parse(before.spec.renewTime!));
      // The old Lease was still valid when it was taken back.
      expect(Date.parse(before.spec.renewTime!) + leaseMs).toBeGreaterThan(Date.now());
    }
    expect(again.logs.find((line) => line.msg === 'shard ownership changed')?.owned).toEqual([0, 1, 2, 3]);
    await waitFor(() => nodes.every((node) => configValue(node) === 'after-crash' && node.inSync), { timeoutMs: 40_000, what: 'every node in sync through the restarted hub-a' });

    // A clean stop empties its Leases, so another replica takes every shard at once.
    await again.stop();
    expect((await shardLeases(cluster)).map((lease) => lease.spec.holderIdentity ?? '')).toEqual(['', '', '', '']);
    await cluster.client.mergePatch(`/api/v1/namespaces/${NS}/configmaps/shared`, { data: { value: 'after-handover' } });
    const next = await startReplica(cluster, 'hub-b', args);
    expect(next.logs.find((line) => line.msg === 'shard ownership changed')?.owned).toEqual([0, 1, 2, 3]);
    await waitFor(() => nodes.every((node) => configValue(node) === 'after-handover' && node.inSync), { timeoutMs: 40_000, what: 'every node in sync through hub-b' });
    expect(nodes.every((node) => node.counters.mismatches === 0)).toBe(true);
  }, 120_000);
});

describe('WebSocket: any replica serves any node', () => {
  it('a node moved to another replica behind a load balancer stays in sync, Ready, with its Lease renewed', async () => {
    const cluster = await new TestCluster().start();
    cleanups.push(() => cluster.close());
    const tokens = await fleetSetup(cluster, ['roamer']);
    await cluster.stopHub();
    const a = await startReplica(cluster, 'hub-a', []);
    const b = await startReplica(cluster, 'hub-b', []);
    const proxy = await new TcpProxy(Number(new URL(a.ws.replace('ws:', 'http:')).port)).start();
    cleanups.push(() => proxy.close());
    const node = new VirtualNode({ name: 'roamer', hubUrl: `ws://127.0.0.1:${proxy.port}`, token: tokens.get('roamer')!, logger });
    cleanups.push(() => node.stop());
    node.start();
    await waitFor(() => node.inSync && configValue(node) === 'v0', { what: 'roamer in sync through hub-a' });
    expect(await metricValue(a.metrics, 'edge_hub_connected_nodes')).toBe(1);
    const leasePath = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/roamer';
    await waitFor(() => cluster.client.get<JsonObject>(leasePath), { what: 'the Lease hub-a created' });

    await a.kill();
    proxy.target = Number(new URL(b.ws.replace('ws:', 'http:')).port);
    await cluster.client.mergePatch(`/api/v1/namespaces/${NS}/configmaps/shared`, { data: { value: 'via-b' } });
    await waitFor(() => node.inSync && configValue(node) === 'via-b', { timeoutMs: 40_000, what: 'roamer in sync through hub-b' });
    expect(await metricValue(b.metrics, 'edge_hub_connected_nodes')).toBe(1);

    // Upstream writes keep working through hub-b.
    const renewedBefore = Date.parse(((await cluster.client.get<JsonObject>(leasePath)).spec as JsonObject).renewTime as string);
    await waitFor(async () => Date.parse(((await cluster.client.get<JsonObject>(leasePath)).spec as JsonObject).renewTime as string) > renewedBefore, { timeoutMs: 15_000, what: 'lease renewed by hub-b' });
    const nodeObject = await cluster.client.get<JsonObject>('/api/v1/nodes/roamer');
    const ready = ((nodeObject.status as JsonObject).conditions as JsonObject[]).find((c) => c.type === 'Ready');
    expect(ready?.status).toBe('True');
  }, 90_000);
});
