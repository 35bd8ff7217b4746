/**
 * Sidecar containers (init containers with `restartPolicy: Always`) in the process runtime with
 * real processes: they start in init order without blocking the next init container (once their
 * startupProbe passed), show in initContainerStatuses as running/started/ready, restart on exit
 * whatever the Pod's restartPolicy, stop after the app containers in reverse order, and let a
 * `restartPolicy: Never` Pod complete once its app container has.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { Harness, keyOf, makePod, sh } from './helpers.js';

const harnesses: Harness[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.cleanup();
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function harness(): Promise<Harness> {
  const created = new Harness({ hostIP: '127.0.0.1' });
  harnesses.push(created);
  await created.runtime.start();
  return created;
}

function workDir(): string {
  const dir = makeTempDir('edge-sidecars-');
  cleanups.push(() => dir.remove());
  return dir.path;
}

function lines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}

function condition(h: Harness, key: string, type: string): JsonObject | undefined {
  return ((h.status(key).conditions ?? []) as JsonObject[]).find((item) => item.type === type);
}

/** A sidecar: an init container with restartPolicy Always. */
function sidecar(name: string, script: string, extra: JsonObject = {}): JsonObject {
  return sh(name, script, { restartPolicy: 'Always', ...extra });
}

/** Runs until SIGTERM, then appends its name to `file` (the shell runs the trap once the short sleep ends). */
/**
 * A container that writes its name to `file` on SIGTERM. It writes its name to `file.up` once the
 * trap is in place: a TERM before that (a slow shell start on a loaded machine) would kill it
 * without a line, so tests wait for `.up` before they stop anything.
 */
function untilTerm(name: string, file: string, before = ''): string {
  return `trap 'echo ${name} >> ${file}; exit 0' TERM; echo ${name} >> ${file}.up; ${before} while true; do sleep 0.1; done`;
}

