/**
 * Several hub replicas and the kubelet endpoint: a request that reaches a replica without the
 * node's session is forwarded to the replica that has it. Real processes: the embedded API
 * (`cloud-hub apiserver`), two hub replicas (`--hub-id hub-a`, `hub-b`), both with a kubelet
 * endpoint on a shared certificate and CA, and two real agents (process runtime) whose sessions
 * are on hub-b only: one over WebSocket (tunnels dialled at hub-b), one over MQTT (hub-b's
 * embedded broker) whose tunnels are dialled at hub-a, as a load balancer in front of
 * `--stream-url` could send them. Requests go to hub-a's endpoint with a client certificate of
 * the CA it trusts, as kube-apiserver's would.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { KUBELET_PKI, ensureClientCertificate, ensureServingPki, pkiFiles } from '../../cloud-hub/tls/pki.js';
import { TestCluster } from '../helpers/cluster.js';
import { httpsText } from '../helpers/https-text.js';
import { metricValue } from '../helpers/hub.js';
import { freePort } from '../helpers/mosquitto.js';
import { BIN, startProcess, type RunningProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

type Obj = Record<string, any>;
type Replica = RunningProcess & { ws: string; metrics: string; kubelet: URL };

let cluster: TestCluster;
let a: Replica;
let b: Replica;
let ca: Buffer;
let clientCert: { cert: string; key: string };
const replicas: RunningProcess[] = [];

async function startReplica(id: string, args: string[], files: { cert: string; key: string; ca: string; token: string }): Promise<Replica> {
  const proc = await startProcess(BIN.cloudHub, [
    ...['--kubeconfig', cluster.kubeconfig, '--hub-id', id, '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--heartbeat-interval', '1000'],
    ...['--kubelet-listen', '127.0.0.1:0', '--kubelet-tls-cert', files.cert, '--kubelet-tls-key', files.key, '--kubelet-client-ca-file', files.ca, '--kubelet-authentication-token-webhook'],
    ...['--peer-ca-file', files.ca, '--peer-token-file', files.token, '--shard-lease-duration', '3000'],
    ...args,
  ]);
  replicas.push(proc);
  const ready = proc.logs.find((line) => line.msg === 'ready')!;
  return Object.assign(proc, { ws: ready.ws as string, metrics: ready.metrics as string, kubelet: new URL(ready.kubelet as string) });
}

interface Answer {
  status: number;
  body: string;
}

/** A request to a replica's kubelet endpoint: with the client certificate unless `credentials` says otherwise. */
function kubelet(replica: Replica, pathAndQuery: string, options: { headers?: Record<string, string>; credentials?: 'cert' | 'none' } = {}): Promise<Answer> {
  return httpsText({
    host: replica.kubelet.hostname,
    port: Number(replica.kubelet.port),
    path: pathAndQuery,
    headers: options.headers ?? {},
    ca,
    ...(options.credentials === 'none' ? {} : clientCert),
    // A deadline, not a timing assertion: an answer that never comes fails the test instead of hanging it.
    signal: AbortSignal.timeout(15_000),
  });
}

/** An exec over the WebSocket channel protocol (v5) through a replica's kubelet endpoint. */
function exec(replica: Replica, pathAndQuery: string): Promise<{ stdout: string; status?: Obj }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://${replica.kubelet.host}${pathAndQuery}`, ['v5.channel.k8s.io'], { ca, ...clientCert });
    const result: { stdout: string; status?: Obj } = { stdout: '' };
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => reject(new Error(`${res.statusCode}: ${body}`)));
    });
    ws.on('error', reject);
    ws.on('message', (data: Buffer) => {
      if (data[0] === 1) result.stdout += data.subarray(1).toString();
      if (data[0] === 3 && data.length > 1) result.status = JSON.parse(data.subarray(1).toString()) as Obj;
    });
    ws.on('close', () => resolve(result));
  });
}

