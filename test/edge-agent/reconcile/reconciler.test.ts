/**
 * The reconciler with the real parts around it: the SQLite cache and outbox (openEdgeStore), the
 * process runtime and the status reporter. An unknown Pod (the cache is not complete) keeps
 * running until the cache is, also when the cache lost its row to damage; an invalid Pod is quarantined (reported once, never run) and runs
 * once fixed; statuses name the instance the runtime has.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject, SyncOp } from '../../../protocol/index.js';
import { Reconciler } from '../../../edge-agent/reconcile/reconciler.js';
import { StatusReporter } from '../../../edge-agent/reconcile/status-reporter.js';
import { openEdgeStore, type EdgeStore } from '../../../edge-agent/store/index.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { Harness, NODE, isAlive, keyOf, makePod, sh, silentLogger } from '../runtime/helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  store: EdgeStore;
  harness: Harness;
  reconciler: Reconciler;
  quarantined: { key: string; message: string }[];
  released: string[];
  complete: { value: boolean };
  put(pod: JsonObject): void;
  del(key: string): void;
  statuses(name: string): JsonObject[];
}

/** `completeness: 'store'`: the reconciler reads the store's own "cache complete", as the agent wires it. */
async function setup(options: { completeness?: 'test' | 'store' } = {}): Promise<Setup> {
  const dir = makeTempDir('edge-reconcile-');
  const store = openEdgeStore({ dir: dir.path, logger: silentLogger() });
  const harness = new Harness({ lookup: store.cache });
  await harness.runtime.start();
  const complete = { value: false };
  const quarantined: Setup['quarantined'] = [];
  const released: string[] = [];
  const reporter = new StatusReporter({ runtime: harness.runtime, cache: store.cache, outbox: store.outbox, logger: silentLogger(), notify: () => {} });
  reporter.start();
  const reconciler = new Reconciler({
    nodeName: NODE,
    cache: store.cache,
    runtime: harness.runtime,
    logger: silentLogger(),
    resyncIntervalMs: 200,
    cacheComplete: options.completeness === 'store' ? () => store.cache.complete : () => complete.value,
    onTerminated: (key, pod) => reporter.terminated(key, pod),
    onQuarantined: (key, pod, message) => {
      quarantined.push({ key, message });
      reporter.quarantined(key, pod, message);
    },
    onReleased: (key) => {
      released.push(key);
      reporter.released(key);
    },
  });
  harness.runtime.onChange(() => reconciler.wake());
  cleanups.push(
    () => dir.remove(),
    () => store.close(),
    () => harness.cleanup(),
    () => reporter.stop(),
    () => reconciler.stop(),
  );
  let rv = 0;
  const apply = (ops: SyncOp[]) => store.cache.apply(ops);
  return {
    store,
    harness,
    reconciler,
    quarantined,
    released,
    complete,
    put: (pod) => void apply([{ op: 'put', key: keyOf(pod), rv: `r${++rv}`, obj: pod }]),
    del: (key) => void apply([{ op: 'del', key }]),
    statuses: (name) =>
      store.outbox
        .peek(1_000)
        .filter((item) => item.kind === 'status' && item.body.name === name)
        .map((item) => item.body),
  };
}

