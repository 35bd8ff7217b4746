/** Workloads outlive the runtime: a new runtime on the same data dir adopts them, knows how they ended, and never mistakes a reused pid. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import { DIST, REPO } from '../../helpers/process.js';
import { waitFor } from '../../helpers/wait.js';
import { ProcessLauncher, type LaunchResult, type LaunchSpec } from '../../../edge-agent/runtime/launcher.js';
import { Harness, field, isAlive, keyOf, killGroup, makePod, sh, startedHarnesses } from './helpers.js';

/** The real launcher, holding its result until the test opens the gate: a start still under way when the runtime stops. */
class GatedLauncher extends ProcessLauncher {
  launched: LaunchResult | undefined;
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));

  override async launch(spec: LaunchSpec): Promise<LaunchResult> {
    const result = await super.launch(spec);
    this.launched = result;
    await this.gate;
    return result;
  }

  release(): void {
    this.open();
  }
}

const harness = startedHarnesses();

/** The state file of the only Pod. */
function onlyState(h: Harness): { file: string; state: JsonObject } {
  const states = h.states();
  expect(states).toHaveLength(1);
  return states[0] as unknown as { file: string; state: JsonObject };
}

describe('adoption', () => {
  it('records a container that was being started while the runtime stopped, so the next runtime adopts it instead of starting it twice', async () => {
    const launcher = new GatedLauncher();
    const h = await harness({ launcher });
    const pod = makePod({ containers: [sh('app', 'exec sleep 60')] });
    const syncing = h.runtime.syncPod(pod);
    const launched = await waitFor(() => launcher.launched, { what: 'the process spawned' });
    if (!launched.ok) throw new Error(launched.message);
    const pid = launched.launched.pid;
    const stopping = h.runtime.stop();
    launcher.release();
    await Promise.all([syncing, stopping]);
    expect(isAlive(pid)).toBe(true);
    expect(field(onlyState(h).state, 'containers', 'app', 'running', 'pid')).toBe(pid);

    const next = h.create({ launcher: new ProcessLauncher() });
    await next.start();
    expect(h.pid(keyOf(pod), 'app')).toBe(pid);
    expect(field(h.container(keyOf(pod), 'app'), 'restartCount')).toBe(0);
  });

  it('leaves a Pod running when the runtime stops; a new runtime adopts the same process and keeps supervising it', async () => {
    const h = await harness();
    const pod = makePod({ containers: [sh('app', "trap 'exit 5' TERM; echo up; while :; do sleep 0.05; done")] });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    const pid = await h.waitRunning(key, 'app');
    const dir = path.dirname(onlyState(h).file);
    await waitFor(() => readFileSync(path.join(dir, 'logs', 'app.log'), 'utf8').includes('up'), { what: 'the TERM trap set' });
    await h.runtime.stop();
    expect(isAlive(pid)).toBe(true);

    const eventsBefore = h.events.length;
    const second = h.create();
    await second.start();
    expect(second.pods()).toEqual([key]);
    expect(h.pid(key, 'app')).toBe(pid);
    expect(h.container(key, 'app')).toMatchObject({ restartCount: 0, ready: true });
    expect(h.events.slice(eventsBefore).filter((event) => event.reason === 'Started')).toEqual([]);

    // The adopted process is not a child of this runtime; its exit is still noticed, with its code.
    process.kill(-pid, 'SIGTERM');
    const restarted = await waitFor(() => {
      const status = h.container(key, 'app');
      return status.restartCount === 1 && field(status, 'state', 'running') ? status : undefined;
    }, { what: 'the adopted container restarted' });
    expect(field(restarted, 'lastState', 'terminated')).toMatchObject({ exitCode: 5, reason: 'Error', containerID: `process://${pid}` });
  });

  it('reports with its exit code a container that exited while no runtime was watching', async () => {
    const h = await harness();
    const pod = makePod({
      restartPolicy: 'Never',
      containers: [sh('job', 'while [ ! -e "$EDGE_VOLUME_S/go" ]; do sleep 0.05; done; exit 3', { volumeMounts: [{ name: 's', mountPath: '/s' }] })],
      volumes: [{ name: 's', emptyDir: {} }],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    const pid = await h.waitRunning(key, 'job');
    await h.runtime.stop();
    writeFileSync(path.join(path.dirname(onlyState(h).file), 'volumes', 's', 'go'), '');
    await waitFor(() => !isAlive(pid), { what: 'the job to exit' });

    const second = h.create();
    await second.start();
    const terminated = await h.waitTerminated(key, 'job');
    expect(terminated).toMatchObject({ exitCode: 3, reason: 'Error', containerID: `process://${pid}` });
    expect(h.status(key).phase).toBe('Failed');
    expect(h.container(key, 'job').restartCount).toBe(0);
  });

  it('does not mistake a reused pid for its container: the recorded start time must match', async () => {
    const h = await harness();
    const pod = makePod({ containers: [sh('app', 'exec sleep 60')] });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    const pid = await h.waitRunning(key, 'app');
    await h.runtime.stop();
    try {
      // Same pid, different start time: as if the process had died and the pid had been reused.
      const { file, state } = onlyState(h);
      const app = field(state, 'containers', 'app', 'running') as JsonObject;
      app.startTicks = '1';
      writeFileSync(file, JSON.stringify(state));

      const second = h.create();
      await second.start();
      const restarted = await waitFor(() => {
        const current = h.pid(key, 'app');
        return current !== undefined && current !== pid ? h.container(key, 'app') : undefined;
      }, { what: 'a new instance' });
      expect(restarted.restartCount).toBe(1);
      expect(field(restarted, 'lastState', 'terminated')).toMatchObject({ exitCode: 137, reason: 'ContainerStatusUnknown' });
      // The process behind the reused pid was left alone: neither adopted nor signalled.
      expect(isAlive(pid)).toBe(true);
    } finally {
      killGroup(pid);
    }
  });

  it('finishes a deletion that a restart interrupted, within the grace period it was given', async () => {
    const h = await harness();
    const pod = makePod({ containers: [sh('stubborn', "trap '' TERM; echo ready; while :; do sleep 0.05; done")] });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    const pid = await h.waitRunning(key, 'stubborn');
    const dir = path.dirname(onlyState(h).file);
    await waitFor(() => readFileSync(path.join(dir, 'logs', 'stubborn.log'), 'utf8').includes('ready'), { what: 'the TERM trap set' });
    const started = Date.now();
    void h.runtime.killPod(key, 1);
    await waitFor(() => h.eventsOf('stubborn', 'Killing').length === 1, { what: 'SIGTERM sent' });
    await h.runtime.stop();
    expect(isAlive(pid)).toBe(true); // it ignores SIGTERM

    const second = h.create();
    await second.start();
    expect(second.pods()).toEqual([key]); // still there until its processes are gone
    await waitFor(() => second.pods().length === 0, { what: 'the deletion to finish' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000); // the grace period was kept...
    expect(h.eventsOf('stubborn', 'Started')).toHaveLength(1); // ...and not restarted by the second runtime
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('keeps containers running when the process that runs the runtime is SIGKILLed', async () => {
    const h = harness.track(new Harness());
    const pod = makePod({ containers: [sh('app', 'exec sleep 60')] });
    const key = keyOf(pod);
    // A separate Node process plays the agent: it starts the Pod, prints the pid, and is then killed -9.
    const script = `
      const { ProcessRuntime } = await import(${JSON.stringify(path.join(DIST, 'edge-agent/runtime/index.js'))});
      const { pino } = await import('pino');
      const [dataDir, pod, key] = process.argv.slice(1);
      const runtime = new ProcessRuntime({ dataDir, nodeName: 'n', lookup: { get: () => undefined }, logger: pino({ level: 'silent' }), useBwrap: 'never', pollIntervalMs: 50 });
      await runtime.start();
      await runtime.syncPod(JSON.parse(pod));
      const timer = setInterval(() => {
        const status = runtime.podStatus(key)?.containerStatuses?.[0];
        if (status?.state?.running) { console.log(status.containerID); clearInterval(timer); }
      }, 20);
      setInterval(() => {}, 60_000);
    `;
    const agent = spawn(process.execPath, ['--input-type=module', '-e', script, h.dataDir, JSON.stringify(pod), key], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    agent.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const containerID = await waitFor(() => /process:\/\/\d+/.exec(out)?.[0], { what: 'the agent process to start the Pod' });
    const pid = Number(containerID.replace('process://', ''));
    agent.kill('SIGKILL');
    await once(agent, 'exit');
    expect(isAlive(pid)).toBe(true);
    // It was the agent's child; now it is reparented, and still running unharmed.
    expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).not.toContain(`) S ${agent.pid} `);

    await h.runtime.start();
    expect(h.pid(key, 'app')).toBe(pid);
    expect(h.container(key, 'app').restartCount).toBe(0);
  });
});
