/**
 * deploy/docker/Dockerfile as users get it: both targets built with buildah (vfs, nofile 20000)
 * FROM the locally assembled Node.js base (scripts/images/base-node.sh) for linux/amd64, pushed
 * to OCI archives, imported into a private containerd, and run with `ctr run --net-host
 * --read-only` as the image's user:
 *
 * - cloud-hub, with the kubeconfig of the embedded API (`cloud-hub apiserver` on the host)
 *   mounted read-only: /readyz answers, the process is uid 10001 on a read-only root;
 * - edge-agent (the bundled agent), with its token mounted read-only and a data directory:
 *   it connects to the hub container and syncs a Pod, served on its local API.
 *
 * The build reaches the npm registry (npm ci) with the host's CA bundle (the sandbox intercepts
 * TLS), keeps npm's cache in .cache/images/npm-cache, and takes better-sqlite3's binary from a
 * local prebuild made from the repository's own build (GitHub, where prebuild-install downloads
 * it, is not reachable). Slow (minutes): `npm run test:images`, not `npm test`.
 */
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { TokenAdmin } from '../../cloud-hub/auth/token-admin.js';
import { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import { localPrebuilds } from '../../scripts/agent-bundle/install.js';
import { Containerd } from '../helpers/containerd.js';
import { freePort } from '../helpers/mosquitto.js';
import { BIN, REPO, startProcess, type RunningProcess } from '../helpers/process.js';
import { buildahBuild, buildNodeBaseImage, type TestImage } from '../helpers/test-images.js';
import { makeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const UID = 10001;
const NODE = 'edge-image';
const NS = 'images';
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const dir = makeTempDir('edge-images-');
const timings: Record<string, number> = {};
const ids = { hub: `edge-img-hub-${process.pid}`, agent: `edge-img-agent-${process.pid}` };
let containerd: Containerd;
let api: RunningProcess;
let client: KubeClient;
let images: { hub: TestImage; agent: TestImage };

async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    timings[what] = performance.now() - started;
  }
}

/** buildah bud options for one target of the Dockerfile, FROM the local base, offline but for npm. */
function buildArgs(target: string, base: TestImage): string[] {
  const cache = path.join(REPO, '.cache/images/npm-cache');
  const prebuilds = localPrebuilds(path.join(dir.path, 'prebuilds'));
  mkdirSync(cache, { recursive: true });
  const archiveBase = `oci-archive:${base.archive}`;
  return [
    '-f', path.join(REPO, 'deploy/docker/Dockerfile'),
    '--target', target,
    '--platform', 'linux/amd64',
    // No --layers: with vfs storage every committed layer is a full copy of the file system, so
    // one commit per stage (buildah's default) is much faster than caching every instruction,
    // even though the second target compiles again.
    '--build-arg', `BASE=${archiveBase}`,
    '--build-arg', `BUILD_BASE=${archiveBase}`,
    ...(existsSync(CA_BUNDLE) ? ['-v', `${CA_BUNDLE}:${CA_BUNDLE}:ro`, '--build-arg', `NODE_EXTRA_CA_CERTS=${CA_BUNDLE}`] : []),
    '-v', `${cache}:/npm-cache`, '--build-arg', 'npm_config_cache=/npm-cache',
    '-v', `${prebuilds}:/prebuilds:ro`, '--build-arg', 'npm_config_better_sqlite3_local_prebuilds=/prebuilds',
    REPO,
  ];
}

