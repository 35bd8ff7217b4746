/**
 * Container workloads end to end: an agent started with --container-runtime-endpoint runs the
 * Pods scheduled through the API as containers in a private containerd (test/helpers/
 * containerd.ts) from locally built images and from a private registry with htpasswd; kubectl
 * shows their container and image IDs; restart policies, pull secrets, agent kill -9, a restart
 * with the hub down after the containers died (a reboot), and deletion all behave as on a kubelet.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupDirsOf, removeCgroupRoot, testCgroupRoot } from '../../helpers/cgroups.js';
import { TestCluster, type AgentHandle } from '../../helpers/cluster.js';
import { Containerd } from '../../helpers/containerd.js';
import { run } from '../../helpers/process.js';
import { Registry, type RegistryUser } from '../../helpers/registry.js';
import { requireTool } from '../../helpers/system-tools.js';
import { buildTestImages, type TestImages } from '../../helpers/test-images.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

type Obj = Record<string, any>;
const NS = 'apps';
const NODE = 'box';
const owner: RegistryUser = { name: 'edge-puller', password: 'right-password-1' };
const CGROUP_ROOT = testCgroupRoot();

let images: TestImages;
let containerd: Containerd;
let registry: Registry;
let privateImage: string;
let cluster: TestCluster;
let agent: AgentHandle;
let agentArgs: string[];

beforeAll(async () => {
  images = await buildTestImages();
  containerd = await Containerd.start({ images: [images.busybox, images.pause], sandboxImage: images.pause.reference });
  registry = await Registry.start([owner]);
  privateImage = await registry.push(images.busybox.archive, 'edge-test/private:1');
  containerd.addPlainHttpRegistry(registry.host);
  cluster = new TestCluster();
  await cluster.start();
  await cluster.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await cluster.client.create(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: NS }, data: { GREETING: 'hello', 'motd.txt': 'version-1' } });
  await cluster.client.create(`/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: NS }, stringData: { token: 's3cret' } });
  for (const [name, password] of [['pull-right', owner.password], ['pull-wrong', 'wrong-password']] as const) {
    const config = { auths: { [registry.host]: { username: owner.name, password, auth: Buffer.from(`${owner.name}:${password}`).toString('base64') } } };
    await cluster.client.create(`/api/v1/namespaces/${NS}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: NS },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') },
    });
  }
  await cluster.tokenFile(NODE);
  agentArgs = ['--container-runtime-endpoint', containerd.endpoint, '--restart-backoff-initial', '300', '--restart-backoff-max', '1200', '--cgroup-root', CGROUP_ROOT];
  agent = await cluster.startAgent(NODE, { args: agentArgs });
}, 240_000);

afterAll(async () => {
  await cluster?.close();
  await containerd?.stop();
  await registry?.stop();
  await removeCgroupRoot(CGROUP_ROOT);
}, 120_000);

const podPath = (name = '') => `/api/v1/namespaces/${NS}/pods${name ? `/${name}` : ''}`;

async function createPod(name: string, spec: Obj): Promise<Obj> {
  return cluster.client.create<Obj>(podPath(), { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: { nodeName: NODE, ...spec } });
}

async function podStatus(name: string): Promise<Obj | undefined> {
  return (await cluster.client.get<Obj>(podPath(name))).status;
}

/** The Pod's status once its `container` runs. */
function running(name: string, container = 'main', timeoutMs = 60_000): Promise<Obj> {
  return waitFor(async () => {
    const status = await podStatus(name);
    return status?.phase === 'Running' && status.containerStatuses?.find((c: Obj) => c.name === container)?.state?.running ? status : undefined;
  }, { timeoutMs, what: `${name} running ${container} in the API` });
}

async function kubectl(...args: string[]): Promise<string> {
  const result = await run(requireTool('kubectl'), ['--kubeconfig', cluster.kubeconfig, ...args]);
  if (result.code !== 0) throw new Error(result.stderr);
  return result.stdout;
}

