/**
 * port-forward on the agent's kubelet API to a real HTTP server in a process-runtime Pod: over
 * the WebSocket channel protocol, and with the real kubectl (through kubectl-front.ts, as
 * kube-apiserver would proxy it) over SPDY tunnelled in WebSocket (kubectl 1.31+'s default) and
 * over a plain SPDY/3.1 upgrade (its fallback). kubectl exec through the same front.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { JsonObject } from '../../../protocol/index.js';
import { requireTool } from '../../helpers/system-tools.js';
import { waitFor } from '../../helpers/wait.js';
import { makePod, keyOf } from '../runtime/helpers.js';
import { KubeletHarness } from './helpers.js';
import { startKubectlFront, type KubectlFront } from './kubectl-front.js';

const KUBECTL = requireTool(process.env.KUBECTL ?? 'kubectl', 'kubectl');

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A Pod whose container serves HTTP on `port` (host network), answering "hello <path>". */
async function serving(): Promise<{ h: KubeletHarness; port: number; pod: JsonObject }> {
  return servingScript((port) => `require('http').createServer((q, s) => s.end('hello ' + q.url)).listen(${port}, '127.0.0.1')`, async (port) => (await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text(), () => '')).startsWith('hello'));
}

/** A Pod whose container writes "bye" on every TCP connection to `port` and closes it at once, reading nothing. */
async function sayingBye(): Promise<{ h: KubeletHarness; port: number; pod: JsonObject }> {
  return servingScript((port) => `require('net').createServer((s) => { s.on('error', () => {}); s.end('bye\\n', () => s.destroy()); }).listen(${port}, '127.0.0.1')`, async (port) => (await readAll(port)) === 'bye\n');
}

async function servingScript(script: (port: number) => string, up: (port: number) => Promise<boolean>): Promise<{ h: KubeletHarness; port: number; pod: JsonObject }> {
  const h = new KubeletHarness();
  cleanups.push(() => h.stop());
  await h.start();
  const port = await freePort();
  const pod = makePod({ name: 'srv', containers: [{ name: 'main', image: 'node', command: [process.execPath, '-e', script(port)] }] });
  await h.run(pod, 'main');
  await waitFor(() => up(port), { what: 'the Pod serving' });
  return { h, port, pod };
}

/** Everything a TCP server at `port` sends until it closes ('' when nothing listens). */
function readAll(port: number): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = net.connect(port, '127.0.0.1');
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
  });
}

function front(h: KubeletHarness, pod: JsonObject, refuseWebSockets = false): Promise<KubectlFront> {
  return startKubectlFront(
    h.url,
    (namespace, name) => {
      const found = h.pods.get(`Pod/${namespace}/${name}`);
      return found ? { ...found, status: h.runtime.runtime.podStatus(keyOf(pod)) ?? {} } : undefined;
    },
    { refuseWebSockets },
  ).then((started) => {
    cleanups.push(() => started.close());
    return started;
  });
}

function kubectl(args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(KUBECTL, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  cleanups.push(() => {
    child.kill('SIGKILL');
  });
  return child;
}

/** kubectl port-forward to the Pod's port; resolves with the local port it forwards from. */
async function kubectlPortForward(kubeconfig: string, port: number, env: Record<string, string> = {}): Promise<{ local: number; stderr: () => string }> {
  const child = kubectl(['--kubeconfig', kubeconfig, 'port-forward', 'pod/srv', `:${port}`], env);
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const local = await waitFor(() => Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1]) || undefined, { what: `kubectl port-forward to start (stderr: ${err})` });
  return { local, stderr: () => err };
}

