/**
 * `npm start`'s demo, through its real entry point: everything comes up, the table shows each
 * Pod's readiness, a second demo on the same directory is refused, what a killed demo left
 * running is stopped before the next one wipes the directory, and SIGHUP or a closed stdout pipe
 * (EPIPE) stop everything, Pods included.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PODS_DIR, STATE_FILE } from '../../edge-agent/runtime/pod-layout.js';
import type { PodState } from '../../edge-agent/runtime/pod-state.js';
import { isSameProcessAlive, readProcStat } from '../../edge-agent/runtime/proc-stat.js';
import { readRecord, stopEverythingOn } from '../../sim/demo/leftovers.js';
import { DIST, REPO, run, startProcess, type RunningProcess } from '../helpers/process.js';
import { requireTool } from '../helpers/system-tools.js';
import { makeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const tmp = makeTempDir('edge-demo-');
const demos: RunningProcess[] = [];
const demoDirs: string[] = [];
afterAll(async () => {
  for (const demo of demos) await demo.kill();
  for (const dir of demoDirs) await stopEverythingOn(dir);
  tmp.remove();
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * deploy/examples with hello-edge-1 on a free port instead of 8081 (another demo on this machine
 * may hold it), plus a Pod on edge-3 whose container exits at once, over and over.
 */
async function examples(): Promise<string> {
  const dir = path.join(tmp.path, 'examples');
  const demoYaml = readFileSync(path.join(REPO, 'deploy/examples/demo.yaml'), 'utf8');
  expect(demoYaml).toContain('listen(8081');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'demo.yaml'), demoYaml.replaceAll('8081', String(await freePort())));
  writeFileSync(
    path.join(dir, 'zz-crash.yaml'),
    ['apiVersion: v1', 'kind: Pod', 'metadata: {name: crash, namespace: demo}', 'spec:', '  nodeName: edge-3', '  containers:', '    - {name: crash, image: sh, command: [sh, -c, "echo crashing; exit 1"]}', ''].join('\n'),
  );
  return dir;
}

let examplesDir: Promise<string> | undefined;

async function startDemo(name: string): Promise<RunningProcess> {
  const dir = path.join(tmp.path, name);
  if (!demoDirs.includes(dir)) demoDirs.push(dir);
  const demo = await startProcess(path.join(DIST, 'sim/demo/main.js'), ['--dir', dir, '--refresh-ms', '200', '--examples', await (examplesDir ??= examples())], { ready: null });
  demos.push(demo);
  return demo;
}

const row = (node: string, pods: string) => new RegExp(`^\\| ${node}\\s+\\| connected\\s+\\| \\d+\\s+\\| ${pods}\\s+\\|`);

async function waitForTable(demo: RunningProcess, rows: RegExp[]): Promise<void> {
  await waitFor(() => rows.every((pattern) => demo.stdoutText.some((line) => pattern.test(line))) || !demo.running, { timeoutMs: 90_000, what: 'the fleet table' });
  expect(demo.running, demo.tail(40)).toBe(true);
}

/** The demo's processes (from its record) and its Pods' process groups (from the agents' Pod state). */
function demoProcesses(dir: string): { processes: { name: string; pid: number; startTicks: string }[]; podGroups: number[] } {
  const processes = readRecord(dir)?.processes ?? [];
  const podGroups: number[] = [];
  for (const agent of readdirSync(dir)) {
    let pods: string[] = [];
    try {
      pods = readdirSync(path.join(dir, agent, PODS_DIR));
    } catch {
      continue;
    }
    for (const pod of pods) {
      try {
        const state = JSON.parse(readFileSync(path.join(dir, agent, PODS_DIR, pod, STATE_FILE), 'utf8')) as PodState;
        for (const container of Object.values(state.containers ?? {})) if (container.running?.pgid) podGroups.push(container.running.pgid);
      } catch {
        // not written yet
      }
    }
  }
  return { processes, podGroups };
}

type Snapshot = ReturnType<typeof demoProcesses>;
const both = (a: Snapshot, b: Snapshot): Snapshot => ({ processes: [...a.processes, ...b.processes], podGroups: [...a.podGroups, ...b.podGroups] });

/** What of `snapshot` still runs: recorded processes by pid and start time, and any live member of a Pod's process group. */
function stillRunning(snapshot: Snapshot): string[] {
  const alive = snapshot.processes.filter((proc) => isSameProcessAlive(proc.pid, proc.startTicks)).map((proc) => `${proc.name} (pid ${proc.pid})`);
  const groups = new Set(snapshot.podGroups);
  for (const entry of readdirSync('/proc')) {
    const stat = readProcStat(Number(entry));
    if (stat && groups.has(stat.pgid) && stat.state !== 'Z' && stat.state !== 'X') alive.push(`pod process ${stat.pid} (group ${stat.pgid})`);
  }
  return alive;
}