async function createPod(name: string, node: string): Promise<void> {
  await cluster.client.create('/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName: node, containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', `i=0; while true; do echo "${name}-line-$i"; i=$((i+1)); sleep 0.2; done`] }] },
  });
}

beforeAll(async () => {
  cluster = await new TestCluster().start();
  await cluster.stopHub();
  // One serving certificate and CA for both replicas (a real cluster: one Secret mounted by every replica), and kube-apiserver's client certificate from the same CA.
  const pkiDir = path.join(cluster.dir.path, 'replica-pki');
  mkdirSync(pkiDir);
  await ensureServingPki(pkiDir, '127.0.0.1', KUBELET_PKI);
  const client = await ensureClientCertificate(pkiDir, 'apiserver-kubelet-client', 'kube-apiserver-kubelet-client', ['system:masters'], KUBELET_PKI);
  clientCert = { cert: client.certPem, key: client.keyPem };
  const files = pkiFiles(pkiDir, KUBELET_PKI);
  ca = readFileSync(files.caCertPath);
  // The replicas' identity toward each other: the token of their kubeconfig (in a cluster, the ServiceAccount token).
  const config = new KubeConfig();
  config.loadFromFile(cluster.kubeconfig);
  const token = path.join(cluster.dir.path, 'peer.token');
  writeFileSync(token, config.getCurrentUser()!.token!, { mode: 0o600 });
  const shared = { cert: files.certPath, key: files.keyPath, ca: files.caCertPath, token };
  const brokerPort = await freePort();
  b = await startReplica('hub-b', ['--embedded-broker', `127.0.0.1:${brokerPort}`], shared);
  a = await startReplica('hub-a', [], shared);

  await cluster.tokenFile('edge-ws');
  await cluster.tokenFile('edge-mq');
  await cluster.startAgent('edge-ws', { hubUrl: b.ws, args: ['--sandbox', 'never'] });
  await cluster.startAgent('edge-mq', { hubUrl: `mqtt://127.0.0.1:${brokerPort}`, args: ['--sandbox', 'never', '--stream-url', a.ws] });
  await createPod('ticker-ws', 'edge-ws');
  await createPod('ticker-mq', 'edge-mq');
  await createPod('orphan', 'ghost');
  for (const name of ['ticker-ws', 'ticker-mq']) {
    await waitFor(async () => (await cluster.client.get<Obj>(`/api/v1/namespaces/default/pods/${name}`)).status?.phase === 'Running', { timeoutMs: 30_000, what: `${name} Running` });
  }
  // hub-a knows hub-b from its membership Lease, and the Pods from its informers.
  await waitFor(async () => (await kubelet(a, '/containerLogs/default/ticker-ws/main')).status === 200, { timeoutMs: 30_000, what: 'hub-a forwarding to hub-b' });
}, 180_000);

afterAll(async () => {
  for (const replica of replicas.reverse()) await replica.stop();
  await cluster?.close();
});

