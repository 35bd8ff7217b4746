/**
 * A hub told to stop stops, even when its clean stop cannot finish: with the API frozen the
 * Lease hand-over never gets an answer, and the process still exits after --shutdown-timeout
 * (saying so), or at once on a second signal.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { MOSQUITTO, Mosquitto } from '../helpers/mosquitto.js';
import { requireTool } from '../helpers/system-tools.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function hubWithFrozenApi(shutdownTimeoutMs: number): Promise<TestCluster> {
  requireTool(MOSQUITTO, 'mosquitto');
  const cluster = await new TestCluster().start();
  cleanups.push(async () => {
    cluster.api.child.kill('SIGCONT');
    await cluster.close();
  });
  const mosquitto = await new Mosquitto(cluster.dir.path, cluster.kubeconfig).start();
  cleanups.push(() => mosquitto.stop());
  await cluster.stopHub();
  // Shards make the stop talk to the API (it hands its Leases over), which is what hangs.
  await cluster.startHub([...mosquitto.hubArgs(), '--shards', '4', '--hub-id', 'stopper', '--shutdown-timeout', String(shutdownTimeoutMs)]);
  cluster.api.child.kill('SIGSTOP');
  return cluster;
}

describe('cloud-hub shutdown', () => {
  it('exits after --shutdown-timeout when the clean stop cannot reach the API, and says why', async () => {
    const cluster = await hubWithFrozenApi(1_500);
    const hub = cluster.hub!;
    const started = Date.now();
    hub.child.kill('SIGTERM');
    // ManagedProcess.stop would SIGKILL after its own timeout; wait for the hub's exit instead.
    const exit = await Promise.race([hub.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 60_000))]);
    expect(exit).toEqual({ code: 1, signal: null });
    // Lower bound only: it waited for the clean stop before giving up.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    expect(hub.logs.some((line) => line.msg === 'clean stop took too long: exiting anyway')).toBe(true);
  });

  it('exits at once on a second signal during a stop that hangs', async () => {
    const cluster = await hubWithFrozenApi(600_000);
    const hub = cluster.hub!;
    hub.child.kill('SIGTERM');
    await hub.waitForLog((line) => line.msg === 'shutting down', 30_000, 'shutting down');
    hub.child.kill('SIGINT');
    const exit = await Promise.race([hub.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 60_000))]);
    expect(exit).toEqual({ code: 1, signal: null });
    expect(hub.logs.some((line) => line.msg === 'second signal during shutdown: exiting now')).toBe(true);
  });
});
