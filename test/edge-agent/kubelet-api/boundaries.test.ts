/** What the agent's kubelet API refuses: other nodes' and unknown Pods, unknown containers, names that are not names, too many streams. */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait.js';
import { NODE, makePod, sh } from '../runtime/helpers.js';
import { KubeletHarness, channelExec, get } from './helpers.js';

let h: KubeletHarness;

beforeAll(async () => {
  h = await new KubeletHarness().start(2);
  await h.run(makePod({ name: 'web', containers: [sh('main', 'echo secret-of-web; exec sleep 60')] }), 'main');
  // In the cache but bound to another node (and not run here): never served.
  const other = makePod({ name: 'elsewhere', containers: [sh('main', 'exec sleep 60')] });
  (other.spec as { nodeName: string }).nodeName = 'other-node';
  h.pods.set('Pod/default/elsewhere', other);
});

afterAll(async () => {
  await h?.stop();
});

/** A raw request line, so that nothing on the way normalises the path. */
function raw(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(h.url);
    const socket = net.connect({ host: url.hostname, port: Number(url.port) }, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(text.split(' ')[1]), body: text.split('\r\n\r\n').slice(1).join('\r\n\r\n') }));
  });
}

describe('the kubelet API serves only this node\'s own Pods', () => {
  it('another node\'s Pod, an unknown Pod, an unknown container: 404 with the kubelet\'s message', async () => {
    expect(await get(`${h.url}/containerLogs/default/elsewhere/main`)).toEqual({ status: 404, body: 'pod "elsewhere" does not exist\n' });
    expect(await get(`${h.url}/containerLogs/default/nobody/main`)).toEqual({ status: 404, body: 'pod "nobody" does not exist\n' });
    expect(await get(`${h.url}/containerLogs/other-ns/web/main`)).toEqual({ status: 404, body: 'pod "web" does not exist\n' });
    expect(await get(`${h.url}/containerLogs/default/web/sidecar`)).toEqual({ status: 404, body: 'container "sidecar" not found in pod "web"\n' });
    await expect(channelExec(`${h.url}/exec/default/elsewhere/main?command=id&output=1`, 'v5.channel.k8s.io')).rejects.toThrow('404: pod "elsewhere" does not exist');
    await expect(channelExec(`${h.url}/exec/default/web/00000000-0000-0000-0000-000000000000/main?command=id&output=1`, 'v5.channel.k8s.io')).rejects.toThrow('404: pod "web" does not exist');
    const pods = JSON.parse((await get(`${h.url}/pods`)).body) as { items: Array<{ metadata: { name: string }; spec: { nodeName: string } }> };
    expect(pods.items.map((pod) => pod.metadata.name)).toEqual(['web']);
    expect(pods.items[0]!.spec.nodeName).toBe(NODE);
  });

  it('refuses path traversal and names that are not Kubernetes names before any lookup', async () => {
    for (const path of ['/containerLogs/default/web/..%2F..%2Fstate.json', '/containerLogs/default/..%2Fweb/main', '/containerLogs/..%2F..%2Fetc/web/main', '/containerLogs/default/web/main%00', '/exec/default/web/..%2Fmain?command=id']) {
      const answer = await raw(path);
      expect(answer.status, path).toBe(400);
      expect(answer.body, path).toMatch(/^invalid (namespace|pod name|container name) /);
      expect(answer.body).not.toContain('secret-of-web');
    }
    // Unencoded, the extra segments are simply not a route.
    expect((await raw('/containerLogs/default/web/../../state.json')).status).toBe(404);
    expect((await raw('/containerLogs/default/web/main%zz')).status).toBe(400);
  });

  it('caps concurrent streams per node: one more is 429, and the slot comes back when a stream ends', async () => {
    const followers = [new AbortController(), new AbortController()];
    const responses = await Promise.all(followers.map((controller) => fetch(`${h.url}/containerLogs/default/web/main?follow=true`, { signal: controller.signal })));
    expect(responses.map((res) => res.status)).toEqual([200, 200]);
    const refused = await get(`${h.url}/containerLogs/default/web/main`);
    expect(refused.status).toBe(429);
    expect(refused.body).toContain('too many streams open on node edge-test (limit 2)');
    for (const controller of followers) controller.abort();
    await waitFor(() => h.server.activeStreams === 0, { what: 'the streams released' });
    expect((await get(`${h.url}/containerLogs/default/web/main`)).status).toBe(200);
  });

  it('exec needs a command and an output; non-upgrade exec requests are refused', async () => {
    await expect(channelExec(`${h.url}/exec/default/web/main?output=1`, 'v5.channel.k8s.io')).rejects.toThrow('400: you must specify at least 1 command');
    await expect(channelExec(`${h.url}/exec/default/web/main?command=id`, 'v5.channel.k8s.io')).rejects.toThrow('400: you must specify at least 1 of stdin, stdout, stderr');
    await expect(channelExec(`${h.url}/exec/default/web/main?command=id&output=1`, 'base64.channel.k8s.io')).rejects.toThrow(/400: unable to upgrade connection: none of the offered subprotocols/);
    expect((await get(`${h.url}/exec/default/web/main?command=id&output=1`)).status).toBe(400);
    expect((await get(`${h.url}/nothing-here`)).status).toBe(404);
  });

  it('hostile SPDY bytes end that session only: an oversized frame, a header block that is not zlib, random bytes', async () => {
    const url = new URL(h.url);
    const garbage = [
      Buffer.from([0x80, 0x03, 0x00, 0x01, 0x00, 0xff, 0xff, 0xff]),
      Buffer.concat([Buffer.from([0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x14]), Buffer.alloc(4, 0), Buffer.from([0, 0, 0, 1]), Buffer.alloc(2), Buffer.from('not zlib at all!')]).subarray(0, 28),
      Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)),
    ];
    for (const bytes of garbage) {
      const closed = await new Promise<string>((resolve, reject) => {
        const socket = net.connect({ host: url.hostname, port: Number(url.port) }, () =>
          socket.write('POST /portForward/default/web HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n'),
        );
        let text = '';
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
          if (text.includes('\r\n\r\n') && !socket.destroyed) socket.write(bytes);
        });
        socket.on('error', reject);
        socket.on('close', () => resolve(text));
      });
      expect(closed.startsWith('HTTP/1.1 101 Switching Protocols')).toBe(true);
    }
    expect(await get(`${h.url}/healthz`)).toEqual({ status: 200, body: 'ok\n' });
    await waitFor(() => h.server.activeStreams === 0, { what: 'the sessions released' });
  });
});
