/**
 * kubectl logs, exec, port-forward, cp and top against the embedded API (`cloud-hub
 * --embedded`, the way `npm start` runs it), for Pods on real agents: each request goes
 * embedded API -> the hub's kubelet endpoint -> a stream tunnel the agent dialled on request ->
 * the agent's kubelet API -> the Pod's process. One agent syncs over WebSocket, one over MQTT
 * (the embedded broker) and dials its tunnels at --stream-url.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../../helpers/cluster.js';
import { startHub, type HubHandle } from '../../helpers/hub.js';
import { freePort } from '../../helpers/mosquitto.js';
import { run } from '../../helpers/process.js';
import { requireTool } from '../../helpers/system-tools.js';
import { waitFor } from '../../helpers/wait.js';

type Obj = Record<string, any>;
const NS = 'default';

let hub: HubHandle;
let cluster: TestCluster;
let serverPort = 0;

async function kubectl(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(requireTool('kubectl'), ['--kubeconfig', hub.kubeconfig, ...args], { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
}

async function ok(...args: string[]): Promise<string> {
  const result = await kubectl(args);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

async function createPod(name: string, node: string, command: string[], extra: Obj = {}): Promise<void> {
  await hub.client.create(`/api/v1/namespaces/${NS}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { nodeName: node, containers: [{ name: 'main', image: 'sh', command }], ...extra },
  });
}

async function running(name: string): Promise<void> {
  await waitFor(async () => (await hub.client.get<Obj>(`/api/v1/namespaces/${NS}/pods/${name}`)).status?.phase === 'Running', { timeoutMs: 30_000, what: `${name} Running` });
}

beforeAll(async () => {
  // Port 0: a port picked beforehand can be taken by another process before the hub binds it.
  hub = await startHub({ args: ['--embedded-broker', '127.0.0.1:0'] });
  cluster = new TestCluster();
  for (const node of ['edge-ws', 'edge-mq']) writeFileSync(path.join(cluster.dir.path, `${node}.token`), `${await hub.tokens.create(node)}\n`, { mode: 0o600 });
  await cluster.startAgent('edge-ws', { hubUrl: hub.ws, args: ['--sandbox', 'never'] });
  await cluster.startAgent('edge-mq', { hubUrl: hub.mqtt!, args: ['--sandbox', 'never', '--stream-url', hub.ws] });
  serverPort = await freePort();
  await createPod('ticker', 'edge-ws', ['sh', '-c', 'i=0; while true; do echo "tick-$i"; i=$((i+1)); sleep 0.2; done']);
  await createPod('crasher', 'edge-ws', ['sh', '-c', 'echo "run-$(date +%s%N)"; sleep 0.5; exit 3'], { restartPolicy: 'Always' });
  await createPod('server', 'edge-ws', [process.execPath, '-e', `require('http').createServer((q, s) => s.end('pong ' + q.url)).listen(${serverPort}, '127.0.0.1')`]);
  await createPod('mq-ticker', 'edge-mq', ['sh', '-c', 'while true; do echo "mq-tick"; sleep 0.2; done']);
  await Promise.all(['ticker', 'server', 'mq-ticker'].map(running));
}, 180_000);

afterAll(async () => {
  await cluster?.close();
  await hub?.stop();
});

describe('kubectl reaches Pods on edge nodes through the hub', () => {
  it('logs -f shows lines written after the stream started', async () => {
    const child = spawn(requireTool('kubectl'), ['--kubeconfig', hub.kubeconfig, 'logs', '-f', '--tail=1', 'ticker'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      const first = Number((await waitFor(() => /tick-(\d+)/.exec(out), { what: 'a first line' }))[1]);
      // A later line than the first one seen can only have been written after the stream began.
      await waitFor(() => [...out.matchAll(/tick-(\d+)/g)].some((match) => Number(match[1]) > first + 2), { what: 'newer lines in logs -f' });
    } finally {
      child.kill();
    }
  });

  it('logs --previous shows the last run of a crashed container', async () => {
    await waitFor(async () => ((await hub.client.get<Obj>(`/api/v1/namespaces/${NS}/pods/crasher`)).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, { timeoutMs: 30_000, what: 'a restart' });
    const previous = await ok('logs', '--previous', 'crasher');
    expect(previous).toMatch(/run-\d+/);
  });

  it('exec with stdin returns the command\'s output and exit code', async () => {
    const result = await kubectl(['exec', '-i', 'ticker', '--', 'sh', '-c', 'tr a-z A-Z; echo done >&2; exit 7'], 'hello through the tunnel\n');
    expect(result.stdout).toContain('HELLO THROUGH THE TUNNEL');
    expect(result.stderr).toContain('done');
    expect(result.code).toBe(7);
  });

  it('port-forward carries an HTTP request to the Pod\'s server', async () => {
    const local = await freePort();
    const child = spawn(requireTool('kubectl'), ['--kubeconfig', hub.kubeconfig, 'port-forward', 'pod/server', `${local}:${serverPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await waitFor(() => out.includes('Forwarding from'), { what: `kubectl port-forward listening: ${out}` });
      const body = await waitFor(
        () =>
          new Promise<string | undefined>((resolve) => {
            http.get(`http://127.0.0.1:${local}/through-the-hub`, (res) => {
              let text = '';
              res.on('data', (chunk: Buffer) => (text += chunk.toString()));
              res.on('end', () => resolve(text));
            }).on('error', () => resolve(undefined));
          }),
        { what: 'an answer through port-forward' },
      );
      expect(body).toBe('pong /through-the-hub');
    } finally {
      child.kill();
    }
  });

  it('cp copies a file into the Pod and back', async () => {
    const local = path.join(cluster.dir.path, 'cp-source.txt');
    const content = `copied ${Date.now()}\n${'x'.repeat(100_000)}\n`;
    writeFileSync(local, content);
    const remote = `/tmp/edge-cp-${process.pid}-${Date.now()}.txt`;
    await ok('cp', local, `ticker:${remote}`);
    const back = path.join(cluster.dir.path, 'cp-back.txt');
    await ok('cp', `ticker:${remote}`, back);
    expect(readFileSync(back, 'utf8')).toBe(content);
    await ok('exec', 'ticker', '--', 'rm', '-f', remote);
  });

  it('top pod and top node show CPU that moves with a busy loop', async () => {
    await createPod('busy', 'edge-ws', ['sh', '-c', 'while :; do :; done']);
    try {
      await running('busy');
      const cpuOf = (table: string, name: string): number | undefined => {
        const match = new RegExp(`^${name}\\s+(\\d+)m?\\s`, 'm').exec(table);
        return match ? Number(match[1]) : undefined;
      };
      // metrics-server's numbers: a rate between two samples of the cumulative CPU counters.
      const busy = await waitFor(async () => cpuOf(await ok('top', 'pod', 'busy'), 'busy'), { timeoutMs: 30_000, what: 'kubectl top pod busy' });
      const idle = await waitFor(async () => cpuOf(await ok('top', 'pod', 'ticker'), 'ticker'), { timeoutMs: 30_000, what: 'kubectl top pod ticker' });
      // A loop that never sleeps against one that sleeps 0.2 s between echoes: lower bounds only.
      expect(busy).toBeGreaterThan(100);
      expect(busy).toBeGreaterThan(idle);
      const nodes = await ok('top', 'node');
      expect(cpuOf(nodes, 'edge-ws')).toBeGreaterThanOrEqual(busy > 1000 ? 100 : 50);
      expect(nodes).toMatch(/edge-mq\s+\d+m?\s/);
    } finally {
      await hub.client.delete(`/api/v1/namespaces/${NS}/pods/busy`, { gracePeriodSeconds: '0' });
    }
  });

  it('kubectl get --raw reaches a node\'s kubelet API through nodes/proxy', async () => {
    const summary = JSON.parse(await ok('get', '--raw', '/api/v1/nodes/edge-ws/proxy/stats/summary')) as Obj;
    expect(summary.node.nodeName).toBe('edge-ws');
    expect((summary.pods as Obj[]).map((pod) => pod.podRef.name)).toContain('ticker');
    // The query goes along unchanged; the path past proxy/ is the kubelet's.
    expect(await ok('get', '--raw', '/api/v1/nodes/edge-mq/proxy/containerLogs/default/mq-ticker/main?tailLines=1')).toContain('mq-tick');
    const missing = await kubectl(['get', '--raw', '/api/v1/nodes/no-such-node/proxy/stats/summary']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('not found');
  });

  it('an agent whose sync runs over MQTT serves logs through its tunnel too', async () => {
    await waitFor(async () => (await ok('logs', '--tail=3', 'mq-ticker')).includes('mq-tick'), { what: 'kubectl logs over the MQTT node' });
  });
});

// Last: it stops the hub.
describe('stopping the hub', () => {
  it('ends an exec still open, and exits cleanly instead of waiting for it', async () => {
    const child = spawn(requireTool('kubectl'), ['--kubeconfig', hub.kubeconfig, 'exec', '-i', 'ticker', '--', 'cat'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      child.stdin.write('still here\n');
      await waitFor(() => out === 'still here\n', { what: 'the exec to echo' });
      // SIGTERM; a stop that waited for the exec would reach the helper's SIGKILL after 10 s.
      expect(await hub.proc.stop()).toMatchObject({ code: 0, signal: null });
      await waitFor(() => child.exitCode !== null || child.signalCode !== null, { what: 'kubectl exec to end' });
    } finally {
      child.kill();
    }
  });
});