/** The uid a container's process runs as, and whether its root filesystem is mounted read-only (from the host's /proc). */
function processView(pid: number): { uid: number; rootReadOnly: boolean } {
  const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  const root = readFileSync(`/proc/${pid}/mounts`, 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .find((fields) => fields[1] === '/');
  return { uid, rootReadOnly: root?.[3]?.split(',').includes('ro') ?? false };
}

async function runningTask(id: string): Promise<number> {
  const task = await waitFor(async () => {
    const found = await containerd.task(id);
    return found?.status === 'RUNNING' ? found : undefined;
  }, { what: `container ${id} running` });
  return task.pid;
}

function logOf(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').slice(-4000) : '(no log)';
}

beforeAll(async () => {
  const base = await timed('node base image (cached after the first build)', () => buildNodeBaseImage());
  const hub = await timed('buildah: cloud-hub target', () => buildahBuild(path.join(dir.path, 'hub.tar'), 'localhost/edge-sync/cloud-hub:test', buildArgs('cloud-hub', base), { timeoutMs: 1_200_000 }));
  const agent = await timed('buildah: edge-agent target', () => buildahBuild(path.join(dir.path, 'agent.tar'), 'localhost/edge-sync/edge-agent:test', buildArgs('edge-agent', base), { timeoutMs: 1_200_000 }));
  images = { hub, agent };
  containerd = await Containerd.start();
  await timed('ctr images import (both)', async () => {
    await containerd.importImage(hub);
    await containerd.importImage(agent);
  });
  api = await startProcess(BIN.cloudHub, ['apiserver', '--data', path.join(dir.path, 'api'), '--listen', '127.0.0.1:0']);
  const config = new KubeConfig();
  config.loadFromFile(path.join(dir.path, 'api/kubeconfig'));
  client = new KubeClient(config);
}, 3_600_000);

afterAll(async () => {
  await containerd?.stop();
  client?.close();
  await api?.stop();
  dir.remove();
  console.log(`edge-sync image timings:\n${Object.entries(timings).map(([what, ms]) => `  ${what}: ${(ms / 1000).toFixed(1)} s`).join('\n')}`);
}, 120_000);

describe('the cloud-hub and edge-agent images (deploy/docker/Dockerfile)', () => {
  let hubPort = 0;

  it('cloud-hub runs read-only as uid 10001 against the embedded API (kubeconfig mounted) and /readyz answers', async () => {
    const kubeDir = path.join(dir.path, 'kube');
    mkdirSync(kubeDir);
    writeFileSync(path.join(kubeDir, 'kubeconfig'), readFileSync(path.join(dir.path, 'api/kubeconfig')), { mode: 0o644 });
    hubPort = await freePort();
    const metricsPort = await freePort();
    const log = path.join(dir.path, 'hub.log');
    const started = await containerd.runContainer(images.hub.reference, ids.hub, ['node', 'cloud-hub.js', '--kubeconfig', '/etc/edge-sync/kubeconfig', '--listen', `127.0.0.1:${hubPort}`, '--metrics', `127.0.0.1:${metricsPort}`], {
      detach: true,
      readOnly: true,
      mounts: [{ src: kubeDir, dst: '/etc/edge-sync' }],
      logFile: log,
    });
    expect(started.code, started.stderr).toBe(0);
    const pid = await runningTask(ids.hub);
    await timed('cloud-hub container: start to /readyz 200', () =>
      waitFor(async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: 90_000, what: `the hub's /readyz (log: ${logOf(log)})` }),
    );
    expect(processView(pid)).toEqual({ uid: UID, rootReadOnly: true });
    expect(logOf(log)).toMatch(/"msg":"ready"/);
  }, 180_000);

  it('edge-agent (the bundled agent) runs read-only as uid 10001, connects to the hub container and syncs a Pod', async () => {
    expect(hubPort).toBeGreaterThan(0);
    const etc = path.join(dir.path, 'agent-etc');
    const data = path.join(dir.path, 'agent-data');
    mkdirSync(etc);
    mkdirSync(data);
    // The token belongs to the agent's user alone (it refuses one others can read).
    writeFileSync(path.join(etc, 'token'), `${await new TokenAdmin(client, 'edge-system').create(NODE)}\n`, { mode: 0o600 });
    chownSync(path.join(etc, 'token'), UID, UID);
    chownSync(data, UID, UID);
    await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await client.create(`/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: NS }, spec: { nodeName: NODE, containers: [{ name: 'app', image: 'app:1' }] } });
    const localApiPort = await freePort();
    const log = path.join(dir.path, 'agent.log');
    const started = await containerd.runContainer(
      images.agent.reference,
      ids.agent,
      ['node', 'edge-agent.js', '--node', NODE, '--hub', `ws://127.0.0.1:${hubPort}`, '--data', '/var/lib/edge-agent', '--token-file', '/etc/edge-agent/token', '--local-api', `127.0.0.1:${localApiPort}`, '--metrics', `127.0.0.1:${await freePort()}`],
      { detach: true, readOnly: true, mounts: [{ src: etc, dst: '/etc/edge-agent' }, { src: data, dst: '/var/lib/edge-agent', readOnly: false }], logFile: log },
    );
    expect(started.code, started.stderr).toBe(0);
    const pid = await runningTask(ids.agent);
    const pod = await timed('edge-agent container: start to the Pod on its local API', () =>
      waitFor(async () => {
        const response = await fetch(`http://127.0.0.1:${localApiPort}/api/v1/namespaces/${NS}/pods/web`).catch(() => undefined);
        return response?.status === 200 ? ((await response.json()) as { spec: { nodeName: string } }) : undefined;
      }, { timeoutMs: 90_000, what: `the Pod on the agent's local API (log: ${logOf(log)})` }),
    );
    expect(pod.spec.nodeName).toBe(NODE);
    expect(processView(pid)).toEqual({ uid: UID, rootReadOnly: true });
    // The hub creates the Node, then patches its status from the hello: wait for the status.
    const kubeletVersion = await waitFor(async () => (await client.get<{ status?: { nodeInfo?: { kubeletVersion?: string } } }>(`/api/v1/nodes/${NODE}`).catch(() => undefined))?.status?.nodeInfo?.kubeletVersion, { what: 'the status of the Node the agent registered' });
    expect(kubeletVersion).toMatch(/^edge-sync\/\d+\.\d+\.\d+/);
    // Its cache is in the mounted data directory, written as uid 10001.
    expect(existsSync(path.join(data, 'cache.db'))).toBe(true);
  }, 180_000);
});
