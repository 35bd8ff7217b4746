/**
 * Flow control of stream tunnels, end to end through a real `cloud-hub --embedded --tls`
 * process (tunnels and sync over wss://, as deployed): a large log crosses the hub intact with
 * the tunnel's zero masking key (edge-agent/link/tunnel-dialer.ts); a reader that stops reading
 * holds the writer on the agent back (nothing between them queues without bound) and the node's
 * sync frames keep arriving meanwhile. The agent is the agent's own link and tunnel code
 * in-process with a kubelet stand-in behind the tunnel (test/helpers/stream-agent.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type HubHandle } from '../helpers/hub.js';
import { floodBytes, startStreamAgent, type StreamAgent } from '../helpers/stream-agent.js';
import { waitFor } from '../helpers/wait.js';

let hub: HubHandle;
let kubelet: URL;
let agent: StreamAgent;

/** Opens the `flood` log of web-a through the hub's kubelet endpoint. */
function openFlood(bytes: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: kubelet.hostname,
      port: Number(kubelet.port),
      path: `/containerLogs/default/web-a/flood?limitBytes=${bytes}`,
      ca: readFileSync(path.join(hub.data, 'hub-kubelet-ca.crt')),
      cert: readFileSync(path.join(hub.data, 'apiserver-kubelet-client.crt')),
      key: readFileSync(path.join(hub.data, 'apiserver-kubelet-client.key')),
    });
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  hub = await startHub({ args: ['--tls'] });
  expect(hub.ws).toMatch(/^wss:/);
  kubelet = new URL(hub.proc.logs.find((line) => line.msg === 'ready')!.kubelet as string);
  agent = startStreamAgent(hub.ws, 'edge-a', await hub.tokens.create('edge-a'), undefined, readFileSync(path.join(hub.data, 'hub-ca.crt')));
  await waitFor(() => agent.link.connected, { what: 'the agent connected over wss://' });
  await hub.client.create('/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-a', namespace: 'default' },
    spec: { nodeName: 'edge-a', containers: [{ name: 'flood', image: 'busybox' }] },
  });
}, 120_000);

afterAll(async () => {
  agent?.stop();
  await hub?.stop();
});

describe('stream tunnels over wss://', () => {
  it('carry a 24 MiB log through the hub byte for byte', async () => {
    const size = 24 * 1024 * 1024;
    const res = await openFlood(size);
    expect(res.statusCode).toBe(200);
    const hash = createHash('sha256');
    let length = 0;
    res.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    await new Promise((resolve, reject) => res.on('end', resolve).on('error', reject));
    expect(length).toBe(size);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(floodBytes(0, size)).digest('hex'));
  });

  it('hold the writer back while the reader does not read, and sync frames still reach the node', async () => {
    // `total` is far more than every buffer on the way can hold; `bound` is what they may: two
    // loopback TCP connections whose kernel buffers grow with traffic (measured here: about 10 MiB
    // in flight in all) plus the streams' high-water marks in the agent and the hub. Without
    // back-pressure in the hub's relay the writer runs to the end (`done`) and the hub holds it all.
    const total = 512 * 1024 * 1024;
    const bound = 64 * 1024 * 1024;
    const res = await openFlood(total);
    let read = 0;
    res.on('data', (chunk: Buffer) => {
      read += chunk.length;
      if (read >= 1024 * 1024) res.pause();
    });
    await waitFor(() => read >= 1024 * 1024 && agent.kubelet.flood?.waiting, { what: 'the reader paused and the writer waiting for drain' });

    // A sync frame for this node while its tunnel is full.
    await hub.client.create('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'probe', namespace: 'default' },
      spec: { nodeName: 'edge-a', containers: [{ name: 'c', image: 'busybox' }] },
    });
    await waitFor(() => agent.cache.get('Pod/default/probe'), { what: 'the Pod synced to the node while its tunnel is stalled' });

    // The writer stays held: once it has made no progress across polls while waiting for
    // 'drain' (at least 500 ms: a lower bound, a slower machine only waits longer), everything
    // it wrote and the reader did not take fits in the buffers on the way.
    let last = -1;
    let still = 0;
    await waitFor(
      () => {
        const flood = agent.kubelet.flood!;
        still = flood.waiting && flood.written === last ? still + 1 : 0;
        last = flood.written;
        return still >= 5 || flood.done;
      },
      { what: 'the writer held back', intervalMs: 100, timeoutMs: 60_000 },
    );
    const flood = agent.kubelet.flood!;
    expect(flood.done).toBe(false);
    expect(flood.written - read).toBeLessThan(bound);
    expect(read).toBeLessThan(2 * 1024 * 1024); // the paused reader took nothing more
    res.destroy();
  }, 90_000);
});