describe('npm start', () => {
  it('shows readiness, not the phase, refuses a second demo on the same directory, and stops everything on SIGHUP', async () => {
    const demo = await startDemo('demo-a');
    await waitForTable(demo, [row('edge-1', 'demo/hello-edge-1 1/1 Running'), row('edge-2', 'demo/hello-edge-2 2/2 Running'), row('edge-3', 'demo/crash 0/1 CrashLoopBackOff \\(\\d+ restarts?\\)')]);
    const output = demo.stdoutText.join('\n');
    expect(output).toContain('applied      Namespace/demo, ConfigMap/demo/greeting');
    // The Try list restarts the hub on the port the agents' --hub URL names.
    const hubPort = /hub {10}ws:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
    expect(hubPort).toBeDefined();
    expect(output).toMatch(new RegExp(`npx cloud-hub --kubeconfig \\S+/api/kubeconfig --listen 127\\.0\\.0\\.1:${hubPort} .*# restart it on the same port`));

    const dir = path.join(tmp.path, 'demo-a');
    // kubectl logs works out of the box: the API goes to the hub's kubelet endpoint, a tunnel to the agent.
    const logs = await run(requireTool('kubectl'), ['--kubeconfig', path.join(dir, 'api', 'kubeconfig'), 'logs', '-n', 'demo', 'hello-edge-1'], { timeoutMs: 30_000 });
    expect(logs.stdout, logs.stderr).toMatch(/serving on :\d+/);
    const running = demoProcesses(dir);
    expect(running.processes.map((proc) => proc.name)).toEqual(['apiserver', 'cloud-hub', 'edge-1', 'edge-2', 'edge-3']);
    expect(running.podGroups.length).toBeGreaterThanOrEqual(3); // hello-edge-1, both containers of hello-edge-2

    const second = await startDemo('demo-a');
    const refused = await second.exited;
    expect(refused.code).toBe(1);
    expect(second.stderr.join('\n')).toContain(`a demo is already running on ${path.relative(REPO, dir)} (pid ${demo.pid}): stop it first`);
    expect(demo.running).toBe(true);
    // Every recorded process and at least one process of each Pod group still run.
    expect(stillRunning(running).length).toBeGreaterThanOrEqual(running.processes.length + running.podGroups.length);

    demo.child.kill('SIGHUP');
    expect((await demo.exited).code).toBe(0);
    expect(demo.stdoutText).toContain('SIGHUP: stopping agents, their pods, the hub and the API ...');
    expect(demo.stdoutText).toContain('all stopped.');
    expect(stillRunning(both(running, demoProcesses(dir)))).toEqual([]);
  }, 240_000);

  it('stops what a killed demo left running before it starts over, and stops everything when its stdout pipe closes', async () => {
    const dir = path.join(tmp.path, 'demo-b');
    const killed = await startDemo('demo-b');
    await waitForTable(killed, [row('edge-1', 'demo/hello-edge-1 1/1 Running'), row('edge-2', 'demo/hello-edge-2 2/2 Running')]);
    const left = demoProcesses(dir);
    await killed.kill(); // kill -9: nothing stops the agents and Pods
    expect(stillRunning(left).filter((what) => what.startsWith('pod process')).length).toBeGreaterThanOrEqual(3);

    const demo = await startDemo('demo-b');
    await waitForTable(demo, [row('edge-1', 'demo/hello-edge-1 1/1 Running'), row('edge-2', 'demo/hello-edge-2 2/2 Running')]);
    expect(demo.stdoutText.find((line) => line.startsWith('stopped what an earlier demo left running on'))).toMatch(/pod process groups?/);
    expect(stillRunning(left)).toEqual([]);

    // `npm start | head`: the reader goes away; the next table (the hub stopped: agents offline) hits EPIPE.
    const running = demoProcesses(dir);
    demo.child.stdout!.destroy();
    const hub = running.processes.find((proc) => proc.name === 'cloud-hub')!;
    process.kill(hub.pid, 'SIGKILL');
    expect((await demo.exited).code).toBe(0);
    expect(stillRunning(both(running, demoProcesses(dir)))).toEqual([]);
  }, 240_000);

  it('refuses to wipe a directory that is not a demo directory', async () => {
    const dir = path.join(tmp.path, 'precious');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'notes.txt'), 'keep me');
    const demo = await startProcess(path.join(DIST, 'sim/demo/main.js'), ['--dir', dir], { ready: null });
    expect((await demo.exited).code).toBe(1);
    expect(demo.stderr.join('\n')).toContain('exists and is not a demo directory (no demo.json); the demo wipes its directory at start: choose another --dir');
    expect(readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('keep me');
  });
});