describe('sidecar containers', () => {
  it('start in init order, hold the next init container until their startupProbe passes, then run alongside the app', async () => {
    const h = await harness();
    const dir = workDir();
    const order = path.join(dir, 'order');
    const go = path.join(dir, 'go');
    const pod = makePod({
      initContainers: [
        sidecar('proxy', `echo proxy >> ${order}; exec sleep 60`, { startupProbe: { exec: { command: ['test', '-f', go] }, periodSeconds: 1, failureThreshold: 100 } }),
        sh('setup', `echo setup >> ${order}`),
        // Its startupProbe orders its line before main's: a sidecar without one counts as started
        // once spawned, and its shell may write after main's on a loaded machine (as in the kubelet).
        sidecar('logger', `echo logger >> ${order}; exec sleep 60`, { startupProbe: { exec: { command: ['grep', '-qx', 'logger', order] }, periodSeconds: 1, failureThreshold: 100 } }),
      ],
      containers: [sh('main', `echo main >> ${order}; exec sleep 60`)],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await waitFor(() => h.events.some((event) => event.container === 'proxy' && event.message.startsWith('Startup probe failed')), { what: 'a failed startup probe' });
    await waitFor(() => (lines(order).length > 0 ? true : undefined), { what: 'proxy has written its line' });
    // Not started yet: the next init container waits.
    expect(lines(order)).toEqual(['proxy']);
    expect(h.container(key, 'proxy', true)).toMatchObject({ started: false, ready: false });
    expect(h.status(key).phase).toBe('Pending');
    writeFileSync(go, '');
    await h.waitRunning(key, 'main');
    await waitFor(() => (lines(order).length >= 4 ? true : undefined), { what: 'main has written its line' });
    expect(lines(order)).toEqual(['proxy', 'setup', 'logger', 'main']);
    for (const name of ['proxy', 'logger']) {
      expect(h.container(key, name, true)).toMatchObject({ state: { running: {} }, started: true, ready: true, restartCount: 0 });
    }
    expect(h.container(key, 'setup', true)).toMatchObject({ state: { terminated: { exitCode: 0 } } });
    expect(h.status(key).phase).toBe('Running');
    await waitFor(() => condition(h, key, 'Ready')?.status === 'True' || undefined, { what: 'Pod Ready' });
    expect(condition(h, key, 'Initialized')).toMatchObject({ status: 'True' });
  });

  it('count toward Pod readiness through their readinessProbe', async () => {
    const h = await harness();
    const dir = workDir();
    const ready = path.join(dir, 'ready');
    const pod = makePod({
      initContainers: [sidecar('proxy', 'exec sleep 60', { readinessProbe: { exec: { command: ['test', '-f', ready] }, periodSeconds: 1, failureThreshold: 1 } })],
      containers: [sh('main', 'exec sleep 60')],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await h.waitRunning(key, 'main');
    await waitFor(() => h.events.some((event) => event.container === 'proxy' && event.message.startsWith('Readiness probe failed')), { what: 'a failed readiness probe' });
    expect(condition(h, key, 'Ready')).toMatchObject({ status: 'False', message: 'containers with unready status: [proxy]' });
    writeFileSync(ready, '');
    await waitFor(() => condition(h, key, 'Ready')?.status === 'True' || undefined, { what: 'Pod Ready once the sidecar is' });
    expect(h.container(key, 'proxy', true).ready).toBe(true);
  });

  it('restart whenever they exit, even in a restartPolicy Never Pod, with CrashLoopBackOff', async () => {
    const h = await harness();
    const dir = workDir();
    const runs = path.join(dir, 'runs');
    const stay = path.join(dir, 'stay');
    const pod = makePod({
      restartPolicy: 'Never',
      initContainers: [sidecar('proxy', `echo run >> ${runs}; if [ -f ${stay} ]; then exec sleep 60; fi; exit 3`)],
      containers: [sh('main', 'exec sleep 60')],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await h.waitRunning(key, 'main');
    await waitFor(() => ((h.container(key, 'proxy', true).restartCount as number) >= 2 ? true : undefined), { what: 'two restarts' });
    expect(h.eventsOf('proxy', 'BackOff').length).toBeGreaterThan(0);
    writeFileSync(stay, '');
    await waitFor(() => ((h.container(key, 'proxy', true).state as JsonObject).running ? true : undefined), { what: 'the sidecar running again' });
    expect(h.container(key, 'proxy', true).lastState).toMatchObject({ terminated: { exitCode: 3 } });
    expect(h.status(key).phase).toBe('Running');
    expect(h.container(key, 'main').restartCount).toBe(0);
  });

  it('stop after the app containers, in reverse order, when the Pod is deleted', async () => {
    const h = await harness();
    const dir = workDir();
    const stops = path.join(dir, 'stops');
    const pod = makePod({
      grace: 20,
      initContainers: [sidecar('first', untilTerm('first', stops)), sidecar('second', untilTerm('second', stops))],
      containers: [sh('main', untilTerm('main', stops))],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await h.waitRunning(key, 'main');
    await waitFor(() => lines(`${stops}.up`).length === 3 || undefined, { what: 'every container\'s TERM trap in place' });
    await h.runtime.killPod(key, 20);
    expect(lines(stops)).toEqual(['main', 'second', 'first']);
    expect(h.runtime.pods()).not.toContain(key);
  });

  it('are stopped once the app containers of a restartPolicy Never Pod completed: the Pod Succeeds', async () => {
    const h = await harness();
    const dir = workDir();
    const stops = path.join(dir, 'stops');
    const pod = makePod({
      restartPolicy: 'Never',
      initContainers: [sidecar('proxy', untilTerm('proxy', stops))],
      // main completes only once the sidecar's TERM trap is in place (see untilTerm).
      containers: [sh('main', `until [ -s ${stops}.up ]; do sleep 0.05; done; echo main >> ${stops}; exit 0`)],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await waitFor(() => (h.status(key).phase === 'Succeeded' ? true : undefined), { what: 'the Pod Succeeded' });
    expect(lines(stops)).toEqual(['main', 'proxy']);
    expect(h.container(key, 'proxy', true)).toMatchObject({ state: { terminated: {} }, restartCount: 0 });
    expect(h.container(key, 'main')).toMatchObject({ state: { terminated: { exitCode: 0 } } });
    expect(condition(h, key, 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    expect(condition(h, key, 'Initialized')).toMatchObject({ status: 'True' });
  });
});
