/** The process runtime with real processes: running, configuration errors, restart policies, backoff, init containers, deletion, volumes, logs. */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import type { RuntimeEvent } from '../../../edge-agent/runtime/index.js';
import { waitFor } from '../../helpers/wait.js';
import { HOST_IP, Harness, configMap, field, isAlive, keyOf, makePod, secret, sh, startedHarnesses } from './helpers.js';

const harness = startedHarnesses();

function podDir(h: Harness, key: string): string {
  const found = h.states().find(({ state }) => state.key === key);
  if (!found) throw new Error(`no state for ${key}`);
  return path.dirname(found.file);
}

function readLog(h: Harness, key: string, container: string): string {
  try {
    return readFileSync(path.join(podDir(h, key), 'logs', `${container}.log`), 'utf8');
  } catch {
    return '';
  }
}

function waitLog(h: Harness, key: string, container: string, text: string): Promise<string> {
  return waitFor(() => {
    const log = readLog(h, key, container);
    return log.includes(text) ? log : undefined;
  }, { what: `${JSON.stringify(text)} in the log of ${container}` });
}

describe('running containers', () => {
  it('runs command + args with the resolved env, base env and volume pointers, and reports it Running and Ready', async () => {
    const h = await harness({}, [configMap('cfg', { GREETING: 'hello', 'app.conf': 'port=80' }), secret('sec', { TOKEN: 't0k' })]);
    const pod = makePod({
      name: 'web',
      containers: [
        {
          name: 'main',
          image: 'example/web:1',
          command: ['sh', '-c'],
          args: ['echo "greet=$GREETING token=$TOKEN pod=$POD host=$HOSTNAME arg=$1 ip=$IP"; echo "path=$PATH"; cat "$EDGE_VOLUME_CONFIG/app.conf"; echo; cat etc/app/app.conf; echo; pwd; exec sleep 60', 'sh', '$(GREETING)-arg'],
          env: [
            { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'GREETING' } } },
            { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'sec', key: 'TOKEN' } } },
            { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          ],
          volumeMounts: [{ name: 'config', mountPath: '/etc/app' }],
        },
      ],
      volumes: [{ name: 'config', configMap: { name: 'cfg' } }],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    const pid = await h.waitRunning(key, 'main');
    expect(isAlive(pid)).toBe(true);
    const log = await waitLog(h, key, 'main', '/containers/main/root');
    expect(log).toContain(`greet=hello token=t0k pod=web host=web arg=hello-arg ip=${HOST_IP}`);
    expect(log).toContain(`path=${process.env.PATH}`);
    expect(log.split('\n').filter((line) => line === 'port=80')).toHaveLength(2); // $EDGE_VOLUME_CONFIG and ./etc/app from the working directory
    expect(h.runtime.pods()).toEqual([key]);
    const status = h.status(key);
    expect(status).toMatchObject({ phase: 'Running', hostIP: HOST_IP, podIP: HOST_IP });
    expect((status.conditions as JsonObject[]).map((c) => [c.type, c.status])).toEqual([
      ['Initialized', 'True'],
      ['Ready', 'True'],
      ['ContainersReady', 'True'],
      ['PodScheduled', 'True'],
    ]);
    expect(h.container(key, 'main')).toMatchObject({ ready: true, started: true, restartCount: 0, image: 'example/web:1', imageID: '', containerID: `process://${pid}` });
    expect(h.eventsOf('main').map((event) => event.reason)).toEqual(['Created', 'Started']);
  });

  it('keeps a container without command waiting with reason NoCommand', async () => {
    const h = await harness();
    const pod = makePod({ containers: [{ name: 'img', image: 'nginx' }] });
    await h.runtime.syncPod(pod);
    const state = h.container(keyOf(pod), 'img').state as JsonObject;
    expect(field(state, 'waiting', 'reason')).toBe('NoCommand');
    expect(field(state, 'waiting', 'message')).toMatch(/has no command: the process runtime runs the container's command/);
    expect(h.status(keyOf(pod)).phase).toBe('Pending');
    expect(h.eventsOf('img', 'Failed')).toHaveLength(1);
  });

  it('waits with CreateContainerConfigError naming the missing key, once per message, and starts when the ConfigMap arrives', async () => {
    const h = await harness();
    const pod = makePod({ containers: [sh('app', 'echo "v=$V"; exec sleep 60', { env: [{ name: 'V', valueFrom: { configMapKeyRef: { name: 'late', key: 'v' } } }] })] });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await h.runtime.syncPod(pod);
    expect(h.container(key, 'app').state).toEqual({ waiting: { reason: 'CreateContainerConfigError', message: 'configmap "late" not found' } });
    h.lookup.put(configMap('late', { other: 'x' }));
    await h.runtime.syncPod(pod);
    expect(h.container(key, 'app').state).toEqual({ waiting: { reason: 'CreateContainerConfigError', message: "couldn't find key v in ConfigMap default/late" } });
    expect(h.eventsOf('app', 'Failed').map((event) => event.message)).toEqual(['Error: configmap "late" not found', "Error: couldn't find key v in ConfigMap default/late"]);
    h.lookup.put(configMap('late', { v: 'arrived' }));
    await h.runtime.syncPod(pod);
    await h.waitRunning(key, 'app');
    await waitLog(h, key, 'app', 'v=arrived');
  });

  it('reports a command that cannot start (missing working directory) as StartError and backs off', async () => {
    const h = await harness();
    const pod = makePod({ containers: [sh('app', 'true', { workingDir: '/nonexistent/dir' })] });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    const status = await waitFor(() => {
      const container = h.container(key, 'app');
      return field(container, 'state', 'waiting', 'reason') === 'CrashLoopBackOff' ? container : undefined;
    });
    expect(field(status, 'lastState', 'terminated')).toMatchObject({ exitCode: 128, reason: 'StartError', message: 'working directory /nonexistent/dir does not exist' });
  });
});

