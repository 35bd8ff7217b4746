/**
 * Resources and securityContext end to end, process runtime: an agent started with its own
 * --cgroup-root, reservations and a pids limit runs Pods scheduled through the API; kubectl
 * shows what happened (OOMKilled, the QoS class, the kubelet's refusals, the Node's
 * allocatable), and the host shows it is true (the cgroup's CPU usage, the process's uid).
 * This machine runs cgroup v1: the limits here are the kernel's v1 ones.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBytes, parseCpuMillis } from '../../../protocol/kube/quantity.js';
import { cgroupDirsOf, removeCgroupRoot, testCgroupRoot } from '../../helpers/cgroups.js';
import { TestCluster } from '../../helpers/cluster.js';
import { run } from '../../helpers/process.js';
import { requireTool } from '../../helpers/system-tools.js';
import { waitFor } from '../../helpers/wait.js';

type Obj = Record<string, any>;
const NS = 'limits';
const NODE = 'limited';
const ROOT = testCgroupRoot();

let cluster: TestCluster;

beforeAll(async () => {
  requireTool('setpriv');
  cluster = new TestCluster();
  await cluster.start();
  await cluster.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await cluster.tokenFile(NODE);
  const args = ['--cgroup-root', ROOT, '--pod-max-pids', '200', '--system-reserved', 'cpu=250m,memory=256Mi', '--kube-reserved', 'memory=128Mi', '--sandbox', 'never'];
  await cluster.startAgent(NODE, { args });
}, 120_000);

afterAll(async () => {
  await cluster?.close();
  await removeCgroupRoot(ROOT);
}, 60_000);

const podPath = (name = '') => `/api/v1/namespaces/${NS}/pods${name ? `/${name}` : ''}`;

async function createPod(name: string, spec: Obj): Promise<Obj> {
  return cluster.client.create<Obj>(podPath(), { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: { nodeName: NODE, ...spec } });
}

async function kubectl(...args: string[]): Promise<string> {
  const result = await run(requireTool('kubectl'), ['--kubeconfig', cluster.kubeconfig, ...args]);
  if (result.code !== 0) throw new Error(result.stderr);
  return result.stdout;
}

async function podJson(name: string): Promise<Obj> {
  return JSON.parse(await kubectl('get', 'pod', name, '-n', NS, '-o', 'json')) as Obj;
}

/** A container cgroup's directory in one v1 hierarchy (or the v2 mount). */
function cgroupDir(controller: string, uid: string, container: string): string {
  const dirs = cgroupDirsOf(ROOT);
  const dir = dirs.find((candidate) => candidate.includes(`/${controller}/`)) ?? dirs[0];
  if (!dir) throw new Error(`no cgroup ${ROOT}`);
  return path.join(dir, `pod${uid}`, container);
}

function readNumber(file: string): number {
  return Number(readFileSync(file, 'utf8').trim());
}

/** The pid in the container's cgroup running `comm`. */
function processIn(uid: string, container: string, comm: string): number | undefined {
  const procs = readFileSync(path.join(cgroupDir('memory', uid, container), 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  return procs.find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm;
    } catch {
      return false;
    }
  });
}

