/**
 * The hub's per-node stream tunnel limits, flooded through its real kubelet endpoint: one
 * node's requests beyond `--tunnel-max-pending` (tunnels asked and not yet dialled) and
 * `--tunnel-max-open` (open tunnels) get 429 while another node is served as before; a slot
 * comes back when a tunnel is dialled or closed; an open tunnel with no bytes either way for
 * `--tunnel-idle-timeout` is closed by the hub and frees its slot; a tunnel whose agent stops
 * answering pings is dropped after two ping intervals (the hub's --heartbeat-interval).
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { TUNNEL_SUBPROTOCOL, tunnelPath } from '../../../protocol/index.js';
import { startHub, type HubHandle } from '../../helpers/hub.js';
import { startStreamAgent, type StreamAgent } from '../../helpers/stream-agent.js';
import { waitFor } from '../../helpers/wait.js';

const IDLE_MS = 3_000;
let hub: HubHandle;
let kubelet: URL;
const agents: StreamAgent[] = [];
const tokens = new Map<string, string>();
/** Tunnel ids asked of edge-c and edge-d, which record them instead of dialling. */
const recorded: string[] = [];
const recordedD: string[] = [];
const held: ClientRequest[] = [];
const dialled: WebSocket[] = [];

interface Answer {
  status: number;
  res: IncomingMessage;
  req: ClientRequest;
  /** Everything read until now. */
  body(): string;
  /** Resolves when the response is over (ended or cut). */
  closed: Promise<void>;
}

/** A request to the hub's kubelet endpoint as kube-apiserver makes it; resolves at the response head. */
function kubeletRequest(pathAndQuery: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: kubelet.hostname,
        port: Number(kubelet.port),
        path: pathAndQuery,
        // A connection of its own per request, as kube-apiserver's streams have: held streams never block the next request.
        agent: false,
        ca: readFileSync(path.join(hub.data, 'hub-kubelet-ca.crt')),
        cert: readFileSync(path.join(hub.data, 'apiserver-kubelet-client.crt')),
        key: readFileSync(path.join(hub.data, 'apiserver-kubelet-client.key')),
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('error', () => undefined);
        // Listened for here: a short answer's 'close' comes before an awaiting caller runs.
        const closed = new Promise<void>((done) => res.once('close', done));
        resolve({ status: res.statusCode ?? 0, res, req, body: () => body, closed });
      },
    );
    req.on('error', reject);
    req.end();
    held.push(req);
  });
}

/** The whole answer of a request that ends. */
async function kubeletGet(pathAndQuery: string): Promise<{ status: number; body: string }> {
  const answer = await kubeletRequest(pathAndQuery);
  await answer.closed;
  return { status: answer.status, body: answer.body() };
}

