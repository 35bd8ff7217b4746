/**
 * Stream tunnels and the hub's kubelet endpoint, end to end through a real `cloud-hub
 * --embedded` process: kubectl logs (and logs -f) of a Pod bound to an edge node reach the
 * node's kubelet API through a tunnel the agent dialled on request; the kubelet endpoint
 * authenticates by client certificate and keeps a request for one node's Pods from another
 * node; a node can never answer another node's tunnel; an upgrade is a two-way pipe.
 * The agents are the agent's own link and tunnel code in-process, with a kubelet stand-in
 * behind the tunnel (test/helpers/stream-agent.ts).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TUNNEL_SUBPROTOCOL, tunnelPath } from '../../protocol/index.js';
import { startHub, type HubHandle } from '../helpers/hub.js';
import { httpsText } from '../helpers/https-text.js';
import { startStreamAgent, type StreamAgent } from '../helpers/stream-agent.js';
import { requireTool, runTool } from '../helpers/system-tools.js';
import { waitFor } from '../helpers/wait.js';

let hub: HubHandle;
let kubelet: URL;
const agents: StreamAgent[] = [];
const tokens = new Map<string, string>();
/** Tunnel ids asked of the node that records instead of dialling. */
const recorded: string[] = [];

async function kubectl(...args: string[]): Promise<string> {
  const result = await runTool(requireTool('kubectl'), ['--kubeconfig', hub.kubeconfig, ...args], { timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

async function pod(name: string, node: string): Promise<void> {
  await hub.client.create('/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName: node, containers: [{ name: 'app', image: 'busybox' }] },
  });
}

/** A request to the hub's kubelet endpoint, with the embedded API's client certificate unless `anonymous`. */
function kubeletGet(pathAndQuery: string, headers: Record<string, string> = {}, anonymous = false): Promise<{ status: number; body: string }> {
  return httpsText({
    host: kubelet.hostname,
    port: Number(kubelet.port),
    path: pathAndQuery,
    headers,
    ca: readFileSync(path.join(hub.data, 'hub-kubelet-ca.crt')),
    ...(anonymous ? {} : { cert: readFileSync(path.join(hub.data, 'apiserver-kubelet-client.crt')), key: readFileSync(path.join(hub.data, 'apiserver-kubelet-client.key')) }),
  });
}

/** The HTTP status of a tunnel dial (101 when accepted). */
function dialTunnel(asNode: string, pathNode: string, id: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${hub.ws}${tunnelPath(pathNode, id)}`, TUNNEL_SUBPROTOCOL, { headers: { authorization: `Bearer ${tokens.get(asNode)}` } });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('error', () => undefined);
  });
}

beforeAll(async () => {
  hub = await startHub();
  const ready = hub.proc.logs.find((line) => line.msg === 'ready')!;
  kubelet = new URL(ready.kubelet as string);
  for (const node of ['edge-a', 'edge-b', 'edge-c']) tokens.set(node, await hub.tokens.create(node));
  agents.push(startStreamAgent(hub.ws, 'edge-a', tokens.get('edge-a')!), startStreamAgent(hub.ws, 'edge-b', tokens.get('edge-b')!));
  // edge-c takes tunnel frames but never dials: the test holds its ids.
  agents.push(startStreamAgent(hub.ws, 'edge-c', tokens.get('edge-c')!, { dial: (id) => void recorded.push(id) }));
  await waitFor(() => agents.every((agent) => agent.link.connected), { what: 'three agents connected' });
  await pod('web-a', 'edge-a');
  await pod('web-b', 'edge-b');
  await pod('web-c', 'edge-c');
}, 120_000);

afterAll(async () => {
  for (const agent of agents) agent.stop();
  await hub?.stop();
});

describe('kubectl through the embedded API, the hub and a tunnel', () => {
  it('kubectl logs reads the Pod\'s node\'s kubelet API, with the kubelet path and the log options', async () => {
    await waitFor(async () => (await kubectl('logs', 'web-a', '--tail=5', '--timestamps')).includes('hello from edge-a'), { what: 'kubectl logs web-a' });
    const seen = agents[0]!.kubelet.requests.find((request) => request.url.startsWith('/containerLogs/default/web-a/app'))!;
    expect(new URL(seen.url, 'http://x').searchParams.get('tailLines')).toBe('5');
    expect(new URL(seen.url, 'http://x').searchParams.get('timestamps')).toBe('true');
    // The caller's credentials never reach the node.
    expect(seen.headers.authorization).toBeUndefined();
    expect(await kubectl('logs', 'web-b')).toContain('hello from edge-b');
  });

  it('kubectl logs -f shows a line the container writes after the stream started', async () => {
    const child = spawn(requireTool('kubectl'), ['--kubeconfig', hub.kubeconfig, 'logs', '-f', 'web-a'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await waitFor(() => out.includes('hello from edge-a'), { what: 'the first line' });
      await waitFor(() => agents[0]!.kubelet.writeLine('a new line') > 0, { what: 'a follower at the stand-in' });
      await waitFor(() => out.includes('a new line'), { what: 'the new line in kubectl logs -f' });
    } finally {
      child.kill();
    }
  });

  it('kubectl logs names what is wrong when the container is ambiguous or the node does not answer', async () => {
    await expect(kubectl('logs', 'web-a', '-c', 'nope')).rejects.toThrow(/container nope is not valid for pod web-a/);
    // The hub answers 504 after its dial timeout (edge-c never dials); kubectl words a 504 its own way.
    await expect(kubectl('logs', 'web-c')).rejects.toThrow(/Timeout|did not open a stream tunnel/);
  }, 60_000);
});

describe('the hub\'s kubelet endpoint', () => {
  it('is where edge Nodes say their kubelet listens (status.daemonEndpoints), as kube-apiserver looks it up', async () => {
    const port = await waitFor(async () => (await hub.client.get<{ status?: { daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } } }>('/api/v1/nodes/edge-a')).status?.daemonEndpoints?.kubeletEndpoint?.Port, { what: 'the daemon endpoint' });
    expect(port).toBe(Number(kubelet.port));
  });

  it('refuses a caller without a client certificate of the configured CA', async () => {
    expect((await kubeletGet('/containerLogs/default/web-a/app', {}, true)).status).toBe(401);
  });

  it('keeps a request for one node from another node\'s Pods, and checks the path\'s names', async () => {
    const forged = await kubeletGet('/containerLogs/default/web-b/app', { 'x-edge-sync-node': 'edge-a' });
    expect(forged.status).toBe(403);
    expect(forged.body).toContain('not bound to node edge-a');
    expect((await kubeletGet('/containerLogs/default/..%2F..%2Fetc/app')).status).toBe(400);
    expect((await kubeletGet('/nothing/here')).status).toBe(404);
    const ok = await kubeletGet('/containerLogs/default/web-b/app');
    expect(ok).toMatchObject({ status: 200, body: expect.stringContaining('hello from edge-b') });
  });

  it('passes an upgrade through as a two-way pipe', async () => {
    const socket = tls.connect({
      host: kubelet.hostname,
      port: Number(kubelet.port),
      ca: readFileSync(path.join(hub.data, 'hub-kubelet-ca.crt')),
      cert: readFileSync(path.join(hub.data, 'apiserver-kubelet-client.crt')),
      key: readFileSync(path.join(hub.data, 'apiserver-kubelet-client.key')),
    });
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.write('POST /exec/default/web-a/app?command=sh&stdin=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test-echo\r\n\r\n');
    await waitFor(() => received.includes('101 Switching Protocols'), { what: '101' });
    socket.write('ping through the tunnel');
    await waitFor(() => received.includes('ping through the tunnel'), { what: 'the echo' });
    socket.destroy();
  });
});

describe('tunnel dials', () => {
  it('a node cannot answer a tunnel asked of another node; the node asked can, once', async () => {
    // A request for web-c makes the hub send edge-c a tunnel frame, recorded by the test.
    const before = recorded.length;
    const pending = kubeletGet('/containerLogs/default/web-c/app').catch(() => undefined);
    const id = await waitFor(() => recorded[before], { what: 'the tunnel id asked of edge-c' });
    expect(await dialTunnel('edge-a', 'edge-c', id)).toBe(401); // edge-a's token is not edge-c's
    expect(await dialTunnel('edge-a', 'edge-a', id)).toBe(403); // the id was not asked of edge-a
    expect(await dialTunnel('edge-c', 'edge-c', 'A'.repeat(22))).toBe(403); // an id nobody asked for
    expect(await dialTunnel('edge-c', 'edge-c', id)).toBe(101);
    expect(await dialTunnel('edge-c', 'edge-c', id)).toBe(403); // already answered
    await pending;
  });
});
