/**
 * deploy/k8s RBAC, proven on the real hub: the hub runs against the embedded API as its
 * ServiceAccount with exactly the rendered ClusterRole/Roles and bindings (RbacAuthorizer),
 * goes through every path that writes to Kubernetes, and the test asserts that nothing was
 * denied and that every verb granted was used. The token-admin Role gets the same treatment
 * through `cloud-hub token ...`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../protocol/index.js';
import { TestNode } from '../helpers/protocol-client.js';
import { httpsText } from '../helpers/https-text.js';
import { waitFor } from '../helpers/wait.js';
import type { RunningProcess } from '../helpers/process.js';
import { container, find } from './manifests.js';
import { HUB_USER, RbacCluster, TOKEN_ADMIN_USER } from './rbac-cluster.js';

const NS = 'rbac-demo';
const NODE = 'edge-rbac-1';
let cluster: RbacCluster;
let hub: { proc: RunningProcess; ws: string; metrics: string; kubelet: string };
let token = '';

const podPath = (name = '') => `/api/v1/namespaces/${NS}/pods${name ? `/${name}` : ''}`;

beforeAll(async () => {
  cluster = await new RbacCluster('deploy/k8s').start();
  await cluster.admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await cluster.admin.create(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config', namespace: NS }, data: { MODE: 'edge' } });
  await cluster.admin.create(podPath(), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: NS },
    spec: { nodeName: NODE, containers: [{ name: 'app', image: 'app:1', command: ['sleep', '3600'], envFrom: [{ configMapRef: { name: 'app-config' } }] }] },
  });
});

afterAll(async () => {
  await hub?.proc.stop();
  await cluster?.close();
});

describe('the token-admin Role', () => {
  it('is enough for token create, rotate, list and revoke', async () => {
    await cluster.tokenCli('create', NODE);
    token = await cluster.tokenCli('create', NODE); // rotation: the Secret exists, so it is replaced
    await cluster.tokenCli('create', 'edge-rbac-gone');
    expect((await cluster.tokenCli('list')).split('\n')).toEqual([NODE, 'edge-rbac-gone']);
    await cluster.tokenCli('revoke', 'edge-rbac-gone');
    expect(cluster.authz.denied(TOKEN_ADMIN_USER.username)).toEqual([]);
    expect(cluster.authz.unused(TOKEN_ADMIN_USER)).toEqual([]);
  }, 120_000);
});

describe('the hub ServiceAccount with the rendered ClusterRole and Roles', () => {
  it('starts from the Deployment\'s args and env and answers its probes on the probed port', async () => {
    // Membership Leases of 3 s: renewed (updated) every second, well within the test.
    hub = await cluster.startHub({ extraArgs: ['--heartbeat-interval', '1000', '--node-grace-period', '2000', '--shard-lease-duration', '3000'] });
    const deployment = find(cluster.objects, 'Deployment', 'cloud-hub');
    const spec = container(deployment, 'cloud-hub');
    const portOf = (name: string | number) => (typeof name === 'number' ? name : spec.ports!.find((p) => p.name === name)!.containerPort);
    // The probes hit the port --metrics binds, and the Service targets the port --listen binds.
    expect(spec.args).toContain(`--metrics=0.0.0.0:${portOf(spec.livenessProbe!.httpGet!.port)}`);
    expect(spec.args).toContain(`--metrics=0.0.0.0:${portOf(spec.readinessProbe!.httpGet!.port)}`);
    const service = find(cluster.objects, 'Service', 'cloud-hub') as unknown as { spec: { ports: { targetPort: string }[] } };
    expect(spec.args).toContain(`--listen=0.0.0.0:${portOf(service.spec.ports[0]!.targetPort)}`);
    // The kubelet endpoint: the Service's kubelet port is the one --kubelet-listen binds.
    const kubeletPort = service.spec.ports.find((p) => (p as { name?: string }).name === 'kubelet')!;
    expect(spec.args).toContain(`--kubelet-listen=0.0.0.0:${portOf(kubeletPort.targetPort)}`);
    expect(hub.kubelet).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    for (const probe of [spec.livenessProbe!, spec.readinessProbe!]) {
      await waitFor(async () => (await fetch(`${hub.metrics}${probe.httpGet!.path}`)).status === 200, { what: `${probe.httpGet!.path} answering 200` });
    }
    expect(hub.proc.logs.find((line) => line.msg === 'ready')).toMatchObject({ cluster: cluster.api.url });
  });

  it('registers a node, renews its Lease, makes its Pod autonomous, writes Pod status and Events, finishes a deletion and marks the node NotReady, with nothing denied', async () => {
    // A denied write shows up as a timeout below; say which request it was.
    await withDecisions(exercise);
    await hub.proc.stop();

    const summary = cluster.authz.summary(HUB_USER.username).join('\n');
    expect(cluster.authz.denied(HUB_USER.username), summary).toEqual([]);
    // No failed write either (the one warning expected: Lease renewals every 10 s are slow for the test's 2 s grace period).
    const warnings = hub.proc.logs.filter((line) => (line.level ?? 0) >= 40 && !String(line.msg).startsWith('Lease renewals for this many nodes'));
    expect(warnings.map((line) => `${line.msg} ${String(line.err ?? '')}`), summary).toEqual([]);
    // Every verb the roles grant was needed: nothing broader than the code uses.
    expect(cluster.authz.unused(HUB_USER), summary).toEqual([]);
  });
});

async function withDecisions(scenario: () => Promise<void>): Promise<void> {
  try {
    await scenario();
  } catch (err) {
    throw new Error(`${(err as Error).message}\nthe hub's requests:\n${cluster.authz.summary(HUB_USER.username).join('\n')}`);
  }
}

async function exercise(): Promise<void> {
  await kubeletEndpointReviews();
  const node = await TestNode.connect(hub.ws, NODE, { token });
  node.hello([]);
  // Heartbeats as an agent sends them (the hub asks for one a second): the node stays Ready.
  const heartbeats = setInterval(() => node.send({ v: 1, t: 'heartbeat', ts: Date.now() }), 500);
  try {
    await connectedNode(node);
  } finally {
    clearInterval(heartbeats);
  }
  // The node goes quiet: the health monitor reads its Lease and Node (get) and marks it NotReady.
  node.close();
  const unknown = await waitFor(async () => {
    const object = await cluster.admin.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`/api/v1/nodes/${NODE}`);
    return object.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'Unknown');
  }, { timeoutMs: 15_000, what: 'Node NotReady' });
  expect(unknown.status).toBe('Unknown');
}

/** What a connected, heartbeating node makes the hub write. */
async function connectedNode(node: TestNode): Promise<void> {
  await node.waitForFrame((f) => f.t === 'synced', 10_000, 'synced');
  await node.waitUntil(() => node.cache.has(`Pod/${NS}/web`) && node.cache.has(`ConfigMap/${NS}/app-config`), 10_000, 'pod and configmap');

  // Node created (create nodes) with status (patch nodes/status); Lease (patch, then create, leases).
  const lease = await waitFor(() => cluster.admin.get<JsonObject>(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE}`), { what: 'node Lease' });
  expect(lease.spec).toMatchObject({ holderIdentity: NODE });
  const ready = await waitFor(async () => {
    const object = await cluster.admin.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`/api/v1/nodes/${NODE}`);
    return object.status?.conditions?.find((c) => c.type === 'Ready');
  }, { what: 'Node status' });
  expect(ready.status).toBe('True');

  // Edge autonomy: the Pod on the (autonomous) edge node tolerates its outage forever (patch pods).
  const tolerant = await waitFor(async () => {
    const pod = await cluster.admin.get<{ spec: { tolerations?: { key?: string; tolerationSeconds?: number }[] } }>(podPath('web'));
    const outage = pod.spec.tolerations?.filter((t) => t.key === 'node.kubernetes.io/unreachable' || t.key === 'node.kubernetes.io/not-ready') ?? [];
    return outage.length === 2 && outage.every((t) => t.tolerationSeconds === undefined) ? outage : undefined;
  }, { what: 'the pod\'s outage tolerations unbounded' });
  expect(tolerant).toHaveLength(2);

  // Pod status (patch pods/status).
  const uid = ((node.cache.get(`Pod/${NS}/web`)!.obj.metadata as JsonObject).uid as string) ?? '';
  const running = { phase: 'Running', containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: 'app:1', imageID: '', state: { running: { startedAt: new Date().toISOString() } } }] };
  node.send({ v: 1, t: 'status', id: 'st-1', pods: [{ ns: NS, name: 'web', uid, status: running }] });
  await waitFor(async () => ((await cluster.admin.get<JsonObject>(podPath('web'))).status as JsonObject).phase === 'Running', { what: 'pod status written' });

  // Events (create events) in the Pod's namespace and, for the Node, in default.
  node.send({
    v: 1,
    t: 'event',
    events: [
      { id: 'ev-rbac-pod', ts: Date.now(), source: 'pod', type: 'Warning', reason: 'BackOff', message: 'restarting', priority: 7, object: `Pod/${NS}/web` },
      { id: 'ev-rbac-node', ts: Date.now(), source: 'node', type: 'Warning', reason: 'DiskPressure', priority: 7 },
    ],
  });
  await waitFor(async () => (await cluster.admin.get<{ items: unknown[] }>(`/api/v1/namespaces/${NS}/events`)).items.length === 1, { what: 'pod event' });
  await waitFor(async () => (await cluster.admin.get<{ items: unknown[] }>('/api/v1/namespaces/default/events')).items.length === 1, { what: 'node event' });

  // A terminating Pod confirmed stopped by its node is deleted with grace 0 (delete pods).
  await cluster.admin.delete(podPath('web'));
  await node.waitUntil(() => (node.cache.get(`Pod/${NS}/web`)?.obj.metadata as JsonObject | undefined)?.deletionTimestamp, 10_000, 'pod terminating on the node');
  const stopped = { phase: 'Succeeded', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, image: 'app:1', imageID: '', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] };
  node.send({ v: 1, t: 'status', id: 'st-2', pods: [{ ns: NS, name: 'web', uid, status: stopped }] });
  await waitFor(async () => {
    try {
      await cluster.admin.get(podPath('web'));
      return false;
    } catch (err) {
      return (err as { status?: number }).status === 404;
    }
  }, { what: 'pod deleted by the hub' });
}

/**
 * The kubelet endpoint in Webhook mode, as kube-apiserver or metrics-server with a bearer token
 * reach it: the hub creates a TokenReview (create tokenreviews) and, for the user it names, a
 * SubjectAccessReview on nodes/stats (create subjectaccessreviews). The user here has no role,
 * so the answer is 403 naming the review; a token the API does not know is 401.
 */
async function kubeletEndpointReviews(): Promise<void> {
  cluster.addToken('metrics-reader-token', { username: 'system:serviceaccount:kube-system:metrics-server', groups: ['system:serviceaccounts', 'system:authenticated'] });
  const forbidden = await kubeletGet('/stats/summary', 'metrics-reader-token');
  expect(forbidden.status, forbidden.body).toBe(403);
  expect(forbidden.body).toContain('cannot get resource "nodes/stats" for node "edge-rbac-1"');
  const unknown = await kubeletGet('/stats/summary', 'nobody-has-this-token');
  expect(unknown.status, unknown.body).toBe(401);
  // A peer replica forwarding a request presents the hub's own ServiceAccount token: it may get
  // and create nodes/proxy, get nodes/stats and nodes/metrics. No replica holds the node's
  // session yet, so each is answered 502 once authorised, never 403.
  const asPeer: [string, string][] = [['GET', '/stats/summary'], ['GET', '/metrics/resource'], ['GET', `/containerLogs/${NS}/web/app`], ['POST', `/exec/${NS}/web/app?command=true&output=1`]];
  for (const [method, pathAndQuery] of asPeer) {
    const answer = await kubeletGet(pathAndQuery, 'hub-service-account-token', method);
    expect(answer.status, `${method} ${pathAndQuery}: ${answer.body}`).toBe(502);
    expect(answer.body).toContain('is not connected to any hub replica');
  }
  await waitFor(() => cluster.authz.decisions.some((d) => d.user === HUB_USER.username && d.request.isResourceRequest && d.request.resource === 'leases' && d.request.verb === 'update'), { what: 'a membership Lease renewal' });
}

function kubeletGet(pathAndQuery: string, token: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const url = new URL(hub.kubelet);
  return httpsText({
    host: url.hostname,
    port: Number(url.port),
    path: pathAndQuery,
    method,
    headers: { authorization: `Bearer ${token}`, 'x-edge-sync-node': NODE },
    ca: readFileSync(path.join(cluster.dir.path, 'hub-cloud-hub-5d8f9c7b6-x2x4q', 'hub-kubelet-ca.crt')),
  });
}