describe('Reconciler', () => {
  it('keeps a Pod the cache does not hold while the cache is not complete, and stops it once it is', async () => {
    const s = await setup();
    const pod = makePod({ name: 'adopted', grace: 0, containers: [sh('main', 'sleep 60')] });
    s.put(pod);
    s.reconciler.start();
    const pid = await s.harness.waitRunning(keyOf(pod), 'main');
    // The cache forgets it (as a replaced cache would) while it is known to be incomplete.
    s.del(keyOf(pod));
    const passes = s.reconciler.completedPasses;
    await waitFor(() => s.reconciler.completedPasses >= passes + 3, { what: 'three passes' });
    expect(isAlive(pid)).toBe(true);
    expect(s.harness.runtime.pods()).toEqual([keyOf(pod)]);

    // The resync completed: now absence means deleted.
    s.complete.value = true;
    s.reconciler.wake();
    await waitFor(() => !isAlive(pid) && s.harness.runtime.pods().length === 0, { what: 'the pod stopped' });
    // Its final report names the instance that stopped, although the cache no longer has it.
    const uid = (pod.metadata as JsonObject).uid;
    await waitFor(() => s.statuses('adopted').some((body) => body.uid === uid && (body.status as JsonObject).phase === 'Failed'), { what: 'final status with the uid' });
  });

  it('keeps a Pod whose row became unreadable in the SQLite file running until the next complete resync', async () => {
    const s = await setup({ completeness: 'store' });
    const pod = makePod({ name: 'damaged', grace: 0, containers: [sh('main', 'sleep 60')] });
    const key = keyOf(pod);
    s.put(pod);
    s.store.cache.markComplete();
    s.reconciler.start();
    const pid = await s.harness.waitRunning(key, 'main');

    // The row's bytes are damaged in the file: the next read cannot decode it, and the store drops it.
    s.store.cache.db.prepare('UPDATE objects SET body = ? WHERE key = ?').run('{"kind": "Pod", not json', key);
    s.reconciler.wake();
    await waitFor(() => s.store.cache.rvOf(key) === undefined, { what: 'the unreadable row dropped' });
    expect(s.store.cache.complete).toBe(false);
    let passes = s.reconciler.completedPasses;
    await waitFor(() => s.reconciler.completedPasses >= passes + 3, { what: 'three passes without the row' });
    // Lost to damage is not deleted: the same process runs on.
    expect(isAlive(pid)).toBe(true);
    expect(s.harness.runtime.pods()).toEqual([key]);

    // The next complete resync brings the Pod again: the same instance keeps running.
    s.put(pod);
    s.store.cache.markComplete();
    s.reconciler.wake();
    passes = s.reconciler.completedPasses;
    await waitFor(() => s.reconciler.completedPasses >= passes + 3, { what: 'three passes after the resync' });
    expect(isAlive(pid)).toBe(true);
    expect(await s.harness.waitRunning(key, 'main')).toBe(pid);

    // And with the cache complete again, a Pod it no longer holds was deleted.
    s.del(key);
    await waitFor(() => !isAlive(pid) && s.harness.runtime.pods().length === 0, { what: 'the deleted pod stopped' });
  });

  it('quarantines an invalid Pod once, never runs it, and runs it once a valid version arrives', async () => {
    const s = await setup();
    const good = makePod({ name: 'good', containers: [sh('main', 'sleep 60')] });
    const bad = makePod({ name: 'bad', containers: [sh('main', 'sleep 60')], volumes: [{ name: 'x/../../y', emptyDir: {} }] });
    s.complete.value = true;
    s.put(good);
    s.put(bad);
    s.reconciler.start();
    await s.harness.waitRunning(keyOf(good), 'main');
    const status = await waitFor(() => s.statuses('bad').at(-1)?.status as JsonObject | undefined, { what: 'quarantine status' });
    expect(status).toMatchObject({ phase: 'Failed', reason: 'InvalidSpec' });
    expect(String(status.message)).toMatch(/spec\.volumes\[0\]\.name: Invalid value: "x\/\.\.\/\.\.\/y"/);
    const passes = s.reconciler.completedPasses;
    await waitFor(() => s.reconciler.completedPasses >= passes + 3, { what: 'three more passes' });
    expect(s.quarantined.map((entry) => entry.key)).toEqual([keyOf(bad)]);
    expect(s.harness.runtime.pods()).toEqual([keyOf(good)]);
    expect(s.reconciler.quarantinedPods()).toEqual([keyOf(bad)]);

    const fixed = { ...bad, spec: { ...(bad.spec as JsonObject), volumes: [{ name: 'y', emptyDir: {} }] } };
    s.put(fixed);
    await s.harness.waitRunning(keyOf(fixed), 'main', 'the fixed pod running');
    expect(s.released).toEqual([keyOf(bad)]);
    await waitFor(() => (s.statuses('bad').at(-1)?.status as JsonObject | undefined)?.phase === 'Running', { what: 'Running reported after release' });
  });

  it('stops a running Pod whose new version is invalid, and reports it quarantined', async () => {
    const s = await setup();
    s.complete.value = true;
    const pod = makePod({ name: 'turned', grace: 0, containers: [sh('main', 'sleep 60')] });
    s.put(pod);
    s.reconciler.start();
    const pid = await s.harness.waitRunning(keyOf(pod), 'main');
    s.put({ ...pod, spec: { ...(pod.spec as JsonObject), containers: [sh('../main', 'sleep 60')] } });
    await waitFor(() => !isAlive(pid) && s.harness.runtime.pods().length === 0, { what: 'the old instance stopped' });
    await waitFor(() => (s.statuses('turned').at(-1)?.status as JsonObject | undefined)?.reason === 'InvalidSpec', { what: 'InvalidSpec reported last' });
  });
});