describe('resources and securityContext through kubectl (process runtime)', () => {
  it('reports allocatable as capacity minus --system-reserved and --kube-reserved', async () => {
    const node = await waitFor(async () => {
      const found = JSON.parse(await kubectl('get', 'node', NODE, '-o', 'json')) as Obj;
      return found.status?.allocatable ? found : undefined;
    }, { what: 'the Node with allocatable' });
    const { capacity, allocatable } = node.status as { capacity: Record<string, string>; allocatable: Record<string, string> };
    expect(parseCpuMillis(allocatable.cpu as string)).toBe((parseCpuMillis(capacity.cpu as string) as number) - 250);
    const expectedKi = Math.floor(((parseBytes(capacity.memory as string) as number) - 384 * 2 ** 20) / 1024);
    expect(allocatable.memory).toBe(`${expectedKi}Ki`);
  });

  it('OOM-kills a memory hog at its limit: kubectl shows OOMKilled, exit code 137, and a Burstable QoS class', async () => {
    const pod = await createPod('hog', { restartPolicy: 'Never', containers: [{ name: 'hog', image: 'busybox', command: ['tail', '/dev/zero'], resources: { limits: { memory: '48Mi' }, requests: { memory: '16Mi' } } }] });
    const status = await waitFor(async () => {
      const current = (await podJson('hog')).status as Obj;
      return current.containerStatuses?.[0]?.state?.terminated ? current : undefined;
    }, { timeoutMs: 60_000, what: 'the hog terminated in the API' });
    expect(status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(status.qosClass).toBe('Burstable');
    expect(await kubectl('get', 'pod', 'hog', '-n', NS, '--no-headers')).toMatch(/^hog\s+0\/1\s+OOMKilled\s+0\s/);
    expect(readNumber(path.join(cgroupDir('memory', pod.metadata.uid, 'hog'), 'memory.limit_in_bytes'))).toBe(48 * 2 ** 20);
  });

  it('holds a CPU-limited busy loop under its quota, measured from its cgroup; Guaranteed', async () => {
    const pod = await createPod('spin', { containers: [{ name: 'spin', image: 'busybox', command: ['sh', '-c', 'while :; do :; done'], resources: { limits: { cpu: '250m', memory: '32Mi' } } }] });
    await waitFor(async () => (await podJson('spin')).status?.containerStatuses?.[0]?.state?.running, { timeoutMs: 30_000, what: 'spin running' });
    expect((await podJson('spin')).status.qosClass).toBe('Guaranteed');
    const usage = path.join(cgroupDir('cpuacct', pod.metadata.uid, 'spin'), 'cpuacct.usage');
    const startNs = readNumber(usage);
    const startMs = performance.now();
    // 0.5 s of CPU: unthrottled a busy loop uses that in 0.5 s; at 250m it needs at least 2 s.
    const usedNs = await waitFor(() => {
      const used = readNumber(usage) - startNs;
      return used >= 500_000_000 ? used : undefined;
    }, { timeoutMs: 30_000, what: '0.5 s of CPU used by spin' });
    const elapsedMs = performance.now() - startMs;
    // A bound: quota × elapsed, with 50% slack and one 100 ms period of burst.
    expect(usedNs / 1e6).toBeLessThanOrEqual(0.25 * elapsedMs * 1.5 + 100);
    await cluster.client.delete(podPath('spin'));
  });

  it('runs the command as runAsUser, runAsGroup and supplementalGroups (read from /proc)', async () => {
    const pod = await createPod('ids', {
      securityContext: { runAsUser: 4321, runAsGroup: 5432, supplementalGroups: [6543] },
      containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    });
    const pid = await waitFor(() => {
      try {
        return processIn(pod.metadata.uid, 'main', 'sleep');
      } catch {
        return undefined; // its cgroup is not made yet
      }
    }, { timeoutMs: 30_000, what: 'sleep in its cgroup' });
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    expect(status).toMatch(/^Uid:\s+4321\s+4321\s+4321\s+4321$/m);
    expect(status).toMatch(/^Gid:\s+5432\s+5432\s+5432\s+5432$/m);
    expect(status).toMatch(/^Groups:\s+6543\s*$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^CapBnd:\s+0+$/m);
    expect(readNumber(path.join(path.dirname(cgroupDir('pids', pod.metadata.uid, 'main')), 'pids.max'))).toBe(200);
    expect((await podJson('ids')).status.qosClass).toBe('BestEffort');
  });

  it('refuses runAsNonRoot (the command would run as root) and privileged, with the kubelet\'s messages', async () => {
    const nonRoot = await createPod('nonroot', { securityContext: { runAsNonRoot: true }, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] });
    const privileged = await createPod('privileged', { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], securityContext: { privileged: true } }] });
    const waiting = (name: string) =>
      waitFor(async () => (await podJson(name)).status?.containerStatuses?.[0]?.state?.waiting?.message ? (await podJson(name)).status.containerStatuses[0].state.waiting : undefined, { timeoutMs: 30_000, what: `${name} waiting with a message` });
    expect(await waiting('nonroot')).toEqual({
      reason: 'CreateContainerConfigError',
      message: `container has runAsNonRoot and image will run as root (pod: "nonroot_${NS}(${nonRoot.metadata.uid})", container: main)`,
    });
    expect(await waiting('privileged')).toEqual({ reason: 'CreateContainerConfigError', message: `pod with UID "${privileged.metadata.uid}" specified privileged container, but is disallowed` });
    expect(await kubectl('get', 'pod', 'nonroot', '-n', NS, '--no-headers')).toMatch(/^nonroot\s+0\/1\s+CreateContainerConfigError\s/);
    const events = await waitFor(async () => {
      const text = await kubectl('get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=nonroot', '-o', 'json');
      const items = (JSON.parse(text) as Obj).items as Obj[];
      return items.find((event) => event.reason === 'Failed') ? items : undefined;
    }, { timeoutMs: 30_000, what: 'a Failed event for nonroot' });
    expect(events.find((event) => event.reason === 'Failed')?.message).toContain('container has runAsNonRoot and image will run as root');
  });
});