/** containerd's record of a container: its labels and whether its task runs. */
async function containerInfo(containerID: string): Promise<{ labels: Record<string, string>; task?: { pid: number; status: string } }> {
  const id = containerID.replace('containerd://', '');
  const info = JSON.parse((await containerd.ctrOk(['containers', 'info', id])).stdout) as { Labels: Record<string, string> };
  const task = await containerd.task(id);
  return { labels: info.Labels, ...(task ? { task } : {}) };
}

/** The Pod's containers in containerd, its sandbox's pause container not counted. */
async function containersOfPod(uid: string): Promise<string[]> {
  const { stdout } = await containerd.ctrOk(['containers', 'ls', '-q', `labels."io.kubernetes.pod.uid"==${uid},labels."io.cri-containerd.kind"==container`]);
  return stdout.split('\n').filter(Boolean);
}

describe('an agent with --container-runtime-endpoint', () => {
  it('runs a Pod from an image with env and volumes; kubectl shows it Running with its containerID and imageID', async () => {
    const pod = await createPod('web', {
      containers: [
        {
          name: 'main',
          image: images.busybox.reference,
          // No command: the image's entrypoint (none) with these args.
          args: ['sh', '-c', 'echo "greeting=$GREETING token=$(cat /etc/secret/token) node=$NODE"; cat /etc/app/motd.txt; echo; echo data > /scratch/file; exec sleep 3600'],
          env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
          envFrom: [{ configMapRef: { name: 'cfg' } }],
          volumeMounts: [
            { name: 'config', mountPath: '/etc/app' },
            { name: 'secret', mountPath: '/etc/secret' },
            { name: 'scratch', mountPath: '/scratch' },
          ],
        },
        // Neither command nor args: the image's Cmd (sh) runs, and exits at once with no stdin.
        { name: 'cmd', image: images.busybox.reference },
      ],
      restartPolicy: 'OnFailure',
      // sleep as PID 1 ignores SIGTERM: deletion waits this long, then SIGKILL.
      terminationGracePeriodSeconds: 2,
      volumes: [
        { name: 'config', configMap: { name: 'cfg' } },
        { name: 'secret', secret: { secretName: 'creds' } },
        { name: 'scratch', emptyDir: {} },
      ],
    });
    const status = await waitFor(async () => {
      const current = await podStatus('web');
      const main = current?.containerStatuses?.find((c: Obj) => c.name === 'main');
      const cmd = current?.containerStatuses?.find((c: Obj) => c.name === 'cmd');
      return main?.state?.running && cmd?.state?.terminated ? current : undefined;
    }, { timeoutMs: 60_000, what: 'web running, its cmd container completed' });
    const main = status.containerStatuses.find((c: Obj) => c.name === 'main');
    const cmd = status.containerStatuses.find((c: Obj) => c.name === 'cmd');
    expect(main.containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    expect(main.imageID).toMatch(/sha256:[0-9a-f]{64}/);
    expect(cmd.state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(status.phase).toBe('Running');

    const table = await kubectl('get', 'pod', 'web', '-n', NS, '-o', 'jsonpath={.status.containerStatuses[?(@.name=="main")].imageID} {.status.containerStatuses[?(@.name=="main")].containerID}');
    expect(table).toBe(`${main.imageID} ${main.containerID}`);

    // Labelled as the kubelet labels them.
    const info = await containerInfo(main.containerID);
    expect(info.labels).toMatchObject({
      'io.kubernetes.pod.name': 'web',
      'io.kubernetes.pod.namespace': NS,
      'io.kubernetes.pod.uid': pod.metadata.uid,
      'io.kubernetes.container.name': 'main',
    });
    expect(info.task?.status).toBe('RUNNING');

    // The kubelet's log layout under the agent's root, in the CRI log format.
    const log = path.join(agent.data, 'log', 'pods', `${NS}_web_${pod.metadata.uid}`, 'main', '0.log');
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('version-1'), { what: 'the container log' });
    const text = readFileSync(log, 'utf8');
    expect(text).toMatch(/^\S+ stdout F greeting=hello token=s3cret node=box$/m);
    expect(text).toMatch(/^\S+ stdout F version-1$/m);
  });

  it('pulls a private image only with the right imagePullSecrets: wrong or missing give ErrImagePull, then ImagePullBackOff', async () => {
    const spec = (secret?: string): Obj => ({
      containers: [{ name: 'main', image: privateImage, command: ['sleep', '3600'] }],
      ...(secret ? { imagePullSecrets: [{ name: secret }] } : {}),
    });
    await createPod('private-wrong', spec('pull-wrong'));
    await createPod('private-none', spec());
    for (const name of ['private-wrong', 'private-none']) {
      const seen = new Set<string>();
      await waitFor(async () => {
        const reason = (await podStatus(name))?.containerStatuses?.[0]?.state?.waiting?.reason;
        if (reason) seen.add(reason);
        return seen.has('ErrImagePull') && seen.has('ImagePullBackOff');
      }, { timeoutMs: 60_000, intervalMs: 50, what: `${name}: ErrImagePull then ImagePullBackOff` });
      const waiting = (await podStatus(name))?.containerStatuses?.[0]?.state?.waiting;
      expect(['ErrImagePull', 'ImagePullBackOff']).toContain(waiting.reason);
      expect((await podStatus(name))?.phase).toBe('Pending');
    }
    const events = await kubectl('get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=private-wrong', '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}');
    expect(events).toMatch(/Failed: (main: )?Failed to pull image ".*private:1": .*401 Unauthorized/);

    await createPod('private-right', spec('pull-right'));
    const status = await running('private-right');
    expect(status.containerStatuses[0].imageID).toMatch(new RegExp(`${registry.host.replace('.', '\\.')}/edge-test/private@sha256:[0-9a-f]{64}$`));
  });

  it('restarts a crashing container with CrashLoopBackOff and growing restart counts', async () => {
    await createPod('crashy', { containers: [{ name: 'main', image: images.busybox.reference, command: ['sh', '-c', 'echo crashing; exit 3'] }] });
    const main = await waitFor(async () => {
      const current = (await podStatus('crashy'))?.containerStatuses?.[0];
      return current?.restartCount >= 2 && current.state?.waiting?.reason === 'CrashLoopBackOff' ? current : undefined;
    }, { timeoutMs: 60_000, what: 'CrashLoopBackOff after restarts' });
    expect(main.lastState.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(main.lastState.terminated.containerID).toMatch(/^containerd:\/\//);
    const uid = (await cluster.client.get<Obj>(podPath('crashy'))).metadata.uid;
    // The kubelet keeps the last dead instance (for lastState and logs); older ones are removed.
    expect((await containersOfPod(uid)).length).toBeLessThanOrEqual(2);
    const logs = readdirSync(path.join(agent.data, 'log', 'pods', `${NS}_crashy_${uid}`, 'main'));
    expect(logs.length).toBeGreaterThanOrEqual(2); // 0.log, 1.log, ...
  });

  it('enforces a memory limit (OOMKilled in kubectl), runs as runAsUser in the Pod\'s cgroup, and refuses runAsNonRoot for a root image', async () => {
    const pod = await createPod('limited', {
      restartPolicy: 'Never',
      containers: [
        { name: 'hog', image: images.busybox.reference, command: ['tail', '/dev/zero'], resources: { limits: { memory: '32Mi' } } },
        { name: 'main', image: images.busybox.reference, command: ['sleep', '3600'], securityContext: { runAsUser: 2345, runAsGroup: 3456 } },
      ],
    });
    await createPod('rootimage', { securityContext: { runAsNonRoot: true }, containers: [{ name: 'main', image: images.busybox.reference, command: ['sleep', '3600'] }] });
    const status = await waitFor(async () => {
      const current = await podStatus('limited');
      const hog = current?.containerStatuses?.find((c: Obj) => c.name === 'hog');
      return hog?.state?.terminated && current?.containerStatuses?.find((c: Obj) => c.name === 'main')?.state?.running ? current : undefined;
    }, { timeoutMs: 60_000, what: 'the hog terminated and main running' });
    expect(status.containerStatuses.find((c: Obj) => c.name === 'hog').state.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(status.qosClass).toBe('Burstable');
    const main = status.containerStatuses.find((c: Obj) => c.name === 'main');
    const task = (await containerInfo(main.containerID)).task;
    expect(task?.status).toBe('RUNNING');
    const procStatus = readFileSync(`/proc/${task!.pid}/status`, 'utf8');
    expect(procStatus).toMatch(/^Uid:\s+2345\s+2345\s+2345\s+2345$/m);
    expect(procStatus).toMatch(/^Gid:\s+3456\s+3456\s+3456\s+3456$/m);
    // The sandbox's cgroup_parent: the Pod's cgroup below --cgroup-root.
    expect(readFileSync(`/proc/${task!.pid}/cgroup`, 'utf8')).toMatch(new RegExp(`:memory:${CGROUP_ROOT}/cri/pod${pod.metadata.uid}/`));
    expect(cgroupDirsOf(CGROUP_ROOT).length).toBeGreaterThan(0);
    const refused = await waitFor(async () => (await podStatus('rootimage'))?.containerStatuses?.[0]?.state?.waiting?.message ? (await podStatus('rootimage'))!.containerStatuses[0].state.waiting : undefined, { timeoutMs: 60_000, what: 'rootimage refused' });
    const rootUid = (await cluster.client.get<Obj>(podPath('rootimage'))).metadata.uid;
    expect(refused).toEqual({ reason: 'CreateContainerConfigError', message: `container has runAsNonRoot and image will run as root (pod: "rootimage_${NS}(${rootUid})", container: main)` });
    expect(await kubectl('get', 'pod', 'limited', '-n', NS, '-o', 'jsonpath={.status.containerStatuses[?(@.name=="hog")].state.terminated.reason}')).toBe('OOMKilled');
    await cluster.client.delete(podPath('limited'));
    await cluster.client.delete(podPath('rootimage'));
  });

  it('runs init containers to completion, in order, before the app container, sharing an emptyDir', async () => {
    await createPod('with-init', {
      initContainers: [
        { name: 'first', image: images.busybox.reference, command: ['sh', '-c', 'echo one > /work/steps'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
        { name: 'second', image: images.busybox.reference, command: ['sh', '-c', 'grep -q one /work/steps && echo two >> /work/steps'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
      ],
      containers: [{ name: 'main', image: images.busybox.reference, command: ['sh', '-c', 'cat /work/steps; exec sleep 3600'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
      volumes: [{ name: 'work', emptyDir: {} }],
    });
    const status = await running('with-init');
    expect(status.initContainerStatuses.map((c: Obj) => [c.name, c.state?.terminated?.reason, c.state?.terminated?.exitCode])).toEqual([
      ['first', 'Completed', 0],
      ['second', 'Completed', 0],
    ]);
    const uid = (await cluster.client.get<Obj>(podPath('with-init'))).metadata.uid;
    const log = path.join(agent.data, 'log', 'pods', `${NS}_with-init_${uid}`, 'main', '0.log');
    // CRI log lines: "<time> stdout F <text>"; the second init container ran after the first.
    const lines = await waitFor(() => (existsSync(log) && /\btwo$/m.test(readFileSync(log, 'utf8')) ? readFileSync(log, 'utf8') : undefined), { what: 'the app container\'s log' });
    expect(lines).toMatch(/ stdout F one\n.* stdout F two$/m);
  });

  it('runs a Pod with runtimeClassName edge-process as a process next to the containers', async () => {
    await createPod('as-process', { runtimeClassName: 'edge-process', containers: [{ name: 'main', image: 'ignored', command: ['sleep', '3600'] }] });
    const status = await running('as-process');
    expect(status.containerStatuses[0].containerID).toMatch(/^process:\/\/\d+$/);
  });

  it('runs probes through ExecSync: readiness flips READY in kubectl, liveness restarts, preStop runs before the stop signal; activeDeadlineSeconds fails a Pod', async () => {
    const ctl = makeTempDir('edge-cri-probes-');
    try {
      const fast = { periodSeconds: 1, failureThreshold: 1 };
      await createPod('probed', {
        containers: [
          {
            name: 'main',
            image: images.busybox.reference,
            args: ['sh', '-c', "trap 'echo term >> /ctl/order; exit 0' TERM; while true; do sleep 0.2; done"],
            readinessProbe: { exec: { command: ['test', '-f', '/ctl/ready'] }, ...fast },
            lifecycle: { preStop: { exec: { command: ['sh', '-c', 'sleep 0.5; echo prestop >> /ctl/order'] } } },
            volumeMounts: [{ name: 'ctl', mountPath: '/ctl' }],
          },
        ],
        terminationGracePeriodSeconds: 10,
        volumes: [{ name: 'ctl', hostPath: { path: ctl.path, type: 'Directory' } }],
      });
      // Its file goes after a second: the liveness probe fails and the container is restarted.
      await createPod('liveness', {
        containers: [{ name: 'main', image: images.busybox.reference, args: ['sh', '-c', 'touch /tmp/alive; sleep 1; rm /tmp/alive; exec sleep 3600'], livenessProbe: { exec: { command: ['test', '-f', '/tmp/alive'] }, ...fast } }],
        terminationGracePeriodSeconds: 1,
      });
      // activeDeadlineSeconds: Failed with DeadlineExceeded, its container stopped and not restarted.
      await createPod('deadline', { activeDeadlineSeconds: 3, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: images.busybox.reference, args: ['sleep', '3600'] }] });
      const readyColumn = async () => (await kubectl('get', 'pod', 'probed', '-n', NS, '--no-headers')).trim().split(/\s+/)[1];
      await running('probed');
      await waitFor(async () => (await readyColumn()) === '0/1', { what: 'probed 0/1 in kubectl get pods' });
      writeFileSync(path.join(ctl.path, 'ready'), '');
      await waitFor(async () => (await readyColumn()) === '1/1', { timeoutMs: 30_000, what: 'probed 1/1 in kubectl get pods' });
      expect((await podStatus('probed'))?.conditions?.find((c: Obj) => c.type === 'Ready')?.status).toBe('True');
      rmSync(path.join(ctl.path, 'ready'));
      await waitFor(async () => (await readyColumn()) === '0/1', { timeoutMs: 30_000, what: 'probed 0/1 again' });

      await waitFor(async () => (await podStatus('liveness'))?.containerStatuses?.[0]?.restartCount >= 1, { timeoutMs: 60_000, what: 'liveness restarted' });
      const events = await kubectl('get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=liveness', '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}');
      expect(events).toMatch(/Unhealthy: (main: )?Liveness probe failed: /);
      expect(events).toMatch(/Killing: (main: )?Container main failed liveness probe, will be restarted/);

      // On a loaded machine a CRI start can take longer than the 3 s deadline: then the container
      // never starts (waiting), else it is stopped (terminated). Either way it is not running.
      const failed = await waitFor(async () => {
        const status = await podStatus('deadline');
        const state = status?.containerStatuses?.[0]?.state;
        return status?.phase === 'Failed' && state && !state.running ? status : undefined;
      }, { timeoutMs: 60_000, what: 'deadline Failed with its container not running' });
      expect(failed).toMatchObject({ reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' });
      expect(failed.containerStatuses[0].restartCount).toBe(0);

      await cluster.client.delete(podPath('probed'));
      await cluster.client.delete(podPath('liveness'));
      await cluster.client.delete(podPath('deadline'));
      await waitFor(() => existsSync(path.join(ctl.path, 'order')) && readFileSync(path.join(ctl.path, 'order'), 'utf8').includes('term'), { timeoutMs: 60_000, what: 'main stopped' });
      expect(readFileSync(path.join(ctl.path, 'order'), 'utf8').split('\n').filter(Boolean)).toEqual(['prestop', 'term']);
      for (const name of ['probed', 'liveness', 'deadline']) {
        await waitFor(async () => cluster.client.get(podPath(name)).then(() => false, (err: { status?: number }) => err.status === 404), { timeoutMs: 60_000, what: `${name} removed` });
      }
    } finally {
      ctl.remove();
    }
  });

  it('keeps the containers across an agent kill -9, and adopts them', async () => {
    const before = (await running('web')).containerStatuses.find((c: Obj) => c.name === 'main');
    const task = (await containerInfo(before.containerID)).task!;
    await agent.kill();
    expect((await containerInfo(before.containerID)).task).toEqual(task);
    agent = await cluster.startAgent(NODE, { args: agentArgs });
    const local = await waitFor(async () => {
      const pod = await agent.get<Obj>(podPath('web'));
      return pod?.status?.phase === 'Running' ? pod : undefined;
    }, { what: 'web Running on the local API after the restart' });
    const after = local.status.containerStatuses.find((c: Obj) => c.name === 'main');
    expect(after.containerID).toBe(before.containerID);
    expect(after.restartCount).toBe(0);
    expect((await containerInfo(before.containerID)).task).toEqual(task);
  });

  it('starts its Pods again from the cache and local images when the containers died and the hub is down (a reboot)', async () => {
    const before = (await running('web')).containerStatuses.find((c: Obj) => c.name === 'main');
    await cluster.stopHub();
    await agent.kill();
    // What a reboot leaves: no task runs, containerd and its records (and images) remain.
    for (const id of (await containerd.ctrOk(['tasks', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) {
      await containerd.ctr(['tasks', 'kill', '--signal', 'SIGKILL', id]);
    }
    await waitFor(async () => (await containerd.ctrOk(['tasks', 'ls'])).stdout.split('\n').slice(1).every((line) => !/RUNNING/.test(line)), { what: 'every task stopped' });
    agent = await cluster.startAgent(NODE, { args: agentArgs });
    const local = await waitFor(async () => {
      const pod = await agent.get<Obj>(podPath('web'));
      const main = pod?.status?.containerStatuses?.find((c: Obj) => c.name === 'main');
      return main?.state?.running && main.containerID !== before.containerID ? main : undefined;
    }, { timeoutMs: 60_000, what: 'web running again, in a new container, with the hub down' });
    expect(local.containerID).toMatch(/^containerd:\/\//);
    expect((await containerInfo(local.containerID)).task?.status).toBe('RUNNING');
    await cluster.startHub();
  });

  it('stops and removes the containers and sandbox of a deleted Pod', async () => {
    const pod = await cluster.client.get<Obj>(podPath('web'));
    expect((await containersOfPod(pod.metadata.uid)).length).toBeGreaterThan(0);
    await cluster.client.delete(podPath('web'));
    await waitFor(async () => {
      try {
        await cluster.client.get(podPath('web'));
        return false;
      } catch (err) {
        return (err as { status?: number }).status === 404;
      }
    }, { timeoutMs: 60_000, what: 'web removed from the API' });
    expect(await containersOfPod(pod.metadata.uid)).toEqual([]);
    const sandboxes = await containerd.ctrOk(['containers', 'ls', '-q', `labels."io.kubernetes.pod.uid"==${pod.metadata.uid}`]);
    expect(sandboxes.stdout.trim()).toBe('');
    expect(existsSync(path.join(agent.data, 'log', 'pods', `${NS}_web_${pod.metadata.uid}`))).toBe(false);
  });
});