describe('a kubelet request at a replica without the node\'s session', () => {
  it('reaches the agent through the replica holding a WebSocket session: container logs', async () => {
    const logs = await kubelet(a, '/containerLogs/default/ticker-ws/main?tailLines=3');
    expect(logs.status, logs.body).toBe(200);
    expect(logs.body).toMatch(/ticker-ws-line-\d+/);
    expect(logs.body.trim().split('\n').length).toBeLessThanOrEqual(3);
    expect(await metricValue(a.metrics, 'edge_hub_peer_forwarded_requests_total', { kind: 'containerLogs' })).toBeGreaterThanOrEqual(1);
    // hub-a holds no session at all; hub-b holds both.
    expect(await metricValue(a.metrics, 'edge_hub_connected_nodes')).toBe(0);
    expect(await metricValue(b.metrics, 'edge_hub_connected_nodes')).toBe(2);
  });

  it('reaches the agent through the replica holding an MQTT session, its tunnel dialled at another replica: logs and stats', async () => {
    const logs = await kubelet(a, '/containerLogs/default/ticker-mq/main?tailLines=2');
    expect(logs.status, logs.body).toBe(200);
    expect(logs.body).toMatch(/ticker-mq-line-\d+/);
    // hub-b asked edge-mq for the tunnel; the agent dialled hub-a, which joined the dial to hub-b.
    expect(await metricValue(a.metrics, 'edge_hub_peer_forwarded_requests_total', { kind: 'tunnel' })).toBeGreaterThanOrEqual(1);
    const stats = await kubelet(a, '/stats/summary', { headers: { 'x-edge-sync-node': 'edge-mq' } });
    expect(stats.status, stats.body).toBe(200);
    expect((JSON.parse(stats.body) as Obj).node.nodeName).toBe('edge-mq');
    const metrics = await kubelet(a, '/metrics/resource', { headers: { 'x-edge-sync-node': 'edge-ws' } });
    expect(metrics.status, metrics.body).toBe(200);
    expect(metrics.body).toContain('container_cpu_usage_seconds_total');
  });

  it('carries an exec upgrade both ways, exit code included', async () => {
    const result = await exec(a, '/exec/default/ticker-ws/main?command=sh&command=-c&command=echo%20forwarded%20exec%3B%20exit%203&output=1');
    expect(result.stdout).toBe('forwarded exec\n');
    expect(result.status).toMatchObject({ reason: 'NonZeroExitCode' });
    expect(await metricValue(a.metrics, 'edge_hub_peer_forwarded_requests_total', { kind: 'exec' })).toBe(1);
  });

  it('answers a clear error, not a hang, for a node no replica holds', async () => {
    const missesBefore = await metricValue(a.metrics, 'edge_hub_peer_misses_total', { reason: 'no_holder' });
    const answer = await kubelet(a, '/containerLogs/default/orphan/main');
    expect(answer.status).toBe(502);
    expect(answer.body).toContain('node ghost is not connected to any hub replica (hub hub-a and the 1 peer replica(s) it asked)');
    expect(await metricValue(a.metrics, 'edge_hub_peer_misses_total', { reason: 'no_holder' })).toBe(missesBefore + 1);
  });

  it('never forwards a request that was already forwarded', async () => {
    const forwardedBefore = await metricValue(a.metrics, 'edge_hub_peer_forwarded_requests_total');
    const answer = await kubelet(a, '/containerLogs/default/ticker-ws/main', { headers: { 'x-edge-sync-forwarded': 'hub-z' } });
    expect(answer.status).toBe(503);
    expect(answer.body).toContain('forwarded here by replica hub-z: a forwarded request is not forwarded again');
    expect(await metricValue(a.metrics, 'edge_hub_peer_forwarded_requests_total')).toBe(forwardedBefore);
    expect(await metricValue(a.metrics, 'edge_hub_peer_misses_total', { reason: 'already_forwarded' })).toBe(1);
    // The replica holding the session serves such a request from its own session.
    expect((await kubelet(b, '/containerLogs/default/ticker-ws/main?tailLines=1', { headers: { 'x-edge-sync-forwarded': 'hub-z' } })).status).toBe(200);
  });
});

