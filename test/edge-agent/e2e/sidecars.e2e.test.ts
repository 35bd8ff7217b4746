/**
 * Sidecar containers end to end on the process runtime: a Pod with an init container of
 * `restartPolicy: Always` scheduled through the embedded API runs on a real agent; `kubectl get
 * pod -o json` shows the sidecar running, started and ready in initContainerStatuses alongside
 * the running app container, and a `restartPolicy: Never` Pod completes once its app container
 * has, its sidecar stopped.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../../helpers/cluster.js';
import { run } from '../../helpers/process.js';
import { requireTool } from '../../helpers/system-tools.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

type Obj = Record<string, any>;
const NS = 'sidecars';

let cluster: TestCluster;
let ctl: ReturnType<typeof makeTempDir>;

beforeAll(async () => {
  ctl = makeTempDir('edge-sidecars-e2e-');
  cluster = new TestCluster();
  await cluster.start();
  await cluster.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await cluster.tokenFile('sidecar-node');
  await cluster.startAgent('sidecar-node');
});

afterAll(async () => {
  await cluster?.close();
  ctl?.remove();
});

const podPath = (name = '') => `/api/v1/namespaces/${NS}/pods${name ? `/${name}` : ''}`;
const mount = [{ name: 'ctl', mountPath: '/ctl' }];

async function createPod(name: string, dir: string, spec: Obj): Promise<Obj> {
  return cluster.client.create<Obj>(podPath(), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { nodeName: 'sidecar-node', volumes: [{ name: 'ctl', hostPath: { path: dir, type: 'Directory' } }], ...spec },
  });
}

async function kubectlPod(name: string): Promise<Obj> {
  const result = await run(requireTool('kubectl'), ['--kubeconfig', cluster.kubeconfig, 'get', 'pod', name, '-n', NS, '-o', 'json']);
  if (result.code !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as Obj;
}

function mkdir(name: string): string {
  const dir = path.join(ctl.path, name);
  mkdirSync(dir);
  return dir;
}

describe('sidecar containers through the agent and kubectl', () => {
  it('shows the sidecar running in initContainerStatuses next to the running app container', async () => {
    const dir = mkdir('running');
    await createPod('with-sidecar', dir, {
      // The startupProbe is what orders the two: without one, a sidecar counts as started once its
      // process is spawned, and its first line may come after the app's (as in the kubelet).
      initContainers: [
        {
          name: 'proxy',
          image: 'sh',
          restartPolicy: 'Always',
          command: ['sh', '-c', 'echo proxy >> /ctl/order; exec sleep 3600'],
          volumeMounts: mount,
          startupProbe: { exec: { command: ['grep', '-qx', 'proxy', '/ctl/order'] }, periodSeconds: 1, failureThreshold: 120 },
        },
      ],
      containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', 'echo main >> /ctl/order; exec sleep 3600'], volumeMounts: mount }],
    });
    const pod = await waitFor(
      async () => {
        const got = await kubectlPod('with-sidecar');
        return got.status?.phase === 'Running' && got.status.conditions?.find((c: Obj) => c.type === 'Ready')?.status === 'True' ? got : undefined;
      },
      { what: 'the Pod Running and Ready in kubectl' },
    );
    expect(pod.status.initContainerStatuses).toEqual([expect.objectContaining({ name: 'proxy', started: true, ready: true, restartCount: 0, state: { running: expect.any(Object) } })]);
    expect(pod.status.containerStatuses[0]).toMatchObject({ name: 'main', ready: true, state: { running: {} } });
    expect(pod.status.conditions.find((c: Obj) => c.type === 'Initialized').status).toBe('True');
    expect(readFileSync(path.join(dir, 'order'), 'utf8').split('\n').filter(Boolean)).toEqual(['proxy', 'main']);
  });

  it('completes a restartPolicy Never Pod once its app container has: the sidecar is stopped', async () => {
    const dir = mkdir('job');
    await createPod('job', dir, {
      restartPolicy: 'Never',
      initContainers: [{ name: 'proxy', image: 'sh', restartPolicy: 'Always', command: ['sh', '-c', 'exec sleep 3600'] }],
      containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', 'exit 0'] }],
    });
    const pod = await waitFor(
      async () => {
        const got = await kubectlPod('job');
        return got.status?.phase === 'Succeeded' ? got : undefined;
      },
      { what: 'the Pod Succeeded in kubectl' },
    );
    expect(pod.status.initContainerStatuses[0]).toMatchObject({ name: 'proxy', restartCount: 0, state: { terminated: {} } });
    expect(pod.status.containerStatuses[0]).toMatchObject({ name: 'main', state: { terminated: { exitCode: 0 } } });
  });
});
