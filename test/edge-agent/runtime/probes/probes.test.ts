/**
 * Probes and lifecycle hooks in the process runtime with real processes and real sockets:
 * readiness flipping with an exec probe, an httpGet and a tcpSocket probe against servers the
 * test runs, liveness restarting a container, a startup probe holding readiness, a probe that
 * hangs cut at its timeout, postStart and preStop, and hostile probe specs refused.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../../protocol/index.js';
import { PodValidationError } from '../../../../edge-agent/runtime/pod-validation.js';
import { requireTool } from '../../../helpers/system-tools.js';
import { makeTempDir } from '../../../helpers/tmp.js';
import { waitFor } from '../../../helpers/wait.js';
import { Harness, keyOf, makePod, sh } from '../helpers.js';

const harnesses: Harness[] = [];
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.cleanup();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function harness(useBwrap: 'never' | 'always' = 'never'): Promise<Harness> {
  const created = new Harness({ hostIP: '127.0.0.1', useBwrap });
  harnesses.push(created);
  await created.runtime.start();
  return created;
}

function workDir(): string {
  const dir = makeTempDir('edge-probes-');
  cleanups.push(() => dir.remove());
  return dir.path;
}

function container(h: Harness, key: string, name = 'main'): JsonObject | undefined {
  return ((h.status(key).containerStatuses ?? []) as JsonObject[]).find((item) => item.name === name);
}

function condition(h: Harness, key: string, type: string): JsonObject | undefined {
  return ((h.status(key).conditions ?? []) as JsonObject[]).find((item) => item.type === type);
}

const fast = { periodSeconds: 1, failureThreshold: 1 };

describe('readiness', () => {
  it('flips ready, ContainersReady and Ready with an exec probe, with the Unhealthy event and kube reasons', async () => {
    const h = await harness();
    const dir = workDir();
    const flag = path.join(dir, 'ready');
    const pod = makePod({ containers: [sh('main', 'exec sleep 60', { readinessProbe: { exec: { command: ['test', '-f', flag] }, ...fast } })] });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await h.waitRunning(key, 'main');
    await waitFor(() => h.events.some((event) => event.reason === 'Unhealthy' && event.message.startsWith('Readiness probe failed:')), { what: 'Unhealthy event' });
    expect(container(h, key)).toMatchObject({ ready: false, started: true });
    expect(condition(h, key, 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [main]' });
    expect(condition(h, key, 'ContainersReady')).toMatchObject({ status: 'False', reason: 'ContainersNotReady' });
    writeFileSync(flag, '');
    await waitFor(() => container(h, key)?.ready === true, { what: 'ready' });
    expect(condition(h, key, 'Ready')).toMatchObject({ status: 'True' });
    rmSync(flag);
    await waitFor(() => container(h, key)?.ready === false, { what: 'not ready again' });
    expect(h.status(key).phase).toBe('Running');
    expect(container(h, key)?.restartCount).toBe(0); // readiness never restarts
  });

  it('runs exec hooks and probes inside the bwrap sandbox, seeing its private /tmp and environment', async () => {
    requireTool('bwrap', 'bubblewrap');
    const h = await harness('always');
    const pod = makePod({
      containers: [
        sh('main', 'exec sleep 60', {
          env: [{ name: 'MODE', value: 'sandboxed' }],
          // Right after the start: the hook must wait for bwrap to finish setting the sandbox up.
          lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo "$MODE" > /tmp/ready'] } } },
          readinessProbe: { exec: { command: ['sh', '-c', 'test "$(cat /tmp/ready)" = "$MODE" && test "$(hostname)" = p'] }, ...fast },
        }),
      ],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await waitFor(() => container(h, key)?.ready === true, { what: 'ready from inside the sandbox' });
    expect(existsSync('/tmp/ready')).toBe(false); // the host's /tmp is not the container's
  });

  it('uses httpGet (2xx/3xx success, others failure) and tcpSocket probes with named ports', async () => {
    const h = await harness();
    let code = 503;
    const server = http.createServer((_req, res) => {
      res.writeHead(code);
      res.end('body');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    const tcp = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => tcp.close(() => resolve())));
    const tcpPort = (tcp.address() as AddressInfo).port;
    const pod = makePod({
      containers: [
        sh('web', 'exec sleep 60', { ports: [{ name: 'http', containerPort: port }], readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, ...fast } }),
        sh('db', 'exec sleep 60', { readinessProbe: { tcpSocket: { port: tcpPort }, ...fast } }),
      ],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await waitFor(() => container(h, key, 'db')?.ready === true, { what: 'tcp probe ready' });
    await waitFor(() => h.events.some((event) => event.message === 'Readiness probe failed: HTTP probe failed with statuscode: 503'), { what: '503 event' });
    expect(container(h, key, 'web')?.ready).toBe(false);
    code = 302;
    await waitFor(() => container(h, key, 'web')?.ready === true, { what: 'http probe ready on a 302' });
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    await waitFor(() => container(h, key, 'db')?.ready === false, { what: 'tcp probe failing once the port is closed' });
  });
});

describe('liveness and startup', () => {
  it('kills and restarts a container whose liveness probe fails, with Unhealthy then Killing events', async () => {
    const h = await harness();
    const dir = workDir();
    const flag = path.join(dir, 'alive');
    writeFileSync(flag, '');
    const pod = makePod({ grace: 5, containers: [sh('main', 'exec sleep 60', { livenessProbe: { exec: { command: ['test', '-f', flag] }, periodSeconds: 1, failureThreshold: 2 } })] });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await h.waitRunning(key, 'main');
    rmSync(flag);
    await waitFor(() => (container(h, key)?.restartCount as number) >= 1, { what: 'restart after liveness failure' });
    const reasons = h.events.filter((event) => event.container === 'main' && ['Unhealthy', 'Killing'].includes(event.reason)).map((event) => `${event.reason}: ${event.message}`);
    expect(reasons[0]).toMatch(/^Unhealthy: Liveness probe failed: /);
    expect(reasons).toContain('Killing: Container main failed liveness probe, will be restarted');
    const last = (container(h, key)?.lastState as JsonObject).terminated as JsonObject;
    expect(last).toMatchObject({ exitCode: 143, reason: 'Error', signal: 15 });
  });

  it('holds liveness and readiness until the startup probe passes (started false meanwhile)', async () => {
    const h = await harness();
    const dir = workDir();
    const started = path.join(dir, 'started');
    const livenessRan = path.join(dir, 'liveness-ran');
    const pod = makePod({
      containers: [
        sh('main', 'exec sleep 60', {
          startupProbe: { exec: { command: ['test', '-f', started] }, periodSeconds: 1, failureThreshold: 60 },
          livenessProbe: { exec: { command: ['touch', livenessRan] }, periodSeconds: 1 },
          readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 },
        }),
      ],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await h.waitRunning(key, 'main');
    // The startup probe has failed at least once, and liveness never ran meanwhile.
    await waitFor(() => h.events.filter((event) => event.message.startsWith('Startup probe failed')).length >= 1, { what: 'startup failing' });
    expect(container(h, key)).toMatchObject({ started: false, ready: false });
    expect(existsSync(livenessRan)).toBe(false);
    writeFileSync(started, '');
    await waitFor(() => container(h, key)?.ready === true, { what: 'ready after startup passed' });
    expect(container(h, key)?.started).toBe(true);
    await waitFor(() => existsSync(livenessRan), { what: 'liveness running after startup' });
  });

  it('cuts a probe that hangs at timeoutSeconds and counts it as a failure', async () => {
    const h = await harness();
    const pod = makePod({ containers: [sh('main', 'exec sleep 60', { readinessProbe: { exec: { command: ['sleep', '30'] }, timeoutSeconds: 1, ...fast } })] });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    const event = await waitFor(() => h.events.find((item) => item.reason === 'Unhealthy'), { what: 'timeout event' });
    expect(event.message).toContain('timed out after 1s');
    expect(container(h, key)?.ready).toBe(false);
  });
});

describe('lifecycle hooks', () => {
  it('runs preStop before the stop signal, within the grace period, and postStart after the start', async () => {
    const h = await harness();
    const dir = workDir();
    const order = path.join(dir, 'order');
    const pod = makePod({
      grace: 10,
      containers: [
        // `.up` once the TERM trap is in place: a stop before that (a slow shell start) would leave no 'term' line.
        sh('main', `trap 'echo term >> ${order}; exit 0' TERM; : > ${order}.up; while true; do sleep 0.1; done`, {
          lifecycle: { postStart: { exec: { command: ['sh', '-c', `echo poststart >> ${order}`] } }, preStop: { exec: { command: ['sh', '-c', `sleep 0.3; echo prestop >> ${order}`] } } },
        }),
      ],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await h.waitRunning(key, 'main');
    await waitFor(() => existsSync(order) && readFileSync(order, 'utf8').includes('poststart'), { what: 'postStart ran' });
    await waitFor(() => existsSync(`${order}.up`), { what: 'the TERM trap in place' });
    await h.runtime.killPod(key, 10);
    expect(readFileSync(order, 'utf8').split('\n').filter(Boolean)).toEqual(['poststart', 'prestop', 'term']);
  });

  it('kills a container whose postStart hook fails, with FailedPostStartHook', async () => {
    const h = await harness();
    const pod = makePod({ grace: 2, containers: [sh('main', 'exec sleep 60', { lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo nope; exit 3'] } } } })] });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    const event = await waitFor(() => h.events.find((item) => item.reason === 'FailedPostStartHook'), { what: 'FailedPostStartHook' });
    expect(event.message).toContain('failed - error: PostStart hook failed, message: "nope"');
    await waitFor(() => h.events.some((item) => item.reason === 'Killing' && item.message === 'FailedPostStartHook'), { what: 'Killing' });
    await waitFor(() => (container(h, key)?.restartCount as number) >= 1, { what: 'restarted' });
  });
});

describe('activeDeadlineSeconds', () => {
  it('fails the Pod with DeadlineExceeded once it ran that long, stops its containers and starts none again', async () => {
    const h = await harness();
    const pod = makePod({ grace: 1, containers: [sh('main', 'exec sleep 60')] });
    (pod.spec as JsonObject).activeDeadlineSeconds = 1;
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await h.waitRunning(key, 'main');
    const status = await waitFor(() => {
      const current = h.status(key);
      return current.phase === 'Failed' && (container(h, key)?.state as JsonObject).terminated ? current : undefined;
    }, { what: 'Failed with main terminated' });
    expect(status).toMatchObject({ reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' });
    expect(h.events.filter((event) => event.reason === 'DeadlineExceeded')).toMatchObject([{ type: 'Warning' }]);
    expect(container(h, key)?.restartCount).toBe(0); // restartPolicy Always does not bring it back
    expect(condition(h, key, 'Ready')?.status).toBe('False');
  });
});

describe('hostile probe specs', () => {
  it('refuses bad ports, unknown port names, relative paths and header injection, naming the field', async () => {
    const h = await harness();
    const bad = makePod({
      containers: [
        sh('main', 'exec sleep 60', {
          livenessProbe: { httpGet: { path: 'no-slash', port: 70000, httpHeaders: [{ name: 'X', value: 'a\r\nInjected: 1' }] } },
          readinessProbe: { tcpSocket: { port: 'missing' } },
          startupProbe: { exec: { command: ['true'] }, successThreshold: 2 },
        }),
      ],
    });
    let error: unknown;
    await h.runtime.syncPod(bad).catch((err: unknown) => (error = err));
    expect(error).toBeInstanceOf(PodValidationError);
    const problems = (error as PodValidationError).problems.join('\n');
    expect(problems).toContain('spec.containers[0].livenessProbe.httpGet.port: Invalid value: 70000');
    expect(problems).toContain('livenessProbe.httpGet.path');
    expect(problems).toContain('livenessProbe.httpGet.httpHeaders');
    expect(problems).toContain('readinessProbe.tcpSocket.port: Invalid value: "missing": must be a port name of the container');
    expect(problems).toContain('startupProbe.successThreshold: Invalid value: 2: must be 1');
    expect(h.runtime.pods()).toEqual([]);
  });
});