describe('the session probe between replicas', () => {
  it('refuses a caller without credentials or with a token the API does not know', async () => {
    expect((await kubelet(b, '/edge-sync/v1/sessions/edge-ws', { credentials: 'none' })).status).toBe(401);
    expect((await kubelet(b, '/edge-sync/v1/sessions/edge-ws', { credentials: 'none', headers: { authorization: 'Bearer not-a-token' } })).status).toBe(401);
    expect((await kubelet(b, `/edge-sync/v1/tunnels/edge-ws/${'A'.repeat(22)}`, { credentials: 'none' })).status).toBe(401);
  });

  it('answers a tunnel probe only for a tunnel it waits for, and refuses a join of one it does not', async () => {
    const probe = await kubelet(b, `/edge-sync/v1/tunnels/edge-ws/${'A'.repeat(22)}`);
    expect(probe.status).toBe(404);
    expect(JSON.parse(probe.body)).toMatchObject({ node: 'edge-ws', held: false });
    expect((await kubelet(b, '/edge-sync/v1/tunnels/edge-ws/short')).status).toBe(400);
    const join = await new Promise<number>((resolve, reject) => {
      const req = https.request({ host: b.kubelet.hostname, port: Number(b.kubelet.port), path: `/edge-sync/v1/tunnels/edge-ws/${'A'.repeat(22)}`, headers: { connection: 'Upgrade', upgrade: 'edge-sync-tunnel' }, ca, ...clientCert });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('upgrade', (_res, socket) => {
        socket.destroy();
        resolve(101);
      });
      req.on('error', reject);
      req.end();
    });
    expect(join).toBe(404);
  });

  it('says which replica holds a node, and checks the name', async () => {
    const held = await kubelet(b, '/edge-sync/v1/sessions/edge-ws');
    expect(held.status).toBe(200);
    expect(JSON.parse(held.body)).toEqual({ node: 'edge-ws', hub: 'hub-b', held: true });
    expect((await kubelet(a, '/edge-sync/v1/sessions/edge-ws')).status).toBe(404);
    expect((await kubelet(b, '/edge-sync/v1/sessions/..%2Fx')).status).toBe(400);
  });

  it('finds peers through membership Leases that name their address, WebSocket-only replicas included', async () => {
    const lease = await cluster.client.get<Obj>('/apis/coordination.k8s.io/v1/namespaces/edge-system/leases/edge-hub-replica-hub-a');
    expect(lease.spec.holderIdentity).toBe('hub-a');
    expect(lease.metadata.annotations).toMatchObject({ 'edge-sync.io/peer-address': a.kubelet.host, 'edge-sync.io/mqtt-shards': 'false' });
  });
});

describe('a peer that never answers', () => {
  it('is asked with a deadline: a node nobody holds is answered once its probe times out, a held node by its holder', async () => {
    // A "replica" whose Lease names a port that accepts connections and never says a word (no TLS handshake, no answer).
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      // First one whose address is malformed (never dialled, never counted), so any round that lists the silent one lists it too.
      await cluster.client.create('/apis/coordination.k8s.io/v1/namespaces/edge-system/leases', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'edge-hub-replica-hub-bogus', namespace: 'edge-system', labels: { 'edge-sync.io/shard-lease': 'replica' }, annotations: { 'edge-sync.io/peer-address': 'evil host/x:99999' } },
        spec: { holderIdentity: 'hub-bogus', leaseDurationSeconds: 3600, renewTime: new Date().toISOString().replace('Z', '000Z') },
      });
      await cluster.client.create('/apis/coordination.k8s.io/v1/namespaces/edge-system/leases', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'edge-hub-replica-hub-silent', namespace: 'edge-system', labels: { 'edge-sync.io/shard-lease': 'replica' }, annotations: { 'edge-sync.io/peer-address': `127.0.0.1:${port}` } },
        spec: { holderIdentity: 'hub-silent', leaseDurationSeconds: 3600, renewTime: new Date().toISOString().replace('Z', '000Z') },
      });
      // hub-a lists both on its next membership round: a request for nobody's node now asks two peers (hub-b and the silent one).
      const answer = await waitFor(
        async () => {
          const next = await kubelet(a, '/containerLogs/default/orphan/main');
          return next.body.includes('2 peer replica(s)') ? next : undefined;
        },
        { timeoutMs: 30_000, what: 'hub-a asking the silent peer too' },
      );
      expect(answer.status).toBe(502);
      expect(await metricValue(a.metrics, 'edge_hub_peer_probe_failures_total', { reason: 'timeout' })).toBeGreaterThanOrEqual(1);
      expect(sockets.size).toBeGreaterThanOrEqual(1);
      // hub-b's answer is enough for a node it holds: nobody waits for the silent one.
      const logs = await kubelet(a, '/containerLogs/default/ticker-ws/main?tailLines=1');
      expect(logs.status, logs.body).toBe(200);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 60_000);
});
