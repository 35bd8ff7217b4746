/**
 * Workloads end to end: Pods scheduled through the API run as real processes on the agent,
 * with their configuration, restart policies and init containers; their status reaches the API
 * and kubectl; they keep running without the hub and across an agent kill -9; deleting them
 * stops them and finishes the deletion; nodes go NotReady when their agent goes away.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, type AgentHandle } from '../../helpers/cluster.js';
import { run } from '../../helpers/process.js';
import { requireTool } from '../../helpers/system-tools.js';
import { waitFor } from '../../helpers/wait.js';

type Obj = Record<string, any>;
const NS = 'work';

let cluster: TestCluster;
let agent: AgentHandle;
const agentArgs = ['--restart-backoff-initial', '300', '--restart-backoff-max', '1200'];

beforeAll(async () => {
  cluster = new TestCluster();
  await cluster.start(['--node-grace-period', '3000']);
  await cluster.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await cluster.client.create(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: NS }, data: { GREETING: 'hello', 'motd.txt': 'version-1' } });
  await cluster.client.create(`/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: NS }, stringData: { token: 's3cret' } });
  await cluster.tokenFile('worker');
  agent = await cluster.startAgent('worker', { args: agentArgs });
});

afterAll(async () => {
  await cluster?.close();
});

const podPath = (name = '') => `/api/v1/namespaces/${NS}/pods${name ? `/${name}` : ''}`;

async function createPod(name: string, spec: Obj, extra: Obj = {}): Promise<Obj> {
  return cluster.client.create<Obj>(podPath(), { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, ...extra }, spec: { nodeName: 'worker', ...spec } });
}

async function podStatus(name: string): Promise<Obj | undefined> {
  return (await cluster.client.get<Obj>(podPath(name))).status;
}

function logOf(pod: Obj, container: string): string {
  const file = path.join(agent.data, 'pods', `${NS}_${pod.metadata.name}_${pod.metadata.uid}`, 'logs', `${container}.log`);
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

function pidOf(status: Obj | undefined, container = 'main'): number | undefined {
  const id = status?.containerStatuses?.find((c: Obj) => c.name === container)?.containerID as string | undefined;
  return id ? Number(id.replace('process://', '')) : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function kubectl(...args: string[]): Promise<string> {
  const result = await run(requireTool('kubectl'), ['--kubeconfig', cluster.kubeconfig, ...args]);
  if (result.code !== 0) throw new Error(result.stderr);
  return result.stdout;
}

describe('pods on an edge node', () => {
  it('run with env and volumes from ConfigMaps and Secrets, and report Running to the API', async () => {
    const pod = await createPod('env-and-files', {
      containers: [
        {
          name: 'main',
          image: 'sh',
          command: ['sh', '-c', 'echo "greeting=$GREETING token=$TOKEN pod=$POD node=$NODE expanded=$(GREETING)-x"; while true; do cat "$EDGE_VOLUME_CONFIG/motd.txt"; echo; sleep 0.2; done'],
          env: [
            { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
            { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          ],
          envFrom: [{ configMapRef: { name: 'cfg' } }],
          volumeMounts: [{ name: 'config', mountPath: '/etc/app' }],
        },
      ],
      volumes: [{ name: 'config', configMap: { name: 'cfg' } }],
    });
    await waitFor(async () => (await podStatus('env-and-files'))?.phase === 'Running', { timeoutMs: 20_000, what: 'Running in the API' });
    await waitFor(() => logOf(pod, 'main').includes('version-1'), { what: 'the mounted file in the log' });
    expect(logOf(pod, 'main')).toContain('greeting=hello token=s3cret pod=env-and-files node=worker expanded=hello-x');

    // A changed ConfigMap changes the mounted file, not the environment of the running container.
    const pid = pidOf(await podStatus('env-and-files'))!;
    await cluster.client.mergePatch(`/api/v1/namespaces/${NS}/configmaps/cfg`, { data: { GREETING: 'changed', 'motd.txt': 'version-2' } });
    await waitFor(() => logOf(pod, 'main').includes('version-2'), { timeoutMs: 20_000, what: 'the new file content' });
    expect(pidOf(await podStatus('env-and-files'))).toBe(pid);
    expect(logOf(pod, 'main').match(/greeting=/g)).toHaveLength(1);
  });

  it('run init containers to completion in order before the app', async () => {
    const pod = await createPod('with-init', {
      initContainers: [
        { name: 'first', image: 'sh', command: ['sh', '-c', 'echo first >> "$EDGE_VOLUME_SHARED/order"'], volumeMounts: [{ name: 'shared', mountPath: '/shared' }] },
        { name: 'second', image: 'sh', command: ['sh', '-c', 'echo second >> "$EDGE_VOLUME_SHARED/order"'], volumeMounts: [{ name: 'shared', mountPath: '/shared' }] },
      ],
      containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', 'echo main >> "$EDGE_VOLUME_SHARED/order"; cat "$EDGE_VOLUME_SHARED/order"; sleep 3600'], volumeMounts: [{ name: 'shared', mountPath: '/shared' }] }],
      volumes: [{ name: 'shared', emptyDir: {} }],
    });
    await waitFor(() => logOf(pod, 'main').includes('main'), { timeoutMs: 20_000, what: 'main container output' });
    expect(logOf(pod, 'main').trim().split('\n')).toEqual(['first', 'second', 'main']);
    const status = await waitFor(async () => {
      const current = await podStatus('with-init');
      return current?.initContainerStatuses?.every((c: Obj) => c.state?.terminated?.reason === 'Completed') ? current : undefined;
    });
    expect(status.initContainerStatuses.map((c: Obj) => c.name)).toEqual(['first', 'second']);
  });

  it('apply restart policies: CrashLoopBackOff with growing restarts, Completed, Error', async () => {
    await createPod('crashy', { restartPolicy: 'Always', containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', 'exit 3'] }] });
    await createPod('done', { restartPolicy: 'Never', containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', 'exit 0'] }] });
    await createPod('failed', { restartPolicy: 'OnFailure', containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', 'exit 0'] }] });
    await createPod('broken', { restartPolicy: 'Never', containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', 'exit 7'] }] });
    const crashy = await waitFor(async () => {
      const status = await podStatus('crashy');
      const main = status?.containerStatuses?.[0];
      return main?.restartCount >= 2 && main.state?.waiting?.reason === 'CrashLoopBackOff' ? main : undefined;
    }, { timeoutMs: 30_000, what: 'CrashLoopBackOff after restarts' });
    expect(crashy.lastState.terminated.exitCode).toBe(3);
    await waitFor(async () => (await podStatus('done'))?.phase === 'Succeeded', { timeoutMs: 20_000, what: 'Succeeded' });
    await waitFor(async () => (await podStatus('failed'))?.phase === 'Succeeded', { timeoutMs: 20_000, what: 'OnFailure exit 0 is Succeeded' });
    await waitFor(async () => (await podStatus('broken'))?.phase === 'Failed', { timeoutMs: 20_000, what: 'Failed' });

    // A crash-looping container is briefly Running between its back-offs: read until kubectl shows the loop.
    const table = await waitFor(async () => {
      const text = await kubectl('get', 'pods', '-n', NS, '-o', 'wide');
      return /^crashy\s.*CrashLoopBackOff\s+\d+/m.test(text) ? text : undefined;
    }, { timeoutMs: 20_000, what: 'kubectl showing CrashLoopBackOff' });
    const row = (name: string) => table.split('\n').find((line) => line.startsWith(`${name} `)) ?? '';
    expect(row('crashy')).toContain('worker');
    expect(row('done')).toMatch(/Completed/);
    expect(row('broken')).toMatch(/Error/);
    expect(row('env-and-files')).toMatch(/1\/1\s+Running\s+0/);
  });

  it('keep running while the hub is down and across an agent kill -9 (same process)', async () => {
    await createPod('steady', { containers: [{ name: 'main', image: 'sh', command: ['sleep', '3600'] }] });
    const status = await waitFor(async () => {
      const current = await podStatus('steady');
      return current?.phase === 'Running' ? current : undefined;
    }, { timeoutMs: 20_000, what: 'steady Running' });
    const pid = pidOf(status)!;
    expect(alive(pid)).toBe(true);
    await cluster.stopHub();
    await agent.kill();
    expect(alive(pid)).toBe(true);
    agent = await cluster.startAgent('worker', { args: agentArgs });
    // The restarted agent adopts it: same process, no restart, served by the local API offline.
    const local = await waitFor(async () => {
      const pod = await agent.get<Obj>(podPath('steady'));
      return pod?.status?.phase === 'Running' ? pod : undefined;
    }, { what: 'steady Running on the local API' });
    expect(pidOf(local.status)).toBe(pid);
    expect(local.status.containerStatuses[0].restartCount).toBe(0);
    await cluster.startHub();
  });

  it('stop a deleted Pod within its grace period and finish the deletion', async () => {
    await createPod('stubborn', {
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done'] }],
    });
    const status = await waitFor(async () => {
      const current = await podStatus('stubborn');
      return current?.phase === 'Running' ? current : undefined;
    }, { timeoutMs: 20_000, what: 'stubborn Running' });
    const pid = pidOf(status)!;
    await cluster.client.delete(podPath('stubborn'));
    // Ignoring SIGTERM buys it the grace period, then SIGKILL. The deadline tells the Pod's 2 s
    // from the default 30 s and leaves a loaded machine room; the exact timing is process-runtime.test.ts's.
    await waitFor(() => !alive(pid), { timeoutMs: 20_000, what: 'process gone after the grace period' });
    await waitFor(async () => {
      try {
        await cluster.client.get(podPath('stubborn'));
        return false;
      } catch (err) {
        return (err as { status?: number }).status === 404;
      }
    }, { timeoutMs: 15_000, what: 'pod removed from the API' });
  });

  it('shows the node Ready with its capacity, and NotReady once its agent is gone past the grace period', async () => {
    const ready = await kubectl('get', 'nodes');
    expect(ready).toMatch(/worker\s+Ready\s+edge/);
    const node = await cluster.client.get<Obj>('/api/v1/nodes/worker');
    expect(Number(node.status.capacity.cpu)).toBeGreaterThan(0);
    expect(node.status.capacity.memory).toMatch(/Ki$/);
    await agent.stop();
    await waitFor(async () => /worker\s+NotReady/.test(await kubectl('get', 'nodes')), { timeoutMs: 20_000, what: 'NotReady' });
  });
});
