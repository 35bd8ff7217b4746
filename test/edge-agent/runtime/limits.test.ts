/**
 * Resources and securityContext in the process runtime, with real processes and the host's real
 * cgroups (this machine: cgroup v1; cgroup-v2.test.ts covers the v2 driver on a fake tree).
 * Every runtime here gets its own cgroup subtree, removed by the harness.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import type { CgroupDriver } from '../../../edge-agent/runtime/cgroup-driver.js';
import { requireTool } from '../../helpers/system-tools.js';
import { waitFor } from '../../helpers/wait.js';
import { Harness, keyOf, makePod, startedHarnesses } from './helpers.js';

const harness = startedHarnesses();

function driverOf(h: Harness): CgroupDriver {
  const driver = h.runtime.cgroups;
  if (!driver) throw new Error('the runtime found no usable cgroups (these tests need root and a writable cgroupfs)');
  return driver;
}

/** /proc/<pid>/status as a map. */
function procStatus(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) out[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return out;
}

/** The process of the container's cgroup running `comm` (the command itself, not the wrapper or bwrap). */
function findProcess(driver: CgroupDriver, cgroup: string, comm: string): number | undefined {
  return driver.pids(cgroup).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm;
    } catch {
      return false;
    }
  });
}

function waiting(h: Harness, key: string, name: string): JsonObject | undefined {
  return (h.container(key, name).state as JsonObject).waiting as JsonObject | undefined;
}