describe('restart policy', () => {
  it.each<[string, 'Always' | 'OnFailure' | 'Never', number, boolean, string]>([
    ['Always restarts after success', 'Always', 0, true, 'Running'],
    ['Always restarts after failure', 'Always', 3, true, 'Running'],
    ['OnFailure restarts after failure', 'OnFailure', 3, true, 'Running'],
    ['OnFailure leaves a success alone', 'OnFailure', 0, false, 'Succeeded'],
    ['Never leaves a failure alone', 'Never', 3, false, 'Failed'],
    ['Never leaves a success alone', 'Never', 0, false, 'Succeeded'],
  ])('%s', async (_name, restartPolicy, code, restarts, phase) => {
    const h = await harness({ backoff: { initialMs: 60_000, maxMs: 60_000, resetAfterMs: 600_000 } });
    const pod = makePod({ restartPolicy, containers: [sh('c', `exit ${code}`)] });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    if (restarts) {
      // First restart immediate, then the (long) backoff: the container sits in CrashLoopBackOff.
      const status = await waitFor(() => {
        const container = h.container(key, 'c');
        return field(container, 'state', 'waiting', 'reason') === 'CrashLoopBackOff' ? container : undefined;
      });
      expect(status.restartCount).toBe(1);
      expect(field(status, 'lastState', 'terminated', 'exitCode')).toBe(code);
      expect(field(status, 'state', 'waiting', 'message')).toMatch(/^back-off 1m0s restarting failed container=c pod=p_default\(/);
      expect(h.eventsOf('c', 'BackOff')).toHaveLength(1);
    } else {
      const terminated = await h.waitTerminated(key, 'c');
      expect(terminated).toMatchObject({ exitCode: code, reason: code === 0 ? 'Completed' : 'Error' });
      expect(h.container(key, 'c').restartCount).toBe(0);
    }
    expect(h.status(key).phase).toBe(phase);
    expect(h.eventsOf('c', code === 0 ? 'Completed' : 'Error').length).toBeGreaterThan(0);
  });
});

/** Exit-to-restart delays of one container, from the events' timestamps. */
function restartDelays(events: RuntimeEvent[], container: string): number[] {
  const delays: number[] = [];
  let exitedAt: number | undefined;
  for (const event of events) {
    if (event.container !== container) continue;
    if (event.reason === 'Error' || event.reason === 'Completed') exitedAt = event.at;
    if (event.reason === 'Started' && exitedAt !== undefined) {
      delays.push(event.at - exitedAt);
      exitedAt = undefined;
    }
  }
  return delays;
}

/**
 * The back-off the runtime chose before each restart of one container, as kube words it in the
 * CrashLoopBackOff status ("back-off 600ms restarting failed container=..."), or 'none' for a
 * restart at once. Read from the status at every change: the runtime's decision, which a loaded
 * machine cannot stretch (the measured delays get lower bounds only; an upper bound would be a
 * wall-clock window).
 */
function announcedBackoffs(h: Harness, key: string, container: string): string[] {
  const announced: string[] = [];
  let pending: string | undefined;
  h.runtime.onChange((changed, event) => {
    if (changed !== key) return;
    const ours = event?.container === container;
    if (ours && (event.reason === 'Error' || event.reason === 'Completed')) pending = 'none';
    let waiting: JsonObject | undefined;
    try {
      waiting = field(h.container(key, container), 'state', 'waiting') as JsonObject | undefined;
    } catch {
      waiting = undefined; // no status for the container yet
    }
    if (pending !== undefined && waiting?.reason === 'CrashLoopBackOff') pending = /^back-off (\S+) /.exec(String(waiting.message))?.[1] ?? String(waiting.message);
    if (ours && event.reason === 'Started' && pending !== undefined) {
      announced.push(pending);
      pending = undefined;
    }
  });
  return announced;
}

describe('CrashLoopBackOff', () => {
  it('restarts at once, then after growing delays up to the cap', async () => {
    const h = await harness({ backoff: { initialMs: 300, maxMs: 1_200, resetAfterMs: 60_000 } });
    const pod = makePod({ containers: [sh('crash', 'exit 1')] });
    const announced = announcedBackoffs(h, keyOf(pod), 'crash');
    await h.runtime.syncPod(pod);
    await waitFor(() => restartDelays(h.events, 'crash').length >= 5, { what: '5 restarts' });
    const delays = restartDelays(h.events, 'crash').slice(0, 5);
    expect(announced.slice(0, 5), delays.join(', ')).toEqual(['none', '300ms', '600ms', '1.2s', '1.2s']);
    const expected = [0, 300, 600, 1_200, 1_200];
    for (const [index, want] of expected.entries()) {
      expect(delays[index], `restart ${index + 1}: ${delays.join(', ')}`).toBeGreaterThanOrEqual(want - 10);
    }
    expect(h.container(keyOf(pod), 'crash').restartCount).toBeGreaterThanOrEqual(5);
  });

  it('starts over after the container ran longer than resetAfter', async () => {
    // resetAfter leaves a crashing run 3 s to be noticed even on a loaded machine.
    const h = await harness({ backoff: { initialMs: 400, maxMs: 800, resetAfterMs: 3_000 } });
    // Runs 1-3 crash at once, run 4 runs 4 s (longer than resetAfter), later runs crash at once.
    const script = 'n=$(cat "$EDGE_VOLUME_STATE/n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$EDGE_VOLUME_STATE/n"; if [ $n -eq 4 ]; then sleep 4; fi; exit 1';
    const pod = makePod({ containers: [sh('crash', script, { volumeMounts: [{ name: 'state', mountPath: '/state' }] })], volumes: [{ name: 'state', emptyDir: {} }] });
    const announced = announcedBackoffs(h, keyOf(pod), 'crash');
    await h.runtime.syncPod(pod);
    await waitFor(() => restartDelays(h.events, 'crash').length >= 5, { what: '5 restarts' });
    const delays = restartDelays(h.events, 'crash');
    const describe = delays.join(', ');
    // At once, 400, 800 (the cap), at once again after the long run, and back to the initial delay, not the cap.
    expect(announced.slice(0, 5), describe).toEqual(['none', '400ms', '800ms', 'none', '400ms']);
    expect(delays[1], describe).toBeGreaterThanOrEqual(390);
    expect(delays[2], describe).toBeGreaterThanOrEqual(790);
    expect(delays[4], describe).toBeGreaterThanOrEqual(390);
  });
});

describe('init containers', () => {
  it('run to completion in order before the app containers, which wait with PodInitializing', async () => {
    const h = await harness();
    const volumeMounts = [{ name: 'work', mountPath: '/work' }];
    const pod = makePod({
      initContainers: [
        sh('first', 'echo -n 1 >> "$EDGE_VOLUME_WORK/order"', { volumeMounts }),
        sh('second', 'touch "$EDGE_VOLUME_WORK/second-running"; while [ ! -e "$EDGE_VOLUME_WORK/go" ]; do sleep 0.05; done; echo -n 2 >> "$EDGE_VOLUME_WORK/order"', { volumeMounts }),
      ],
      containers: [sh('app', 'echo "order=$(cat "$EDGE_VOLUME_WORK/order")"; exec sleep 60', { volumeMounts })],
      volumes: [{ name: 'work', emptyDir: {} }],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    const work = path.join(podDir(h, key), 'volumes', 'work');
    await waitFor(() => existsSync(path.join(work, 'second-running')), { what: 'second init container running' });
    expect(field(h.container(key, 'first', true), 'state', 'terminated', 'reason')).toBe('Completed');
    expect(field(h.container(key, 'second', true), 'state', 'running')).toBeDefined();
    expect(field(h.container(key, 'app'), 'state', 'waiting', 'reason')).toBe('PodInitializing');
    expect(h.status(key).phase).toBe('Pending');
    expect((h.status(key).conditions as JsonObject[])[0]).toMatchObject({ type: 'Initialized', status: 'False', message: 'containers with incomplete status: [second]' });

    writeFileSync(path.join(work, 'go'), ''); // release the second init container
    await h.waitRunning(key, 'app');
    await waitLog(h, key, 'app', 'order=12');
    expect((h.status(key).conditions as JsonObject[])[0]).toMatchObject({ type: 'Initialized', status: 'True' });
    expect(h.status(key).phase).toBe('Running');
    const started = h.events.filter((event) => event.reason === 'Started').map((event) => event.container);
    expect(started).toEqual(['first', 'second', 'app']);
  });

  it('restarts a failing init container (OnFailure) and fails the Pod on it (Never)', async () => {
    const h = await harness({ backoff: { initialMs: 50, maxMs: 100, resetAfterMs: 60_000 } });
    const flaky = sh('flaky', 'n=$(cat "$EDGE_VOLUME_S/n" 2>/dev/null || echo 0); echo $((n+1)) > "$EDGE_VOLUME_S/n"; [ $n -ge 2 ]', { volumeMounts: [{ name: 's', mountPath: '/s' }] });
    const retrying = makePod({ name: 'retrying', restartPolicy: 'OnFailure', initContainers: [flaky], containers: [sh('app', 'exec sleep 60')], volumes: [{ name: 's', emptyDir: {} }] });
    const failing = makePod({ name: 'failing', restartPolicy: 'Never', initContainers: [sh('init', 'exit 4')], containers: [sh('app', 'exec sleep 60')] });
    await h.runtime.syncPod(retrying);
    await h.runtime.syncPod(failing);
    await h.waitRunning(keyOf(retrying), 'app');
    expect(h.container(keyOf(retrying), 'flaky', true)).toMatchObject({ restartCount: 2, ready: true, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
    const failed = await h.waitTerminated(keyOf(failing), 'init', true);
    expect(failed.exitCode).toBe(4);
    expect(h.status(keyOf(failing)).phase).toBe('Failed');
    expect(field(h.container(keyOf(failing), 'app'), 'state', 'waiting', 'reason')).toBe('PodInitializing');
  });
});

describe('killPod', () => {
  it('stops a process that handles SIGTERM at once and SIGKILLs one that ignores it when the grace period ends', async () => {
    const h = await harness();
    const graceful = makePod({
      name: 'graceful',
      containers: [{ name: 'node', image: 'node', command: [process.execPath, '-e', "process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); }); console.log('ready'); setInterval(() => {}, 1000);"] }],
    });
    const stubborn = makePod({ name: 'stubborn', containers: [sh('sh', "trap '' TERM; echo ready; while :; do sleep 0.05; done")] });
    await h.runtime.syncPod(graceful);
    await h.runtime.syncPod(stubborn);
    const gracefulPid = await h.waitRunning(keyOf(graceful), 'node');
    const stubbornPid = await h.waitRunning(keyOf(stubborn), 'sh');
    await waitLog(h, keyOf(graceful), 'node', 'ready');
    await waitLog(h, keyOf(stubborn), 'sh', 'ready');
    const gracefulDir = podDir(h, keyOf(graceful));

    await h.runtime.killPod(keyOf(graceful), 5);
    // It exited on SIGTERM (Completed, code 0), not on the SIGKILL at the end of the 5 s (137):
    // the exit code says so, where an upper bound on the time would be a wall-clock window.
    expect(isAlive(gracefulPid)).toBe(false);
    expect(existsSync(gracefulDir)).toBe(false);
    expect(h.runtime.pods()).toEqual([keyOf(stubborn)]);
    expect(h.runtime.podStatus(keyOf(graceful))).toBeUndefined();
    expect(h.events.filter((event) => event.pod === keyOf(graceful)).map((event) => event.reason)).toEqual(['Created', 'Started', 'Killing', 'Completed']);

    const started = Date.now();
    await h.runtime.killPod(keyOf(stubborn), 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000); // ignored SIGTERM: waited the grace period, then SIGKILL (137 below)
    expect(isAlive(stubbornPid)).toBe(false);
    expect(h.runtime.pods()).toEqual([]);
    const exit = h.events.find((event) => event.pod === keyOf(stubborn) && event.reason === 'Error');
    expect(exit?.message).toBe('Container sh exited with code 137');
  });
});

describe('volumes of a running Pod', () => {
  it('rewrites a mounted file when its ConfigMap changes, without restarting the container or changing its env', async () => {
    const h = await harness({}, [configMap('cfg', { value: 'v1' })]);
    const script = 'while :; do echo "file=$(cat "$EDGE_VOLUME_CFG/value") env=$VALUE" > "$EDGE_VOLUME_OUT/seen.tmp"; mv "$EDGE_VOLUME_OUT/seen.tmp" "$EDGE_VOLUME_OUT/seen"; sleep 0.05; done';
    const pod = makePod({
      containers: [
        sh('app', script, {
          env: [{ name: 'VALUE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'value' } } }],
          volumeMounts: [
            { name: 'cfg', mountPath: '/etc/cfg' },
            { name: 'out', mountPath: '/out' },
          ],
        }),
      ],
      volumes: [
        { name: 'cfg', configMap: { name: 'cfg' } },
        { name: 'out', emptyDir: {} },
      ],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    const pid = await h.waitRunning(key, 'app');
    const seen = path.join(podDir(h, key), 'volumes', 'out', 'seen');
    const read = (): string => {
      try {
        return readFileSync(seen, 'utf8').trim();
      } catch {
        return '';
      }
    };
    await waitFor(() => read() === 'file=v1 env=v1', { what: 'first value' });
    h.lookup.put(configMap('cfg', { value: 'v2' }));
    await h.runtime.syncPod(pod);
    await waitFor(() => read() === 'file=v2 env=v1', { what: 'the file updated, the env not' });
    expect(h.pid(key, 'app')).toBe(pid);
    expect(h.container(key, 'app').restartCount).toBe(0);
  });

  it('restarts a container whose spec changed', async () => {
    const h = await harness();
    const pod = makePod({ grace: 2, containers: [sh('app', 'echo one; exec sleep 60')] });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    const first = await h.waitRunning(key, 'app');
    const changed = structuredClone(pod);
    ((changed.spec as JsonObject).containers as JsonObject[])[0]!.command = ['sh', '-c', 'echo two; exec sleep 60'];
    await h.runtime.syncPod(changed);
    const second = await waitFor(() => {
      const pid = h.pid(key, 'app');
      return pid !== undefined && pid !== first ? pid : undefined;
    }, { what: 'a new instance' });
    expect(isAlive(first)).toBe(false);
    expect(isAlive(second)).toBe(true);
    expect(h.container(key, 'app').restartCount).toBe(1);
    await waitLog(h, key, 'app', 'two');
    expect(h.eventsOf('app', 'Killing').map((event) => event.message)).toEqual(['Container app definition changed, will be restarted']);
  });

  it('replaces a Pod re-created under the same name (new uid) after stopping the old one', async () => {
    const h = await harness();
    const old = makePod({ name: 'same', uid: 'uid-old', grace: 2, containers: [sh('app', 'exec sleep 60')] });
    const key = keyOf(old);
    await h.runtime.syncPod(old);
    const oldPid = await h.waitRunning(key, 'app');
    const next = makePod({ name: 'same', uid: 'uid-new', containers: [sh('app', 'exec sleep 60')] });
    await h.runtime.syncPod(next);
    await waitFor(() => {
      const pid = h.runtime.podStatus(key) && h.pid(key, 'app');
      return pid !== undefined && pid !== oldPid ? pid : undefined;
    }, { what: 'the new Pod running' });
    expect(isAlive(oldPid)).toBe(false);
    expect(h.states().map(({ state }) => state.uid)).toEqual(['uid-new']);
  });
});

describe('logs', () => {
  it('rotates a container log by size and keeps a bounded number of files', async () => {
    const h = await harness({ logMaxBytes: 2_000, logFiles: 3 });
    const pod = makePod({ containers: [sh('chatty', 'i=0; while :; do i=$((i+1)); echo "line $i aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; sleep 0.005; done')] });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await h.waitRunning(key, 'chatty');
    const logs = path.join(podDir(h, key), 'logs');
    await waitFor(() => existsSync(path.join(logs, 'chatty.log.2')), { what: 'two rotations', timeoutMs: 15_000 });
    // Keep watching for a while: never more than 3 files, the live one stays near the limit.
    const deadline = Date.now() + 600;
    await waitFor(() => {
      expect(readdirSync(logs).sort()).toEqual(['chatty.log', 'chatty.log.1', 'chatty.log.2']);
      expect(statSync(path.join(logs, 'chatty.log')).size).toBeLessThan(20_000);
      return Date.now() > deadline;
    });
    const rotated = readFileSync(path.join(logs, 'chatty.log.1'), 'utf8');
    expect(rotated.length).toBeGreaterThan(2_000);
    expect(rotated).toMatch(/^line \d+ a+$/m);
  });
});

describe('OOM kills', () => {
  it('reports a SIGKILL the runtime did not send, while the kernel counted an OOM kill, as OOMKilled', async () => {
    let oomKills = 0;
    // Without cgroups of its own the runtime falls back to the agent-wide counter (with them, limits.test.ts counts per container).
    const h = await harness({ oomCounter: { read: () => oomKills }, cgroups: { ok: false, reason: 'this test uses the agent-wide OOM counter' } });
    // $$$$ is "$$" once Kubernetes expansion has unescaped it: the shell's pid, kept by exec.
    const pod = makePod({ restartPolicy: 'Never', containers: [sh('hog', 'echo "pid=$$$$"; exec sleep 60')] });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    const wrapperPid = await h.waitRunning(key, 'hog');
    const hog = Number(/pid=(\d+)/.exec(await waitLog(h, key, 'hog', 'pid='))?.[1]);
    // The kernel's OOM killer picks the biggest process: the command, not the exit wrapper.
    expect(hog).toBeGreaterThan(1);
    expect(hog).not.toBe(wrapperPid);
    const [, ppid, pgid] = /\) \S+ (\d+) (\d+) /.exec(readFileSync(`/proc/${hog}/stat`, 'utf8')) ?? [];
    expect([Number(ppid), Number(pgid)]).toEqual([wrapperPid, wrapperPid]); // the wrapper's child, in its group
    oomKills++;
    process.kill(hog, 'SIGKILL');
    const terminated = await h.waitTerminated(key, 'hog');
    expect(terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(h.eventsOf('hog', 'OOMKilled')).toHaveLength(1);
  });
});
