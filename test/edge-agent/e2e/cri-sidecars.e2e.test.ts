/**
 * Sidecar containers on the CRI runtime end to end: an agent with --container-runtime-endpoint
 * on a private containerd (test/helpers/containerd.ts) runs a Pod whose init container has
 * `restartPolicy: Always`: the next init container starts while it runs, the API shows it
 * running, started and ready in initContainerStatuses next to the app container, and a
 * `restartPolicy: Never` Pod completes once its app container has, its sidecar stopped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeCgroupRoot, testCgroupRoot } from '../../helpers/cgroups.js';
import { TestCluster } from '../../helpers/cluster.js';
import { Containerd } from '../../helpers/containerd.js';
import { buildTestImages, type TestImages } from '../../helpers/test-images.js';
import { waitFor } from '../../helpers/wait.js';

type Obj = Record<string, any>;
const NS = 'sidecars';
const NODE = 'cri-sidecars';
const CGROUP_ROOT = testCgroupRoot();

let images: TestImages;
let containerd: Containerd;
let cluster: TestCluster;

beforeAll(async () => {
  images = await buildTestImages();
  containerd = await Containerd.start({ images: [images.busybox, images.pause], sandboxImage: images.pause.reference });
  cluster = new TestCluster();
  await cluster.start();
  await cluster.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await cluster.tokenFile(NODE);
  await cluster.startAgent(NODE, { args: ['--container-runtime-endpoint', containerd.endpoint, '--restart-backoff-initial', '300', '--restart-backoff-max', '1200', '--cgroup-root', CGROUP_ROOT] });
}, 240_000);

afterAll(async () => {
  await cluster?.close();
  await containerd?.stop();
  await removeCgroupRoot(CGROUP_ROOT);
}, 120_000);

const podPath = (name = '') => `/api/v1/namespaces/${NS}/pods${name ? `/${name}` : ''}`;
const work = [{ name: 'work', mountPath: '/work' }];
/** Runs until SIGTERM (busybox sh as PID 1 has no default SIGTERM action: it needs the trap). */
const untilTerm = "trap 'exit 0' TERM; while true; do sleep 1; done";

async function createPod(name: string, spec: Obj): Promise<Obj> {
  return cluster.client.create<Obj>(podPath(), { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: { nodeName: NODE, volumes: [{ name: 'work', emptyDir: {} }], ...spec } });
}

async function podStatus(name: string): Promise<Obj | undefined> {
  return (await cluster.client.get<Obj>(podPath(name))).status;
}

describe('sidecar containers on the CRI runtime', () => {
  it('starts the next init container while the sidecar runs, and shows it running next to the app container', async () => {
    await createPod('with-sidecar', {
      initContainers: [
        { name: 'proxy', image: images.busybox.reference, restartPolicy: 'Always', command: ['sh', '-c', `echo proxy >> /work/steps; ${untilTerm}`], volumeMounts: work },
        // Succeeds only after the sidecar has started (it wrote to the shared emptyDir); the sidecar still runs.
        { name: 'setup', image: images.busybox.reference, command: ['sh', '-c', 'grep -q proxy /work/steps && echo setup >> /work/steps'], volumeMounts: work },
      ],
      containers: [{ name: 'main', image: images.busybox.reference, command: ['sh', '-c', `cat /work/steps; ${untilTerm}`], volumeMounts: work }],
    });
    const status = await waitFor(
      async () => {
        const got = await podStatus('with-sidecar');
        return got?.phase === 'Running' && got.conditions?.find((c: Obj) => c.type === 'Ready')?.status === 'True' ? got : undefined;
      },
      { timeoutMs: 60_000, what: 'the Pod Running and Ready' },
    );
    const [proxy, setup] = status.initContainerStatuses as Obj[];
    expect(proxy).toMatchObject({ name: 'proxy', started: true, ready: true, restartCount: 0, state: { running: {} } });
    expect(proxy?.containerID).toMatch(/^containerd:\/\//);
    expect(setup).toMatchObject({ name: 'setup', state: { terminated: { exitCode: 0, reason: 'Completed' } } });
    expect(status.containerStatuses[0]).toMatchObject({ name: 'main', ready: true, state: { running: {} } });
  });

  it('completes a restartPolicy Never Pod once its app container has: the sidecar is stopped, not restarted', async () => {
    await createPod('job', {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 5,
      initContainers: [{ name: 'proxy', image: images.busybox.reference, restartPolicy: 'Always', command: ['sh', '-c', untilTerm] }],
      containers: [{ name: 'main', image: images.busybox.reference, command: ['sh', '-c', 'exit 0'] }],
    });
    const status = await waitFor(async () => {
      const got = await podStatus('job');
      return got?.phase === 'Succeeded' ? got : undefined;
    }, { timeoutMs: 60_000, what: 'the Pod Succeeded' });
    expect(status.initContainerStatuses[0]).toMatchObject({ name: 'proxy', restartCount: 0, state: { terminated: {} } });
    expect(status.containerStatuses[0]).toMatchObject({ name: 'main', state: { terminated: { exitCode: 0 } } });
  });
});
