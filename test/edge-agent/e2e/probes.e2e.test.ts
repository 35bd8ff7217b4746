/**
 * Probes and lifecycle hooks end to end on the process runtime: Pods scheduled through the
 * embedded API run on a real agent; kubectl shows a readiness probe flipping READY (also when
 * the probe changes while the hub is down: the result reaches the API when the link returns),
 * a failing liveness probe restarting the container with the kubelet's events, a startup probe
 * holding readiness, and postStart / preStop hooks in order around the stop signal.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, type AgentHandle } from '../../helpers/cluster.js';
import { run } from '../../helpers/process.js';
import { requireTool } from '../../helpers/system-tools.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

type Obj = Record<string, any>;
const NS = 'probes';

let cluster: TestCluster;
let agent: AgentHandle;
let ctl: ReturnType<typeof makeTempDir>;

beforeAll(async () => {
  ctl = makeTempDir('edge-probes-e2e-');
  cluster = new TestCluster();
  await cluster.start();
  await cluster.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await cluster.tokenFile('prober');
  agent = await cluster.startAgent('prober', { args: ['--restart-backoff-initial', '300', '--restart-backoff-max', '1200'] });
});

afterAll(async () => {
  await cluster?.close();
  ctl?.remove();
});

const podPath = (name = '') => `/api/v1/namespaces/${NS}/pods${name ? `/${name}` : ''}`;
const fast = { periodSeconds: 1, failureThreshold: 1 };

/** A Pod whose containers see `dir` (on the host) at /ctl, sandboxed or not. */
async function createPod(name: string, dir: string, spec: Obj): Promise<Obj> {
  return cluster.client.create<Obj>(podPath(), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { nodeName: 'prober', volumes: [{ name: 'ctl', hostPath: { path: dir, type: 'Directory' } }], ...spec },
  });
}

async function kubectl(...args: string[]): Promise<string> {
  const result = await run(requireTool('kubectl'), ['--kubeconfig', cluster.kubeconfig, ...args]);
  if (result.code !== 0) throw new Error(result.stderr);
  return result.stdout;
}

/** The READY and STATUS columns of `kubectl get pod`. */
async function columns(name: string): Promise<{ ready: string; status: string; restarts: string }> {
  const [, ready = '', status = '', restarts = ''] = (await kubectl('get', 'pod', name, '-n', NS, '--no-headers')).trim().split(/\s+/);
  return { ready, status, restarts };
}

async function events(name: string): Promise<string> {
  return kubectl('get', 'events', '-n', NS, '--field-selector', `involvedObject.name=${name}`, '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}');
}

const mount = [{ name: 'ctl', mountPath: '/ctl' }];

