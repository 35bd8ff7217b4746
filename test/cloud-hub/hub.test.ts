/**
 * The hub end to end: a real `cloud-hub --embedded` process, objects written through the
 * Kubernetes API, and protocol-speaking WebSocket clients as nodes.
 *
 * Each describe has a hub of its own (`hubFor`), so what one scenario leaves behind (objects,
 * sessions, queued sends, a killed hub) cannot change another's; within a describe each test
 * uses its own nodes, but for the describes built around the `web` Pod on edge-1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_DIGEST, type JsonObject, type SyncFrame, type SyncOp } from '../../protocol/index.js';
import { startHub, metricValue, type HubHandle } from '../helpers/hub.js';
import { TestNode } from '../helpers/protocol-client.js';
import { waitFor } from '../helpers/wait.js';

const NS = 'hubtest';

/**
 * How long a condition may take before a test fails: a guard against a hang, not a claim about
 * speed (a loaded 2-core machine is slow, not wrong). Where time is the point, tests assert a
 * lower bound instead.
 */
const DEADLINE_MS = 30_000;

/** Whether `client` holds the Pod `key` as the hub's edge autonomy leaves it: outage tolerations without seconds. */
function autonomous(client: TestNode, key: string): boolean {
  const tolerations = ((client.cache.get(key)?.obj.spec as JsonObject | undefined)?.tolerations ?? []) as JsonObject[];
  return tolerations.length > 0 && tolerations.every((t) => t.tolerationSeconds === undefined);
}

interface HubFixture {
  /** The describe's hub (after a restart, the restarted one). */
  readonly hub: HubHandle;
  token(node: string): string;
  connect(node: string, options?: { autoAck?: boolean; token?: string }): Promise<TestNode>;
  /** Connects with an empty cache and waits for the resync to finish. */
  syncedNode(node: string, options?: { autoAck?: boolean }): Promise<TestNode>;
  /** The hub was restarted: later tests of the describe, and its cleanup, use this one. */
  replace(hub: HubHandle): void;
}

/**
 * A hub for the enclosing describe, started before its first test with a namespace and tokens
 * for `nodes`; with `app`, also the `web` Pod on edge-1 with the ConfigMap and Secret it
 * references and a ConfigMap nothing references. Stopped, with every node the describe opened,
 * after its last test.
 */
function hubFor(options: { nodes: readonly string[]; app?: boolean }): HubFixture {
  let current: HubHandle | undefined;
  const tokens = new Map<string, string>();
  const open: TestNode[] = [];
  const hub = (): HubHandle => {
    if (!current) throw new Error('the describe\'s hub is not running');
    return current;
  };
  beforeAll(async () => {
    current = await startHub({ args: ['--window', '2'] });
    await current.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    for (const node of options.nodes) tokens.set(node, await current.tokens.create(node));
    if (options.app) await createApp(current);
  });
  afterAll(async () => {
    for (const client of open) client.close();
    await current?.stop();
  });
  const connect = async (node: string, connectOptions: { autoAck?: boolean; token?: string } = {}): Promise<TestNode> => {
    const client = await TestNode.connect(hub().ws, node, { token: tokens.get(node), ...connectOptions });
    open.push(client);
    return client;
  };
  return {
    get hub() {
      return hub();
    },
    token: (node) => {
      const token = tokens.get(node);
      if (token === undefined) throw new Error(`no token for ${node}: add it to the describe's nodes`);
      return token;
    },
    connect,
    syncedNode: async (node, syncOptions = {}) => {
      const client = await connect(node, syncOptions);
      client.hello([]);
      await client.waitForFrame((f) => f.t === 'synced', DEADLINE_MS, 'synced');
      return client;
    },
    replace: (next) => void (current = next),
  };
}

