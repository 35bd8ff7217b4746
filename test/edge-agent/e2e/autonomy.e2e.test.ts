/**
 * Edge autonomy against a control plane that evicts: `cloud-hub apiserver` runs the node
 * lifecycle, taint-based eviction and DefaultTolerationSeconds (2 s here, so a few seconds of
 * outage are many eviction windows), the hub runs in its own process, and the agent reaches the
 * hub through a TCP proxy that a test can cut. During a partition the node goes NotReady and is
 * tainted unreachable:NoExecute; the pods the hub made autonomous keep running (same uid, same
 * process, 0 restarts, never Terminating); the pod that opted out is evicted; after the link
 * comes back the taints go and the evicted pod is stopped and removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, type AgentHandle } from '../../helpers/cluster.js';
import { TcpProxy } from '../../helpers/tcp-proxy.js';
import { waitFor } from '../../helpers/wait.js';

type Obj = Record<string, any>;
const NS = 'default';
const NODE = 'edge-autonomy';
const TOLERATION_SECONDS = 2;
const UNREACHABLE = 'node.kubernetes.io/unreachable';

let cluster: TestCluster;
let proxy: TcpProxy;
let agent: AgentHandle;

beforeAll(async () => {
  cluster = new TestCluster();
  await cluster.start(['--node-grace-period', '1000'], [
    '--node-monitor-grace-period', '1500ms',
    '--node-monitor-period', '100ms',
    '--default-unreachable-toleration-seconds', String(TOLERATION_SECONDS),
    '--default-not-ready-toleration-seconds', String(TOLERATION_SECONDS),
  ]);
  proxy = await new TcpProxy(Number(new URL(cluster.hubUrl.replace('ws:', 'http:')).port)).start();
  await cluster.tokenFile(NODE);
  agent = await cluster.startAgent(NODE, { hubUrl: `ws://127.0.0.1:${proxy.port}` });
});

afterAll(async () => {
  await cluster?.close();
  await proxy?.close();
});

const podPath = (name = '') => `/api/v1/namespaces/${NS}/pods${name ? `/${name}` : ''}`;
const getPod = (name: string) => cluster.client.get<Obj>(podPath(name));
const getNode = (name: string) => cluster.client.get<Obj>(`/api/v1/nodes/${name}`);
const unreachableSeconds = (pod: Obj) => pod.spec.tolerations?.find((t: Obj) => t.key === UNREACHABLE && t.effect === 'NoExecute')?.tolerationSeconds;

async function createPod(name: string, node: string, annotations?: Record<string, string>): Promise<Obj> {
  return cluster.client.create<Obj>(podPath(), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, ...(annotations ? { annotations } : {}) },
    spec: { nodeName: node, containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', 'while true; do sleep 1; done'] }] },
  });
}

function running(pod: Obj): { uid: string; pid: string; restarts: number } | undefined {
  const main = pod.status?.containerStatuses?.find((c: Obj) => c.name === 'main');
  if (pod.status?.phase !== 'Running' || !main?.state?.running) return undefined;
  return { uid: pod.metadata.uid, pid: main.containerID, restarts: main.restartCount };
}

describe('a partition longer than the eviction window', () => {
  it('leaves autonomous pods running untouched and evicts only the pod that opted out', async () => {
    // A node that turned autonomy off (registered by hand, no agent): its pod keeps the bounded toleration.
    await cluster.client.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'opted-out-node', labels: { 'node-role.kubernetes.io/edge': '' }, annotations: { 'edge-sync.io/autonomy': 'false' } } });
    await createPod('on-opted-out-node', 'opted-out-node');
    const keepers = ['keeper-a', 'keeper-b'];
    for (const name of keepers) await createPod(name, NODE);
    await createPod('failover', NODE, { 'edge-sync.io/autonomy': 'false' });

    // The admission gave every pod 2 s; the hub lifted the bound on the autonomous node's pods only.
    for (const name of keepers) {
      await waitFor(async () => unreachableSeconds(await getPod(name)) === undefined, { what: `${name} tolerating the outage forever` });
      const tolerations = (await getPod(name)).spec.tolerations as Obj[];
      expect(tolerations.filter((t) => t.effect === 'NoExecute').map((t) => t.key).sort()).toEqual(['node.kubernetes.io/not-ready', UNREACHABLE]);
      expect(tolerations.every((t) => t.tolerationSeconds === undefined)).toBe(true);
    }
    expect(unreachableSeconds(await getPod('failover'))).toBe(TOLERATION_SECONDS);
    expect(unreachableSeconds(await getPod('on-opted-out-node'))).toBe(TOLERATION_SECONDS);

    const before = new Map<string, { uid: string; pid: string; restarts: number }>();
    for (const name of [...keepers, 'failover']) before.set(name, await waitFor(async () => running(await getPod(name)), { timeoutMs: 30_000, what: `${name} Running` }));
    for (const name of keepers) expect(before.get(name)!.restarts).toBe(0);

    // The link goes down; the node is tainted once its Lease is stale.
    proxy.partition();
    const tainted = await waitFor(async () => {
      const node = await getNode(NODE);
      return node.spec?.taints?.find((t: Obj) => t.key === UNREACHABLE && t.effect === 'NoExecute');
    }, { timeoutMs: 30_000, what: 'the unreachable NoExecute taint' });
    const failover = await waitFor(async () => {
      const pod = await getPod('failover');
      return pod.metadata.deletionTimestamp ? pod : undefined;
    }, { timeoutMs: 30_000, what: 'the opted-out pod evicted' });
    expect(failover.status.conditions).toContainEqual(expect.objectContaining({ type: 'DisruptionTarget', reason: 'DeletionByTaintManager' }));
    // Three eviction windows past the taint, still partitioned (a lower bound on the outage).
    const longAfter = Date.parse(tainted.timeAdded) + 3 * TOLERATION_SECONDS * 1000;
    await waitFor(() => Date.now() > longAfter, { timeoutMs: 30_000, what: 'the outage to outlast the eviction window' });
    expect((await getNode(NODE)).spec.taints).toContainEqual(expect.objectContaining({ key: UNREACHABLE, effect: 'NoExecute' }));
    for (const name of keepers) expect((await getPod(name)).metadata.deletionTimestamp).toBeUndefined();

    // The link comes back: the node reports, its taints go, the evicted pod is stopped and removed.
    proxy.heal();
    await waitFor(async () => {
      const node = await getNode(NODE);
      const ready = node.status?.conditions?.find((c: Obj) => c.type === 'Ready')?.status === 'True';
      return ready && !node.spec?.taints?.some((t: Obj) => t.key === UNREACHABLE);
    }, { timeoutMs: 60_000, what: 'the node Ready and untainted again' });
    await waitFor(async () => {
      try {
        await getPod('failover');
        return false;
      } catch (err) {
        return (err as { status?: number }).status === 404;
      }
    }, { timeoutMs: 30_000, what: 'the evicted pod stopped on the node and removed' });

    for (const name of keepers) {
      const pod = await getPod(name);
      expect(pod.metadata.deletionTimestamp).toBeUndefined();
      expect(running(pod)).toEqual(before.get(name));
    }
    // Nothing on the node is Terminating and only the failover pod is gone.
    const list = await cluster.client.get<{ items: Obj[] }>(podPath(), { fieldSelector: `spec.nodeName=${NODE}` });
    expect(list.items.map((pod) => pod.metadata.name).sort()).toEqual(keepers);
    expect(list.items.filter((pod) => pod.metadata.deletionTimestamp)).toEqual([]);
    expect(agent.proc.running).toBe(true);
  });
});