describe('probes through the agent and kubectl', () => {
  it('shows a readiness probe flipping READY, also when it flips while the hub is down', async () => {
    const dir = mkdir('ready');
    await createPod('ready', dir, {
      containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', 'exec sleep 3600'], volumeMounts: mount, readinessProbe: { exec: { command: ['test', '-f', '/ctl/ready'] }, ...fast } }],
    });
    await waitFor(async () => (await columns('ready')).status === 'Running' && (await columns('ready')).ready === '0/1', { what: 'Running 0/1' });
    writeFileSync(path.join(dir, 'ready'), '');
    await waitFor(async () => (await columns('ready')).ready === '1/1', { what: '1/1 in kubectl get pods' });
    const pod = await cluster.client.get<Obj>(podPath('ready'));
    expect(pod.status.conditions.find((c: Obj) => c.type === 'ContainersReady').status).toBe('True');

    await cluster.stopHub();
    rmSync(path.join(dir, 'ready'));
    // The agent's local API is its own view: the probe result changed with no hub to tell.
    await waitFor(async () => (await agent.get<Obj>(`${podPath('ready')}`))?.status?.containerStatuses?.[0]?.ready === false, { what: 'not ready on the node while offline' });
    await cluster.startHub();
    await waitFor(async () => (await columns('ready')).ready === '0/1', { what: '0/1 in kubectl once the link is back' });
    const status = (await cluster.client.get<Obj>(podPath('ready'))).status;
    expect(status.conditions.find((c: Obj) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady' });
    await cluster.client.delete(podPath('ready'));
  });

  it('restarts a container whose liveness probe fails, with Unhealthy and Killing events', async () => {
    const dir = mkdir('live');
    await createPod('live', dir, {
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', 'touch /tmp/alive; sleep 1; rm /tmp/alive; exec sleep 3600'], volumeMounts: mount, livenessProbe: { exec: { command: ['test', '-f', '/tmp/alive'] }, ...fast } }],
    });
    await waitFor(async () => Number((await columns('live')).restarts) >= 1, { what: 'RESTARTS >= 1' });
    const text = await events('live');
    expect(text).toMatch(/Unhealthy: (main: )?Liveness probe failed: /);
    expect(text).toMatch(/Killing: (main: )?Container main failed liveness probe, will be restarted/);
    const last = (await cluster.client.get<Obj>(podPath('live'))).status.containerStatuses[0].lastState.terminated;
    expect(last).toMatchObject({ reason: 'Error' });
    expect([137, 143]).toContain(last.exitCode);
    await cluster.client.delete(podPath('live'));
  });

  it('holds readiness until the startup probe passes', async () => {
    const dir = mkdir('startup');
    await createPod('startup', dir, {
      containers: [
        {
          name: 'main',
          image: 'sh',
          command: ['sh', '-c', 'exec sleep 3600'],
          volumeMounts: mount,
          startupProbe: { exec: { command: ['test', '-f', '/ctl/started'] }, periodSeconds: 1, failureThreshold: 600 },
          readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 },
        },
      ],
    });
    await waitFor(async () => /Unhealthy: (main: )?Startup probe failed/.test(await events('startup')), { what: 'startup probe failing' });
    const before = (await cluster.client.get<Obj>(podPath('startup'))).status.containerStatuses[0];
    expect(before).toMatchObject({ started: false, ready: false });
    expect((await columns('startup')).ready).toBe('0/1');
    writeFileSync(path.join(dir, 'started'), '');
    await waitFor(async () => (await columns('startup')).ready === '1/1', { what: 'ready once started' });
    await cluster.client.delete(podPath('startup'));
  });

  it('fails a Pod past its activeDeadlineSeconds with reason DeadlineExceeded', async () => {
    const dir = mkdir('deadline');
    await createPod('deadline', dir, { activeDeadlineSeconds: 2, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', 'exec sleep 3600'] }] });
    // kubectl's STATUS column shows the Pod's reason only until the container's own termination reason (Error) replaces it.
    const phaseAndReason = () => kubectl('get', 'pod', 'deadline', '-n', NS, '-o', 'jsonpath={.status.phase}/{.status.reason}');
    await waitFor(async () => (await phaseAndReason()) === 'Failed/DeadlineExceeded', { what: 'Failed/DeadlineExceeded through kubectl' });
    await waitFor(async () => (await cluster.client.get<Obj>(podPath('deadline'))).status.containerStatuses[0].state.terminated, { what: 'main stopped' });
    const pod = await cluster.client.get<Obj>(podPath('deadline'));
    expect(pod.status).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded' });
    expect(await events('deadline')).toMatch(/DeadlineExceeded: Pod was active on the node longer than the specified deadline/);
    await cluster.client.delete(podPath('deadline'));
  });

  it('runs postStart after the start and preStop before the stop signal, on kubectl delete', async () => {
    const dir = mkdir('hooks');
    await createPod('hooks', dir, {
      terminationGracePeriodSeconds: 20,
      containers: [
        {
          name: 'main',
          image: 'sh',
          // /ctl/up once the TERM trap is in place: a stop before that would leave no 'term' line.
          command: ['sh', '-c', "trap 'echo term >> /ctl/order; exit 0' TERM; : > /ctl/up; while true; do sleep 0.1; done"],
          volumeMounts: mount,
          lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo poststart >> /ctl/order'] } }, preStop: { exec: { command: ['sh', '-c', 'sleep 0.5; echo prestop >> /ctl/order'] } } },
        },
      ],
    });
    await waitFor(() => existsSync(path.join(dir, 'order')), { what: 'postStart ran' });
    await waitFor(() => existsSync(path.join(dir, 'up')), { what: 'the TERM trap in place' });
    await kubectl('delete', 'pod', 'hooks', '-n', NS, '--wait=true', '--timeout=60s');
    expect(readFileSync(path.join(dir, 'order'), 'utf8').split('\n').filter(Boolean)).toEqual(['poststart', 'prestop', 'term']);
  });
});

/** A directory of the test's, mounted at /ctl in the Pod. */
function mkdir(name: string): string {
  const dir = path.join(ctl.path, name);
  mkdirSync(dir);
  return dir;
}