describe('resources', () => {
  it('kills a memory hog at its limit and reports OOMKilled with exit code 137, counted in its own cgroup', async () => {
    const h = await harness();
    const pod = makePod({
      name: 'hog',
      restartPolicy: 'Never',
      containers: [{ name: 'hog', image: 'x', command: ['tail', '/dev/zero'], resources: { limits: { memory: '48Mi' } } }],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    const terminated = await h.waitTerminated(key, 'hog');
    expect(terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(h.eventsOf('hog', 'OOMKilled')).toHaveLength(1);
    const driver = driverOf(h);
    const uid = (pod.metadata as JsonObject).uid as string;
    expect(driver.oomKills(`pod${uid}/hog`)).toBeGreaterThanOrEqual(1);
    expect(h.status(key).qosClass).toBe('Burstable');
  });

  it('holds a CPU-limited busy loop to its quota (measured from the cgroup\'s CPU usage)', async () => {
    const h = await harness();
    const pod = makePod({
      name: 'spin',
      containers: [{ name: 'spin', image: 'x', command: ['sh', '-c', 'while :; do :; done'], resources: { limits: { cpu: '200m', memory: '64Mi' } } }],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await h.waitRunning(key, 'spin');
    const driver = driverOf(h);
    const cgroup = `pod${(pod.metadata as JsonObject).uid as string}/spin`;
    expect(h.status(key).qosClass).toBe('Guaranteed');
    const startUs = driver.cpuUsageUs(cgroup) ?? 0;
    const startMs = performance.now();
    // Wait for 0.4 s of CPU: unthrottled that takes 0.4 s, at 200m at least 2 s.
    const usedUs = await waitFor(() => {
      const used = (driver.cpuUsageUs(cgroup) ?? 0) - startUs;
      return used >= 400_000 ? used : undefined;
    }, { what: '0.4 s of CPU used', timeoutMs: 30_000 });
    const elapsedMs = performance.now() - startMs;
    // A bound, not a window: at most the quota over the elapsed time, with 50% slack plus one
    // 100 ms period of burst at the start.
    expect(usedUs / 1000).toBeLessThanOrEqual(0.2 * elapsedMs * 1.5 + 100);
  });

  it('applies the per-Pod pids limit and removes the Pod\'s cgroups with the Pod', async () => {
    const h = await harness({ podMaxPids: 64 });
    const pod = makePod({ name: 'pids', containers: [{ name: 'main', image: 'x', command: ['sleep', '300'] }] });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await h.waitRunning(key, 'main');
    const uid = (pod.metadata as JsonObject).uid as string;
    const driver = driverOf(h);
    const procs = driver.procsFiles(`pod${uid}`).find((file) => file.includes('/pids/'));
    expect(procs).toBeDefined();
    expect(readFileSync(path.join(path.dirname(procs as string), 'pids.max'), 'utf8').trim()).toBe('64');
    await waitFor(() => findProcess(driver, `pod${uid}/main`, 'sleep'), { what: 'the sleep process in the container\'s cgroup' });
    expect(h.status(key).qosClass).toBe('BestEffort');
    await h.runtime.killPod(key, 5);
    expect(driver.children('')).not.toContain(`pod${uid}`);
  });

  it('keeps a limited container in its cgroup across a runtime restart, adopts it, and removes the cgroups with the Pod', async () => {
    const h = await harness();
    const pod = makePod({ name: 'kept', containers: [{ name: 'main', image: 'x', command: ['sleep', '300'], resources: { limits: { memory: '64Mi' } } }] });
    const key = keyOf(pod);
    const uid = (pod.metadata as JsonObject).uid as string;
    await h.runtime.syncPod(pod);
    const pid = await h.waitRunning(key, 'main');
    const driver = driverOf(h);
    const sleeper = await waitFor(() => findProcess(driver, `pod${uid}/main`, 'sleep'), { what: 'the sleep process' });
    await h.runtime.stop();
    const next = h.create();
    await next.start();
    expect(h.pid(key, 'main')).toBe(pid); // adopted, not restarted
    expect(findProcess(driverOf(h), `pod${uid}/main`, 'sleep')).toBe(sleeper);
    await next.killPod(key, 5);
    expect(driverOf(h).children('')).not.toContain(`pod${uid}`);
  });

  it('refuses to start a container with limits when there are no usable cgroups, and runs one without', async () => {
    const h = await harness({ cgroups: { ok: false, reason: 'no cgroup for this test' } });
    const limited = makePod({ name: 'limited', containers: [{ name: 'main', image: 'x', command: ['sleep', '300'], resources: { limits: { memory: '64Mi' } } }] });
    const free = makePod({ name: 'free', containers: [{ name: 'main', image: 'x', command: ['sleep', '300'], resources: { requests: { cpu: '100m' } } }] });
    await h.runtime.syncPod(limited);
    await h.runtime.syncPod(free);
    await h.waitRunning(keyOf(free), 'main');
    const reason = await waitFor(() => waiting(h, keyOf(limited), 'main'));
    expect(reason).toEqual({ reason: 'CreateContainerConfigError', message: 'container main: resources.limits cannot be enforced on this node: no cgroup for this test' });
    expect(h.eventsOf('main', 'Failed').map((event) => event.message)).toContain('Error: container main: resources.limits cannot be enforced on this node: no cgroup for this test');
  });

  it('refuses a quantity that is not one, naming the field', async () => {
    const h = await harness();
    const pod = makePod({ name: 'bad', containers: [{ name: 'main', image: 'x', command: ['sleep', '300'], resources: { limits: { memory: '12 GB; rm -rf' } } }] });
    await h.runtime.syncPod(pod);
    const reason = await waitFor(() => waiting(h, keyOf(pod), 'main'));
    expect(reason.reason).toBe('CreateContainerConfigError');
    expect(reason.message).toContain('resources.limits.memory: Invalid value: "12 GB; rm -rf"');
  });
});

describe('securityContext', () => {
  it('runs the command with runAsUser, runAsGroup and supplementalGroups as its real ids', async () => {
    requireTool('setpriv');
    const h = await harness();
    const pod = makePod({ name: 'ids', containers: [{ name: 'main', image: 'x', command: ['sleep', '300'], securityContext: { runAsUser: 1234, runAsGroup: 2345, allowPrivilegeEscalation: false } }] });
    (pod.spec as JsonObject).securityContext = { runAsUser: 999, supplementalGroups: [3456, 4567] };
    await h.runtime.syncPod(pod);
    await h.waitRunning(keyOf(pod), 'main');
    const driver = driverOf(h);
    const pid = await waitFor(() => findProcess(driver, `pod${(pod.metadata as JsonObject).uid as string}/main`, 'sleep'), { what: 'the sleep process' });
    const status = procStatus(pid);
    expect(status.Uid?.split(/\s+/)).toEqual(['1234', '1234', '1234', '1234']); // the container's runAsUser wins over the Pod's
    expect(status.Gid?.split(/\s+/)).toEqual(['2345', '2345', '2345', '2345']);
    expect(status.Groups?.split(/\s+/)).toEqual(['3456', '4567']);
    expect(status.NoNewPrivs).toBe('1');
  });

  it('sets the capability bounding set from capabilities add and drop', async () => {
    requireTool('setpriv');
    const h = await harness();
    const pod = makePod({ name: 'caps', containers: [{ name: 'main', image: 'x', command: ['sleep', '300'], securityContext: { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } }] });
    await h.runtime.syncPod(pod);
    await h.waitRunning(keyOf(pod), 'main');
    const pid = await waitFor(() => findProcess(driverOf(h), `pod${(pod.metadata as JsonObject).uid as string}/main`, 'sleep'), { what: 'the sleep process' });
    const status = procStatus(pid);
    // CAP_NET_BIND_SERVICE is bit 10: nothing else is left in the bounding or effective set.
    expect(BigInt(`0x${status.CapBnd}`)).toBe(1n << 10n);
    expect(BigInt(`0x${status.CapEff}`)).toBe(1n << 10n);
  });

  it('refuses runAsNonRoot when the command would run as root, with the kubelet\'s messages', async () => {
    const h = await harness();
    const implicit = makePod({ name: 'implicit', containers: [{ name: 'main', image: 'x', command: ['sleep', '300'] }] });
    (implicit.spec as JsonObject).securityContext = { runAsNonRoot: true };
    const explicit = makePod({ name: 'explicit', containers: [{ name: 'main', image: 'x', command: ['sleep', '300'], securityContext: { runAsNonRoot: true, runAsUser: 0 } }] });
    await h.runtime.syncPod(implicit);
    await h.runtime.syncPod(explicit);
    const uidOf = (pod: JsonObject) => (pod.metadata as JsonObject).uid as string;
    expect(await waitFor(() => waiting(h, keyOf(implicit), 'main'))).toEqual({
      reason: 'CreateContainerConfigError',
      message: `container has runAsNonRoot and image will run as root (pod: "implicit_default(${uidOf(implicit)})", container: main)`,
    });
    expect(await waitFor(() => waiting(h, keyOf(explicit), 'main'))).toEqual({
      reason: 'CreateContainerConfigError',
      message: `container's runAsUser breaks non-root policy (pod: "explicit_default(${uidOf(explicit)})", container: main)`,
    });
  });

  it('refuses privileged containers unless allowed', async () => {
    const refused = await harness();
    const pod = makePod({ name: 'priv', containers: [{ name: 'main', image: 'x', command: ['sleep', '300'], securityContext: { privileged: true } }] });
    await refused.runtime.syncPod(pod);
    expect(await waitFor(() => waiting(refused, keyOf(pod), 'main'))).toEqual({
      reason: 'CreateContainerConfigError',
      message: `pod with UID "${(pod.metadata as JsonObject).uid as string}" specified privileged container, but is disallowed`,
    });
    const allowed = await harness({ allowPrivileged: true });
    await allowed.runtime.syncPod(pod);
    await allowed.waitRunning(keyOf(pod), 'main');
  });

  it('refuses readOnlyRootFilesystem without bwrap, naming the field', async () => {
    const h = await harness();
    const pod = makePod({ name: 'ro', containers: [{ name: 'main', image: 'x', command: ['sleep', '300'], securityContext: { readOnlyRootFilesystem: true } }] });
    await h.runtime.syncPod(pod);
    const reason = await waitFor(() => waiting(h, keyOf(pod), 'main'));
    expect(reason.message).toMatch(/^container main: securityContext\.readOnlyRootFilesystem cannot be honoured: containers run without the bubblewrap sandbox/);
    expect(h.eventsOf('main', 'Failed')).toHaveLength(1);
  });

  it('with bwrap: runAsUser inside the sandbox and a read-only root, /tmp included', async () => {
    requireTool('bwrap');
    requireTool('setpriv');
    const h = await harness({ useBwrap: 'always' });
    const script = 'id -u; if touch /tmp/x 2>/dev/null; then echo tmp-writable; else echo tmp-readonly; fi; exec sleep 300';
    const pod = makePod({ name: 'sandboxed', containers: [{ name: 'main', image: 'x', command: ['sh', '-c', script], securityContext: { runAsUser: 1500, readOnlyRootFilesystem: true } }] });
    await h.runtime.syncPod(pod);
    await h.waitRunning(keyOf(pod), 'main');
    const pid = await waitFor(() => findProcess(driverOf(h), `pod${(pod.metadata as JsonObject).uid as string}/main`, 'sleep'), { what: 'the sleep process' });
    expect(procStatus(pid).Uid?.split(/\s+/)[0]).toBe('1500');
    const logFile = path.join(h.dataDir, 'pods', `default_sandboxed_${(pod.metadata as JsonObject).uid as string}`, 'logs', 'main.log');
    expect(await waitFor(() => {
      const log = readFileSync(logFile, 'utf8');
      return log.includes('tmp-') ? log : undefined;
    })).toBe('1500\ntmp-readonly\n');
  });
});