async function createApp(hub: HubHandle): Promise<void> {
  await hub.client.create(cmPath(), configMap('app-config', { mode: 'edge' }));
  await hub.client.create(`/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-secret', namespace: NS }, data: { key: Buffer.from('s3cret').toString('base64') } });
  await hub.client.create(cmPath(), configMap('unreferenced', { x: '1' }));
  await hub.client.create(
    podPath(),
    pod('web', 'edge-1', {
      containers: [{ name: 'main', image: 'busybox', envFrom: [{ configMapRef: { name: 'app-config' } }], env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'key' } } }] }],
    }),
  );
}

function configMap(name: string, data: Record<string, string>): JsonObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data };
}

function pod(name: string, node: string, spec: JsonObject = {}): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { nodeName: node, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }], ...spec },
  };
}

const cmPath = (name = '') => `/api/v1/namespaces/${NS}/configmaps${name ? `/${name}` : ''}`;
const podPath = (name = '') => `/api/v1/namespaces/${NS}/pods${name ? `/${name}` : ''}`;

function opsOf(client: TestNode, key: string, after = 0): SyncOp[] {
  return client
    .of('sync')
    .filter((frame) => frame.seq > after)
    .flatMap((frame) => frame.ops.filter((op) => op.key === key));
}

describe('authentication', () => {
  const fixture = hubFor({ nodes: ['edge-1', 'edge-2', 'edge-7'] });
  const { syncedNode } = fixture;

  it('refuses a missing or wrong token before any frame', async () => {
    await expect(TestNode.connect(fixture.hub.ws, 'edge-1')).rejects.toMatchObject({ status: 401 });
    await expect(TestNode.connect(fixture.hub.ws, 'edge-1', { token: 'not-the-token' })).rejects.toMatchObject({ status: 401 });
    await expect(TestNode.connect(fixture.hub.ws, 'edge-1', { token: fixture.token('edge-2') })).rejects.toMatchObject({ status: 401 });
  });

  it('a revoked token disconnects the node and is refused afterwards', async () => {
    const token = await fixture.hub.tokens.create('edge-revoked');
    const client = await fixture.connect('edge-revoked', { token });
    client.hello([]);
    await client.waitForFrame((f) => f.t === 'synced');
    await fixture.hub.tokens.revoke('edge-revoked');
    await client.waitUntil(() => client.closeCode, DEADLINE_MS, 'close');
    expect(client.closeCode).toBe(4001);
    await expect(TestNode.connect(fixture.hub.ws, 'edge-revoked', { token })).rejects.toMatchObject({ status: 401 });
  });

  it('a second connection for a node replaces the first', async () => {
    const first = await syncedNode('edge-7');
    const second = await syncedNode('edge-7');
    await first.waitUntil(() => first.closeCode, DEADLINE_MS, 'close of the first connection');
    expect(first.closeCode).toBe(4000);
    expect(second.closeCode).toBeUndefined();
  });
});

describe('resync', () => {
  const fixture = hubFor({ nodes: ['edge-1', 'edge-2', 'edge-3'], app: true });
  const { syncedNode, connect } = fixture;

  it('from an empty cache: exactly the node\'s scope, then synced with the matching digest', async () => {
    const client = await syncedNode('edge-1');
    expect(client.frames[0]?.t).toBe('welcome');
    await client.waitUntil(() => client.cache.has('Node//edge-1'), DEADLINE_MS, 'the Node the hub registered');
    const keys = [...client.cache.keys()].sort();
    expect(keys).toEqual([`ConfigMap/${NS}/app-config`, 'Node//edge-1', `Pod/${NS}/web`, `Secret/${NS}/app-secret`]);
    const synced = client.of('synced')[0]!;
    expect(synced.n).toBeGreaterThanOrEqual(3);
    // The Pod reaches the edge without status or managedFields.
    const web = client.cache.get(`Pod/${NS}/web`)!.obj;
    expect(web.status).toBeUndefined();
    expect((web.metadata as JsonObject).managedFields).toBeUndefined();
    client.close();
  });

  it('another node gets none of edge-1\'s objects', async () => {
    const client = await syncedNode('edge-2');
    await client.waitUntil(() => client.cache.has('Node//edge-2'), DEADLINE_MS, 'edge-2 Node');
    expect([...client.cache.keys()]).toEqual(['Node//edge-2']);
    client.close();
  });

  it('an equal digest costs exactly welcome and synced', async () => {
    const first = await syncedNode('edge-3');
    await first.waitUntil(() => first.cache.has('Node//edge-3'), DEADLINE_MS, 'edge-3 Node');
    first.close();
    const again = await connect('edge-3');
    for (const [key, value] of first.cache) again.cache.set(key, value);
    again.hello();
    const synced = await again.waitForFrame((f) => f.t === 'synced');
    expect(synced).toMatchObject({ seq: 0, digest: again.digest() });
    // Bound the "nothing else" by a later change that must arrive: until then, only welcome and
    // synced, and no sync op may resend a version the cache already held. The marker may arrive
    // in two frames (created, then the hub's autonomy rewrite of its tolerations) when the
    // machine is loaded; other real later changes carry versions the hello did not name.
    const held = new Map([...first.cache].map(([key, value]) => [key, value.rv]));
    const marker = `Pod/${NS}/marker-3`;
    await fixture.hub.client.create(podPath(), pod('marker-3', 'edge-3'));
    await again.waitUntil(() => again.cache.has(marker), DEADLINE_MS, 'marker pod');
    expect(again.frames.slice(0, 2).map((f) => f.t)).toEqual(['welcome', 'synced']);
    const later = again.frames.slice(2);
    expect(later.every((f) => f.t === 'sync')).toBe(true);
    const resent = (later as SyncFrame[]).flatMap((f) => f.ops).filter((op) => op.key !== marker && op.op !== 'del' && held.get(op.key) === op.rv);
    expect(resent).toEqual([]);
    again.close();
  });

  it('a stale cache gets puts for what changed and dels for what it must not hold', async () => {
    const first = await syncedNode('edge-1');
    await first.waitUntil(() => first.cache.has('Node//edge-1'), DEADLINE_MS, 'edge-1 Node');
    first.close();
    const client = await connect('edge-1');
    for (const [key, value] of first.cache) client.cache.set(key, value);
    client.cache.set(`ConfigMap/${NS}/app-config`, { rv: 'old-version-rv', obj: { metadata: { name: 'app-config' } } });
    client.cache.set(`ConfigMap/${NS}/unreferenced`, { rv: 'x', obj: {} });
    client.cache.set(`Secret/${NS}/gone`, { rv: 'y', obj: {} });
    client.hello();
    const synced = await client.waitForFrame((f) => f.t === 'synced');
    const ops = client.of('sync').flatMap((frame) => frame.ops);
    expect(ops.map((op) => `${op.op} ${op.key}`).sort()).toEqual([`del ConfigMap/${NS}/unreferenced`, `del Secret/${NS}/gone`, `put ConfigMap/${NS}/app-config`]);
    expect(client.digest()).toBe((synced as { digest: string }).digest);
    expect((client.cache.get(`ConfigMap/${NS}/app-config`)!.obj.data as JsonObject).mode).toBe('edge');
    client.close();
  });
});

describe('steady stream', () => {
  const fixture = hubFor({ nodes: ['edge-1', 'edge-2', 'edge-4', 'edge-5', 'edge-6', 'edge-8'], app: true });
  const { syncedNode } = fixture;

  it('sends an update as a patch from the version the node holds, a new object as a put, a delete as del', async () => {
    const client = await syncedNode('edge-4');
    await fixture.hub.client.create(cmPath(), configMap('edge4-config', { a: '1', big: 'x'.repeat(2000) }));
    await fixture.hub.client.create(podPath(), pod('edge4-pod', 'edge-4', { volumes: [{ name: 'c', configMap: { name: 'edge4-config' } }] }));
    const key = `ConfigMap/${NS}/edge4-config`;
    await client.waitUntil(() => client.cache.has(key) && client.cache.has(`Pod/${NS}/edge4-pod`), DEADLINE_MS, 'pod and config');
    const put = opsOf(client, key)[0]!;
    expect(put.op).toBe('put');
    const seqBefore = client.of('sync').at(-1)!.seq;
    await fixture.hub.client.mergePatch(cmPath('edge4-config'), { data: { a: '2' } });
    await client.waitUntil(() => (client.cache.get(key)?.obj.data as JsonObject | undefined)?.a === '2', DEADLINE_MS, 'patched config');
    const patch = opsOf(client, key, seqBefore);
    expect(patch).toHaveLength(1);
    expect(patch[0]).toMatchObject({ op: 'patch', baseRv: put.op === 'put' ? put.rv : '' });
    expect(JSON.stringify(patch[0]).length).toBeLessThan(500);
    await fixture.hub.client.delete(podPath('edge4-pod'), { gracePeriodSeconds: '0' });
    await client.waitUntil(() => !client.cache.has(`Pod/${NS}/edge4-pod`) && !client.cache.has(key), DEADLINE_MS, 'pod and its config removed');
    client.close();
  });

  it('coalesces changes while the node does not ack: one pending version per object', async () => {
    // edge-6 reads and acks everything; edge-5 stops acking, so its window (2 frames) fills.
    await fixture.hub.client.create(cmPath(), configMap('shared-56', { v: '0' }));
    await fixture.hub.client.create(podPath(), pod('p5', 'edge-5', { volumes: [{ name: 'c', configMap: { name: 'shared-56' } }] }));
    await fixture.hub.client.create(podPath(), pod('p6', 'edge-6', { volumes: [{ name: 'c', configMap: { name: 'shared-56' } }] }));
    const key = `ConfigMap/${NS}/shared-56`;
    const slow = await syncedNode('edge-5');
    const fast = await syncedNode('edge-6');
    // The Node the hub registers on the first hello comes after `synced`, and so does the hub's
    // edge autonomy change to p5 (its outage tolerations): neither may land in the window count.
    await slow.waitUntil(() => slow.cache.has(key) && slow.cache.has('Node//edge-5') && autonomous(slow, `Pod/${NS}/p5`), DEADLINE_MS, 'shared config, Node and autonomous p5 on edge-5');
    slow.autoAck = false;
    const fill = slow.of('sync').length;
    // Two updates, each awaited, fill edge-5's window of two frames.
    for (const v of ['1', '2']) {
      const frames = slow.of('sync').length;
      await fixture.hub.client.mergePatch(cmPath('shared-56'), { data: { v } });
      await slow.waitUntil(() => slow.of('sync').length > frames, DEADLINE_MS, `frame for v${v}`);
    }
    expect(slow.of('sync').length).toBe(fill + 2);
    for (let v = 3; v <= 30; v++) await fixture.hub.client.mergePatch(cmPath('shared-56'), { data: { v: String(v) } });
    // The fast node proves the hub has seen the last version.
    await fast.waitUntil(() => (fast.cache.get(key)?.obj.data as JsonObject | undefined)?.v === '30', DEADLINE_MS, 'v30 on edge-6');
    expect(slow.of('sync').length).toBe(fill + 2);
    const pending = await metricValue(fixture.hub.metrics, 'edge_hub_send_queue_depth');
    expect(pending).toBe(1);
    slow.autoAck = true;
    for (const frame of slow.of('sync').slice(fill)) slow.applySync(frame);
    await slow.waitUntil(() => (slow.cache.get(key)?.obj.data as JsonObject | undefined)?.v === '30', DEADLINE_MS, 'v30 on edge-5');
    const afterWindow = slow.of('sync').slice(fill + 2).flatMap((frame) => frame.ops.filter((op) => op.key === key));
    expect(afterWindow).toHaveLength(1);
    slow.close();
    fast.close();
  });

  it('does not echo a status write back down', async () => {
    const client = await syncedNode('edge-1');
    // The Node the hub registers on this first hello comes after `synced`: count from after it.
    await client.waitUntil(() => client.cache.has('Node//edge-1'), DEADLINE_MS, 'edge-1 Node');
    // So does the hub's edge autonomy change to the node's Pod (its outage tolerations unbounded).
    await client.waitUntil(() => autonomous(client, `Pod/${NS}/web`), DEADLINE_MS, 'web made autonomous');
    const before = client.of('sync').length;
    client.send({ v: 1, t: 'status', id: 'st-1', pods: [{ ns: NS, name: 'web', uid: '', status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }] });
    await client.waitForFrame((f) => f.t === 'ack' && (f.ids ?? []).includes('st-1'), DEADLINE_MS, 'status ack');
    const written = await waitFor(async () => {
      const current = await fixture.hub.client.get<JsonObject>(podPath('web'));
      return (current.status as JsonObject | undefined)?.phase === 'Running' ? current : undefined;
    });
    expect(written).toBeDefined();
    // A later change to another Pod of the node arrives; the status change never did.
    await fixture.hub.client.create(podPath(), pod('marker-1', 'edge-1'));
    await client.waitUntil(() => client.cache.has(`Pod/${NS}/marker-1`), DEADLINE_MS, 'marker pod');
    const ops = client.of('sync').slice(before).flatMap((frame) => frame.ops.map((op) => op.key));
    // marker-1 may come twice: created, then made autonomous by the hub. web never comes.
    expect(new Set(ops)).toEqual(new Set([`Pod/${NS}/marker-1`]));
    client.close();
  });

  it('refuses status for a Pod bound to another node, and acks it so it leaves the outbox', async () => {
    const client = await syncedNode('edge-2');
    client.send({ v: 1, t: 'status', id: 'st-x', pods: [{ ns: NS, name: 'web', uid: '', status: { phase: 'Failed' } }] });
    const error = await client.waitForFrame((f) => f.t === 'error', DEADLINE_MS, 'error');
    expect(error).toMatchObject({ code: 'E_FORBIDDEN', ref: 'status' });
    await client.waitForFrame((f) => f.t === 'ack' && (f.ids ?? []).includes('st-x'), DEADLINE_MS, 'ack');
    const web = await fixture.hub.client.get<JsonObject>(podPath('web'));
    expect((web.status as JsonObject | undefined)?.phase).not.toBe('Failed');
    client.close();
  });

  it('answers invalid frames with an error code and stays up', async () => {
    const client = await syncedNode('edge-8');
    client.send('{not json');
    client.send('{"v":9,"t":"ack","seq":1}');
    client.send('{"v":1,"t":"teleport"}');
    client.send('{"v":1,"t":"need","keys":"nope"}');
    client.send({ v: 1, t: 'sync', seq: 1, ops: [{ op: 'del', key: 'Pod/a/b' }] } as never);
    await client.waitUntil(() => client.of('error').length >= 5, DEADLINE_MS, 'five errors');
    expect(client.of('error').map((f) => f.code)).toEqual(['E_JSON', 'E_VERSION', 'E_TYPE', 'E_SHAPE', 'E_TYPE']);
    // Still served: a new Pod for the node arrives.
    await fixture.hub.client.create(podPath(), pod('after-garbage', 'edge-8'));
    await client.waitUntil(() => client.cache.has(`Pod/${NS}/after-garbage`), DEADLINE_MS, 'pod after garbage');
    expect(client.closeCode).toBeUndefined();
    client.close();
  });
});

describe('upstream', () => {
  const fixture = hubFor({ nodes: ['edge-3'] });
  const { syncedNode } = fixture;

  it('registers the Node as an edge node, Ready, with a Lease renewed from heartbeats', async () => {
    const client = await syncedNode('edge-3');
    const node = await waitFor(async () => {
      const object = await fixture.hub.client.get<JsonObject>('/api/v1/nodes/edge-3');
      const ready = ((object.status as JsonObject | undefined)?.conditions as JsonObject[] | undefined)?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' ? object : undefined;
    });
    expect((node.metadata as JsonObject).labels).toMatchObject({ 'node-role.kubernetes.io/edge': '', 'kubernetes.io/arch': 'amd64' });
    expect((node.status as JsonObject).capacity).toMatchObject({ cpu: '2', memory: '2Gi' });
    const lease = await waitFor(() => fixture.hub.client.get<JsonObject>('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/edge-3'));
    expect((lease.spec as JsonObject).holderIdentity).toBe('edge-3');
    client.close();
  });
});

describe('replacing a connection', () => {
  const fixture = hubFor({ nodes: ['edge-7'] });
  const { syncedNode, connect } = fixture;

  it('a connection that never speaks replaces nothing; once it says hello it replaces the live one', async () => {
    const live = await syncedNode('edge-7');
    // An upgrade the hub finishes after the agent gave up on it: open, silent.
    const stale = await connect('edge-7');
    const labelOf = (client: TestNode) => ((client.cache.get('Node//edge-7')?.obj.metadata as JsonObject | undefined)?.labels as JsonObject | undefined)?.round;
    await fixture.hub.client.mergePatch('/api/v1/nodes/edge-7', { metadata: { labels: { round: 'one' } } });
    await live.waitUntil(() => labelOf(live) === 'one' || live.closeCode !== undefined, DEADLINE_MS, 'change on the live connection');
    expect(live.closeCode).toBeUndefined();
    expect(labelOf(live)).toBe('one');
    stale.hello([]);
    await stale.waitForFrame((f) => f.t === 'synced', DEADLINE_MS, 'synced on the newer connection');
    await live.waitUntil(() => live.closeCode, DEADLINE_MS, 'close of the older connection');
    expect(live.closeCode).toBe(4000);
  });
});

describe('liveness and restart', () => {
  const fixture = hubFor({ nodes: ['edge-1', 'edge-6'], app: true });
  const { syncedNode, connect } = fixture;

  it('drops a peer that stops answering pings, and not before a ping interval without an answer', async () => {
    const client = await syncedNode('edge-6');
    const connected = await metricValue(fixture.hub.metrics, 'edge_hub_connected_nodes');
    expect(connected).toBeGreaterThanOrEqual(1);
    // A ping answered first, so the lower bound below counts from a known answer.
    await client.waitUntil(() => client.lastPingAt, DEADLINE_MS, 'a ping from the hub');
    // Stop reading the socket: pings go unanswered (the hub's interval is 1 s).
    client.stopReading();
    // The hub's liveness rule drops it (two unanswered pings), not a TCP timeout: it says so.
    const dropped = await fixture.hub.proc.waitForLog((line) => line.msg === 'peer silent for two ping intervals; dropping' && line.node === 'edge-6', DEADLINE_MS, 'the silent peer dropped');
    // A lower bound, not a window (a loaded machine may take far longer): a ping the hub sends
    // is given a whole interval (1 s) for its pong, so the drop comes at least an interval after
    // the last ping this node answered was sent. That ping may have reached the node late, so
    // half an interval here.
    expect((dropped.time as number) - client.lastPingAt!).toBeGreaterThanOrEqual(500);
    await waitFor(async () => (await metricValue(fixture.hub.metrics, 'edge_hub_connected_nodes')) === connected - 1, { what: 'node dropped' });
  });

  it('after kill -9 and restart, a node reconnecting converges, including changes made while the hub was down', async () => {
    const client = await syncedNode('edge-1');
    await client.waitUntil(() => client.cache.has('Node//edge-1'), DEADLINE_MS, 'edge-1 Node');
    await client.waitUntil(() => autonomous(client, `Pod/${NS}/web`), DEADLINE_MS, 'web made autonomous');
    await fixture.hub.proc.kill();
    client.close();
    fixture.replace(await fixture.hub.restart());
    await fixture.hub.client.mergePatch(cmPath('app-config'), { data: { mode: 'after-restart' } });
    const again = await connect('edge-1');
    for (const [key, value] of client.cache) again.cache.set(key, value);
    again.hello();
    const synced = await again.waitForFrame((f) => f.t === 'synced', DEADLINE_MS, 'synced after restart');
    expect(again.digest()).toBe((synced as { digest: string }).digest);
    expect(synced).not.toMatchObject({ digest: EMPTY_DIGEST });
    // The change arrives in the resync or, if the restarted informer saw it later, right after.
    await again.waitUntil(() => (again.cache.get(`ConfigMap/${NS}/app-config`)?.obj.data as JsonObject | undefined)?.mode === 'after-restart', DEADLINE_MS, 'changed config');
    // Nothing but the changed ConfigMap was resent: the restart cost no other object.
    const resent = new Set(again.of('sync').flatMap((frame: SyncFrame) => frame.ops.map((op) => op.key)));
    expect([...resent]).toEqual([`ConfigMap/${NS}/app-config`]);
  });
});