describe('portForward', () => {
  it('carries an HTTP request over the WebSocket channel protocol (v4.channel.k8s.io, ?port=)', async () => {
    const { h, port } = await serving();
    const ws = new WebSocket(`${h.url.replace('http', 'ws')}/portForward/default/srv?port=${port}`, ['v4.channel.k8s.io']);
    cleanups.push(() => ws.terminate());
    let data = Buffer.alloc(0);
    const prefixes: Buffer[] = [];
    ws.on('message', (message: Buffer) => {
      if (message.length === 3 && (message[0] === 0 || message[0] === 1) && message.readUInt16LE(1) === port) return void prefixes.push(message);
      if (message[0] === 0) data = Buffer.concat([data, message.subarray(1)]);
    });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('GET /over-ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]));
    const response = await waitFor(() => (data.toString().includes('hello /over-ws') ? data.toString() : undefined), { what: 'the response' });
    expect(response.startsWith('HTTP/1.1 200 OK')).toBe(true);
    // Each channel opened with the port, little-endian, as the kubelet does.
    expect(prefixes).toHaveLength(2);
  });

  it('kubectl port-forward (SPDY tunnelled in WebSocket) carries HTTP requests to the Pod', async () => {
    const { h, port, pod } = await serving();
    const { kubeconfig, upgrades } = await front(h, pod);
    const { local, stderr } = await kubectlPortForward(kubeconfig, port);
    expect(await (await fetch(`http://127.0.0.1:${local}/first`)).text()).toBe('hello /first');
    expect(await (await fetch(`http://127.0.0.1:${local}/second`)).text()).toBe('hello /second');
    expect(upgrades, stderr()).toEqual(['websocket SPDY/3.1+portforward.k8s.io']);
  });

  it('kubectl port-forward over a plain SPDY/3.1 upgrade (its fallback) carries HTTP requests to the Pod', async () => {
    const { h, port, pod } = await serving();
    const { kubeconfig, upgrades } = await front(h, pod, true);
    const { local } = await kubectlPortForward(kubeconfig, port);
    expect(await (await fetch(`http://127.0.0.1:${local}/spdy`)).text()).toBe('hello /spdy');
    expect(upgrades).toEqual(['SPDY/3.1']);
  });

  it('over SPDY, a Pod that closes a connection kubectl still sends on does not stall the next connections', async () => {
    const { h, port, pod } = await sayingBye();
    const { kubeconfig } = await front(h, pod, true);
    const { local, stderr } = await kubectlPortForward(kubeconfig, port);
    // The Pod answers and closes while 4 MiB are still on their way to it through the stream.
    const first = net.connect(local, '127.0.0.1');
    first.on('error', () => undefined);
    first.resume();
    first.write(Buffer.alloc(4 * 1024 * 1024, 1));
    await new Promise((resolve) => first.once('close', resolve));
    for (let i = 0; i < 3; i++) expect(await readAll(local), stderr()).toBe('bye\n');
  });

  it('a port nothing listens on: kubectl reports the kubelet-style error', async () => {
    const { h, pod } = await serving();
    const { kubeconfig } = await front(h, pod);
    const closed = await freePort();
    const forward = await kubectlPortForward(kubeconfig, closed);
    await fetch(`http://127.0.0.1:${forward.local}/`).catch(() => undefined);
    await waitFor(() => forward.stderr().includes(`error forwarding port ${closed}`), { what: `the forwarding error (stderr: ${forward.stderr()})` });
  });
});

describe('kubectl exec through the kubelet API', () => {
  it('sends stdin, returns stdout and the exit code', async () => {
    const { h, pod } = await serving();
    const { kubeconfig, upgrades } = await front(h, pod);
    const child = kubectl(['--kubeconfig', kubeconfig, 'exec', '-i', 'srv', '--', 'sh', '-c', 'tr a-z A-Z; exit 7']);
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdin!.end('from kubectl\n');
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect({ out, code }, err).toEqual({ out: 'FROM KUBECTL\n', code: 7 });
    expect(upgrades[0]).toMatch(/^websocket v5\.channel\.k8s\.io/);
  });

  it('over SPDY (kubectl\'s fallback, what kube-apiserver speaks to a kubelet): stdin, stdout, exit code', async () => {
    const { h, pod } = await serving();
    const { kubeconfig, upgrades } = await front(h, pod, true);
    const child = kubectl(['--kubeconfig', kubeconfig, 'exec', '-i', 'srv', '--', 'sh', '-c', 'tr a-z A-Z; echo to-stderr >&2; exit 5']);
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdin!.end('over spdy\n');
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect({ out, code }, err).toEqual({ out: 'OVER SPDY\n', code: 5 });
    expect(err).toContain('to-stderr');
    expect(upgrades).toContain('SPDY/3.1');
  });

  it('closing the kubelet API ends an exec still open over SPDY (the agent stops without waiting for it)', async () => {
    const { h, pod } = await serving();
    const { kubeconfig, upgrades } = await front(h, pod, true);
    const child = kubectl(['--kubeconfig', kubeconfig, 'exec', '-i', 'srv', '--', 'cat']);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stdin!.write('still here\n');
    await waitFor(() => out === 'still here\n', { what: 'the exec to echo' });
    expect(upgrades).toContain('SPDY/3.1');
    let closed = false;
    void h.server.close().then(() => (closed = true));
    await waitFor(() => closed, { what: 'the kubelet API to close with an exec open' });
    // kubectl sees its streams end (it exits 0: spdystream reports a lost connection as EOF).
    await waitFor(() => child.exitCode !== null, { what: 'kubectl exec to end' });
  });
});