/** Dials tunnel `id` as `node` (edge-c unless named) and keeps it open; resolves with the HTTP status (101 when accepted). */
function dialAsEdgeC(id: string, node = 'edge-c', options: { autoPong?: boolean } = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${hub.ws}${tunnelPath(node, id)}`, TUNNEL_SUBPROTOCOL, { headers: { authorization: `Bearer ${tokens.get(node)}` }, ...options });
    dialled.push(ws);
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => resolve(101));
    ws.on('error', () => undefined);
  });
}

beforeAll(async () => {
  hub = await startHub({ args: ['--tunnel-max-pending', '2', '--tunnel-max-open', '2', '--tunnel-idle-timeout', String(IDLE_MS)] });
  kubelet = new URL(hub.proc.logs.find((line) => line.msg === 'ready')!.kubelet as string);
  for (const node of ['edge-a', 'edge-c', 'edge-d']) tokens.set(node, await hub.tokens.create(node));
  agents.push(startStreamAgent(hub.ws, 'edge-a', tokens.get('edge-a')!));
  agents.push(startStreamAgent(hub.ws, 'edge-c', tokens.get('edge-c')!, { dial: (id) => void recorded.push(id) }));
  agents.push(startStreamAgent(hub.ws, 'edge-d', tokens.get('edge-d')!, { dial: (id) => void recordedD.push(id) }));
  await waitFor(() => agents.every((agent) => agent.link.connected), { what: 'three agents connected' });
  for (const [name, node] of [['web-a', 'edge-a'], ['web-c', 'edge-c'], ['web-d', 'edge-d']] as const) {
    await hub.client.create('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: { nodeName: node, containers: [{ name: 'app', image: 'busybox' }] },
    });
  }
  // The kubelet endpoint learns Pod placement from the hub's watch.
  await waitFor(async () => (await kubeletGet('/containerLogs/default/web-a/app')).status === 200, { what: 'web-a served through the hub' });
}, 120_000);

afterAll(async () => {
  for (const req of held) req.destroy();
  for (const ws of dialled) ws.terminate();
  for (const agent of agents) agent.stop();
  await hub?.stop();
});

describe('per-node stream tunnel limits', () => {
  it('answers 429 past --tunnel-max-pending for that node only, and frees a slot once a tunnel is dialled', async () => {
    const first = kubeletRequest('/containerLogs/default/web-c/app');
    const second = kubeletRequest('/containerLogs/default/web-c/app');
    await waitFor(() => recorded.length >= 2, { what: 'two tunnels asked of edge-c' });
    const third = await kubeletGet('/containerLogs/default/web-c/app');
    expect(third.status).toBe(429);
    expect(third.body).toContain('streams waiting to be opened');
    // Another node is not held back by edge-c's flood.
    expect(await kubeletGet('/containerLogs/default/web-a/app')).toMatchObject({ status: 200, body: expect.stringContaining('hello from edge-a') });

    // edge-c dials one of its tunnels: one pending slot is free again (the tunnel is now open).
    expect(await dialAsEdgeC(recorded[0]!)).toBe(101);
    const before = recorded.length;
    void kubeletRequest('/containerLogs/default/web-c/app').catch(() => undefined);
    await waitFor(() => recorded.length > before, { what: 'a new tunnel asked of edge-c after a slot freed' });
    void first.catch(() => undefined);
    void second.catch(() => undefined);
  }, 60_000);

  it('answers 429 past --tunnel-max-open, and serves again once a stream closes', async () => {
    const streams = [await kubeletRequest('/containerLogs/default/web-a/app?follow=true'), await kubeletRequest('/containerLogs/default/web-a/app?follow=true')];
    expect(streams.map((answer) => answer.status)).toEqual([200, 200]);
    const over = await kubeletGet('/containerLogs/default/web-a/app');
    expect(over.status).toBe(429);
    expect(over.body).toContain('open streams');

    streams[0]!.req.destroy();
    await waitFor(async () => (await kubeletGet('/containerLogs/default/web-a/app')).status === 200, { what: 'a stream served after one closed' });
    streams[1]!.req.destroy();
  }, 60_000);

  it('closes a tunnel idle for --tunnel-idle-timeout, and its slot is free again', async () => {
    // Let the previous case's closed streams leave the hub's count.
    await waitFor(async () => (await kubeletGet('/containerLogs/default/web-a/app')).status === 200, { what: 'edge-a served' });
    const started = Date.now();
    const follower = await kubeletRequest('/containerLogs/default/web-a/app?follow=true');
    expect(follower.status).toBe(200);
    await waitFor(() => follower.body().includes('hello from edge-a'), { what: 'the first line' });
    let closed = false;
    void follower.closed.then(() => (closed = true));
    await waitFor(() => closed, { what: 'the idle follower closed by the hub', timeoutMs: 30_000 });
    // A lower bound only: the hub may close later on a loaded machine, never before the timeout.
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS);
    // An active follower is not idle: lines keep it open past the timeout.
    const active = await kubeletRequest('/containerLogs/default/web-a/app?follow=true');
    let activeClosed = false;
    void active.closed.then(() => (activeClosed = true));
    const until = Date.now() + 2 * IDLE_MS;
    let lines = 0;
    await waitFor(
      () => {
        agents[0]!.kubelet.writeLine(`tick ${lines++}`);
        return Date.now() >= until || activeClosed;
      },
      { what: 'two idle timeouts of writing lines', intervalMs: 250 },
    );
    expect(activeClosed).toBe(false);
    expect(active.body()).toContain('tick 0');
    active.req.destroy();
  }, 60_000);

  it('drops a tunnel whose agent stops answering pings, and keeps one that answers', async () => {
    const answering = kubeletRequest('/containerLogs/default/web-d/app').catch(() => undefined);
    const silent = kubeletRequest('/containerLogs/default/web-d/app').catch(() => undefined);
    await waitFor(() => recordedD.length >= 2, { what: 'two tunnels asked of edge-d' });
    expect(await dialAsEdgeC(recordedD[0]!, 'edge-d')).toBe(101);
    const opened = Date.now();
    // ws answers pings by itself unless told not to: this one plays an agent that vanished.
    expect(await dialAsEdgeC(recordedD[1]!, 'edge-d', { autoPong: false })).toBe(101);
    const [kept, dropped] = dialled.slice(-2) as [WebSocket, WebSocket];
    // Both keep sending (a ping from the agent is activity), so the idle timeout closes neither.
    const talk = setInterval(() => {
      for (const ws of [kept, dropped]) if (ws.readyState === WebSocket.OPEN) ws.ping();
    }, 250);
    onTestFinished(() => clearInterval(talk));
    let droppedAt = 0;
    dropped.once('close', () => (droppedAt = Date.now()));
    await waitFor(() => droppedAt > 0, { what: 'the silent tunnel dropped by the hub' });
    // Two unanswered pings at --heartbeat-interval 1000: never sooner than one interval after the dial.
    expect(droppedAt - opened).toBeGreaterThanOrEqual(1_000);
    // Past the idle timeout too: the dropped one went for its pings, not for being idle.
    await waitFor(() => Date.now() - opened > IDLE_MS + 1_000, { what: 'the idle timeout passed', intervalMs: 100 });
    expect(kept.readyState).toBe(WebSocket.OPEN);
    // Its slot is free: edge-d has 2 open tunnels at most, and a new request is asked of it.
    const before = recordedD.length;
    void kubeletRequest('/containerLogs/default/web-d/app').catch(() => undefined);
    await waitFor(() => recordedD.length > before, { what: 'a new tunnel asked of edge-d' });
    void answering;
    void silent;
  }, 60_000);
});
