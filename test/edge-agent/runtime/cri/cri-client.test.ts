/**
 * The CRI client against a real containerd (test/helpers/containerd.ts): every RuntimeService
 * and ImageService call the CRI runtime makes, with the upstream field numbers proven by the
 * answers containerd gives (a wrong number would come back empty or be rejected).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CriClient, CriError, endpointAddress } from '../../../../edge-agent/runtime/cri/cri-client.js';
import type { PodSandboxConfig } from '../../../../edge-agent/runtime/cri/cri-types.js';
import { Containerd } from '../../../helpers/containerd.js';
import { buildTestImages, type TestImages } from '../../../helpers/test-images.js';
import { makeTempDir } from '../../../helpers/tmp.js';

type TempDir = ReturnType<typeof makeTempDir>;
import { waitFor } from '../../../helpers/wait.js';

let images: TestImages;
let containerd: Containerd;
let client: CriClient;
let logs: TempDir;

beforeAll(async () => {
  images = await buildTestImages();
  containerd = await Containerd.start({ images: [images.busybox, images.pause], sandboxImage: images.pause.reference });
  client = await CriClient.connect(containerd.endpoint);
  logs = makeTempDir('edge-cri-logs-');
}, 180_000);

afterAll(async () => {
  client?.close();
  await containerd?.stop();
  logs?.remove();
}, 60_000);

function sandboxConfig(name: string): PodSandboxConfig {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}-${process.pid}`, attempt: 0 },
    logDirectory: path.join(logs.path, name),
    labels: { 'io.kubernetes.pod.name': name, 'edge-test': String(process.pid) },
    annotations: { note: 'kept as given' },
    linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
  };
}

describe('endpoints', () => {
  it('takes kubelet\'s unix:/// form and plain paths, and refuses anything else', () => {
    expect(endpointAddress('unix:///run/containerd/containerd.sock')).toBe('unix:///run/containerd/containerd.sock');
    expect(endpointAddress('/run/x.sock')).toBe('unix:///run/x.sock');
    expect(() => endpointAddress('tcp://1.2.3.4:5')).toThrow(/only unix sockets/);
    expect(() => endpointAddress('unix://relative.sock')).toThrow(/absolute/);
  });
});

describe('a CRI client against containerd', () => {
  it('reads the runtime version', async () => {
    const version = await client.version();
    expect(version.runtimeName).toBe('containerd');
    expect(version.runtimeApiVersion).toBe('v1');
    expect(version.runtimeVersion).toMatch(/^\S+/);
  });

  it('runs a host-network sandbox and a container from the image\'s Cmd, with env, mounts, labels and a log file', async () => {
    const config = sandboxConfig('client-run');
    const sandboxId = await client.runPodSandbox(config);
    const listed = await client.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.name': 'client-run' } });
    expect(listed.map((item) => item.id)).toEqual([sandboxId]);
    expect(listed[0]!.state).toBe('SANDBOX_READY');
    expect(listed[0]!.metadata).toEqual(config.metadata);
    expect(listed[0]!.annotations).toEqual({ note: 'kept as given' });
    const status = await client.podSandboxStatus(sandboxId);
    expect(status.createdAt).toBeGreaterThan(Date.parse('2020-01-01') * 1e6);

    const mounted = makeTempDir('edge-cri-mount-');
    try {
      const containerId = await client.createContainer(
        sandboxId,
        {
          metadata: { name: 'main', attempt: 0 },
          image: { image: images.busybox.reference },
          args: ['sh', '-c', 'echo "greeting=$GREETING"; cat /mnt/data/file; exit 3'],
          envs: [{ key: 'GREETING', value: 'hello' }],
          mounts: [{ containerPath: '/mnt/data', hostPath: mounted.path, readonly: true }],
          labels: { 'io.kubernetes.container.name': 'main' },
          logPath: 'main/0.log',
        },
        config,
      );
      (await import('node:fs')).writeFileSync(path.join(mounted.path, 'file'), 'from the host\n');
      await client.startContainer(containerId);
      const exited = await waitFor(async () => {
        const current = await client.containerStatus(containerId);
        return current.state === 'CONTAINER_EXITED' && current;
      }, { what: 'the container to exit' });
      expect(exited.exitCode).toBe(3);
      expect(exited.reason).toBe('Error');
      // containerd stamps startedAt when runc's start returns and finishedAt from the exit event:
      // a process that exits at once can finish a fraction of a millisecond "before" it started.
      // Both are set, and both come after the container's creation.
      expect(exited.startedAt).toBeGreaterThanOrEqual(exited.createdAt);
      expect(exited.finishedAt).toBeGreaterThanOrEqual(exited.createdAt);
      expect(exited.imageRef).toMatch(/sha256:[0-9a-f]{64}/);
      expect(exited.labels['io.kubernetes.container.name']).toBe('main');
      expect(exited.logPath).toBe(path.join(logs.path, 'client-run', 'main/0.log'));
      // The shim copies output to the log asynchronously: it may land just after the exit.
      const log = await waitFor(() => {
        const text = existsSync(exited.logPath) ? readFileSync(exited.logPath, 'utf8') : '';
        return text.includes('from the host') && text;
      }, { what: 'both lines in the container log' });
      // CRI log format: RFC3339Nano timestamp, stream, F(ull)/P(artial), the line.
      expect(log).toMatch(/^\S+ stdout F greeting=hello$/m);
      expect(log).toMatch(/^\S+ stdout F from the host$/m);

      const containers = await client.listContainers({ podSandboxId: sandboxId });
      expect(containers.map((item) => [item.id, item.state, item.metadata.name])).toEqual([[containerId, 'CONTAINER_EXITED', 'main']]);
      await client.removeContainer(containerId);
      expect(await client.listContainers({ podSandboxId: sandboxId })).toEqual([]);
      await expect(client.containerStatus(containerId)).rejects.toSatisfy((err: unknown) => err instanceof CriError && err.notFound);
    } finally {
      mounted.remove();
    }
    await client.stopPodSandbox(sandboxId);
    expect((await client.podSandboxStatus(sandboxId)).state).toBe('SANDBOX_NOTREADY');
    await client.removePodSandbox(sandboxId);
    expect(await client.listPodSandbox({ id: sandboxId })).toEqual([]);
    // Idempotent, as the CRI requires.
    await client.removePodSandbox(sandboxId);
  });

  it('stops a running container within its timeout and reopens its log', async () => {
    const config = sandboxConfig('client-stop');
    const sandboxId = await client.runPodSandbox(config);
    const containerId = await client.createContainer(
      sandboxId,
      { metadata: { name: 'sleeper', attempt: 0 }, image: { image: images.busybox.reference }, command: ['sh', '-c', 'trap "" TERM; echo up; while true; do sleep 0.1; done'], logPath: 'sleeper/0.log' },
      config,
    );
    await client.startContainer(containerId);
    expect((await client.containerStatus(containerId)).state).toBe('CONTAINER_RUNNING');
    await client.reopenContainerLog(containerId);
    await waitFor(() => existsSync(path.join(logs.path, 'client-stop', 'sleeper/0.log')) && readFileSync(path.join(logs.path, 'client-stop', 'sleeper/0.log'), 'utf8').includes('up'), { what: 'the trap to be set' });
    await client.stopContainer(containerId, 1);
    const stopped = await client.containerStatus(containerId);
    expect(stopped.state).toBe('CONTAINER_EXITED');
    expect(stopped.exitCode).toBe(137); // SIGTERM ignored: SIGKILL after the timeout
    await client.stopPodSandbox(sandboxId);
    await client.removePodSandbox(sandboxId);
    expect(await client.listContainers({ id: containerId })).toEqual([]);
  });

  it('lists, inspects and removes images and reports the image filesystem', async () => {
    const list = await client.listImages();
    const busybox = list.find((image) => image.repoTags.includes(images.busybox.reference));
    expect(busybox?.size).toBeGreaterThan(0);
    expect(busybox?.id).toMatch(/^sha256:/);
    expect((await client.imageStatus(images.busybox.reference))?.id).toBe(busybox!.id);
    expect(await client.imageStatus('localhost/edge-test/absent:1')).toBeUndefined();
    const fs = await client.imageFsInfo();
    // containerd counts the snapshots' usage every 10 s or so: a fresh one may still say 0.
    expect(typeof fs[0]?.usedBytes?.value).toBe('number');
    expect(existsSync(fs[0]!.fsId!.mountpoint)).toBe(true);
    await expect(client.pullImage({ image: '127.0.0.1:1/none:1' }, { username: 'u', password: 'p' })).rejects.toThrow(/127\.0\.0\.1:1/);
    await containerd.ctrOk(['images', 'tag', images.busybox.reference, 'localhost/edge-test/copy:1']);
    // CRI learns of images created behind its back from containerd's events, asynchronously.
    await waitFor(() => client.imageStatus('localhost/edge-test/copy:1'), { what: 'CRI to see the tagged image' });
    await client.removeImage('localhost/edge-test/copy:1');
    expect(await client.imageStatus('localhost/edge-test/copy:1')).toBeUndefined();
    // CRI removes the image, all its names with it (the kubelet's image GC removes by image id).
    expect(await client.imageStatus(images.busybox.reference)).toBeUndefined();
    await containerd.importImage(images.busybox);
  });
});
