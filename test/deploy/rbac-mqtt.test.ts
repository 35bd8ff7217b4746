/**
 * deploy/k8s/mosquitto: the hub as that overlay runs it (--mqtt to the broker's hub listener,
 * the password file from the mounted Secret) against a real mosquitto running the overlay's own
 * mosquitto.conf, with the overlay's RBAC. Two replicas share the shards through Leases in
 * edge-system; nothing is denied and every verb of the replica-lease Role is used (take, renew,
 * list, hand over on shutdown). The broker keeps nodes and the hub apart.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOSQUITTO, Mosquitto } from '../helpers/mosquitto.js';
import { requireTool } from '../helpers/system-tools.js';
import type { RunningProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { container, find, podTemplate } from './manifests.js';
import { HUB_USER, RbacCluster } from './rbac-cluster.js';

const SHARD_ROLE = 'Role/edge-system/edge-sync:cloud-hub-replica-leases';
let cluster: RbacCluster;
let broker: Mosquitto;
const replicas: RunningProcess[] = [];

beforeAll(async () => {
  cluster = await new RbacCluster('deploy/k8s/mosquitto').start();
  await cluster.tokenCli('create', 'edge-mqtt-1');
  requireTool(MOSQUITTO, 'mosquitto');
  // The broker's password files and ACLs come from `cloud-hub token mosquitto-auth`, run as the
  // token admin; its configuration is the overlay's, pointed at the test's ports and folders.
  const conf = (find(cluster.objects, 'ConfigMap', 'mosquitto') as unknown as { data: Record<string, string> }).data['mosquitto.conf']!;
  broker = await new Mosquitto(cluster.dir.path, cluster.tokenAdminKubeconfig, {
    conf: ({ authDir, nodePort, hubPort }) =>
      conf
        .replaceAll('/mosquitto/auth/', `${authDir}/`)
        // The test keeps its own persistence and logging.
        .replace(/^(persistence|log_).*$/gm, '')
        .replace(/^listener 1883$/m, `listener ${nodePort} 127.0.0.1`)
        .replace(/^listener 1884$/m, `listener ${hubPort} 127.0.0.1`),
  }).start();
});

afterAll(async () => {
  for (const replica of replicas) await replica.stop();
  await broker?.stop();
  await cluster?.close();
});

describe('the mosquitto overlay', () => {
  it('points the hub at the broker Service with the password file of the mounted Secret', () => {
    const deployment = find(cluster.objects, 'Deployment', 'cloud-hub');
    const args = container(deployment, 'cloud-hub').args ?? [];
    const mqtt = args.find((arg) => arg.startsWith('--mqtt='))!;
    const service = find(cluster.objects, 'Service', 'mosquitto') as unknown as { metadata: { name: string; namespace: string }; spec: { ports: { name: string; port: number }[] } };
    const hubPort = service.spec.ports.find((port) => port.name === 'mqtt-hub')!.port;
    expect(new URL(mqtt.slice('--mqtt='.length))).toMatchObject({ username: '_cloud-hub', hostname: `${service.metadata.name}.${service.metadata.namespace}.svc`, port: String(hubPort) });
    const passwordFile = args.find((arg) => arg.startsWith('--mqtt-password-file='))!.slice('--mqtt-password-file='.length);
    const mount = (container(deployment, 'cloud-hub') as unknown as { volumeMounts: { name: string; mountPath: string }[] }).volumeMounts.find((m) => passwordFile.startsWith(`${m.mountPath}/`))!;
    expect(podTemplate(deployment).spec.volumes!.find((v) => v.name === mount.name)!.secret).toMatchObject({ secretName: 'cloud-hub-mqtt' });
  });

  it('two replicas split the shards through Leases in edge-system, with exactly the granted verbs', async () => {
    const rewriteArg = (arg: string): string =>
      arg.startsWith('--mqtt=')
        ? arg.replace('mosquitto.edge-system.svc:1884', `127.0.0.1:${broker.hubPort}`)
        : arg.startsWith('--mqtt-password-file=')
          ? `--mqtt-password-file=${broker.hubPasswordFile}`
          : arg;
    for (const podName of ['cloud-hub-5d8f9c7b6-aaaaa', 'cloud-hub-5d8f9c7b6-bbbbb']) {
      const hub = await cluster.startHub({ rewriteArg, podName, extraArgs: ['--shard-lease-duration', '3000'] });
      replicas.push(hub.proc);
    }
    // Both replicas own shards, and each has renewed (updated) its Leases at least once.
    for (const replica of replicas) await replica.waitForLog((line) => line.msg === 'shard ownership changed' && (line.owned as number[]).length > 0, 15_000, 'shards owned');
    await waitFor(
      () => cluster.authz.decisions.filter((d) => d.user === HUB_USER.username && d.request.isResourceRequest && d.request.resource === 'leases' && d.request.verb === 'update').length >= 4,
      { timeoutMs: 15_000, what: 'lease renewals' },
    );
    const owned = (replica: RunningProcess) => (replica.logs.filter((line) => line.msg === 'shard ownership changed').at(-1)!.owned as number[]).length;
    await waitFor(() => owned(replicas[0]!) + owned(replicas[1]!) === 16 && owned(replicas[0]!) === 8, { timeoutMs: 20_000, what: 'an even split of 16 shards' });
    // A clean shutdown hands the shards over (list, then update each Lease it holds).
    await replicas[0]!.stop();
    await replicas[1]!.waitForLog((line) => line.msg === 'shard ownership changed' && (line.owned as number[]).length === 16, 15_000, 'all shards on the survivor');

    const summary = cluster.authz.summary(HUB_USER.username).join('\n');
    expect(cluster.authz.denied(HUB_USER.username), summary).toEqual([]);
    expect(cluster.authz.unused(HUB_USER, (grant) => grant.role === SHARD_ROLE), summary).toEqual([]);
    const leases = await cluster.admin.get<{ items: { metadata: { name: string } }[] }>('/apis/coordination.k8s.io/v1/namespaces/edge-system/leases');
    expect(leases.items.map((lease) => lease.metadata.name)).toContain('edge-hub-shard-0');
  });

  it('runs a broker where a node is only ever itself: its own listener, its own client id', async () => {
    const tokens = { a: await cluster.tokenCli('create', 'edge-mqtt-1'), b: await cluster.tokenCli('create', 'edge-mqtt-2') };
    await broker.reload();
    const login = (port: number, username: string, password: string, clientId: string) =>
      mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username, password, clientId, protocolVersion: 4, reconnectPeriod: 0 });
    // Neither side can log in on the other's listener.
    await expect(login(broker.hubPort, 'edge-mqtt-1', tokens.a, 'x')).rejects.toThrow(/Not authorized/i);
    await expect(login(broker.port, broker.hubUser, broker.hubPassword, 'x')).rejects.toThrow(/Not authorized/i);
    // A node choosing another node's client id gets its own: the other stays connected.
    const b = await login(broker.port, 'edge-mqtt-2', tokens.b, 'edge-edge-mqtt-2');
    let kicked = false;
    b.on('close', () => (kicked = true));
    const a = await login(broker.port, 'edge-mqtt-1', tokens.a, 'edge-edge-mqtt-2');
    // Both connections answer a round trip afterwards: the broker processed the second CONNECT.
    await a.publishAsync('edge/v1/edge-mqtt-1/presence', 'online', { qos: 1, retain: true });
    await b.publishAsync('edge/v1/edge-mqtt-2/presence', 'online', { qos: 1, retain: true });
    expect(kicked).toBe(false);
    await Promise.all([a.endAsync(), b.endAsync()]);
  });
});
