/**
 * `cloud-hub --embedded` stops on SIGTERM while clients hold connections open: a watch on its
 * API (besides the hub's own informers' watches), a keep-alive client, and a node in sync over
 * WebSocket. It used to wait for the watches forever.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startHub, type HubHandle } from '../helpers/hub.js';
import { TestNode } from '../helpers/protocol-client.js';
import { waitFor } from '../helpers/wait.js';
import { KubeHttp, type WatchReader } from './apiserver/kube-http.js';

let hub: HubHandle | undefined;
let http: KubeHttp | undefined;
let watch: WatchReader | undefined;
let node: TestNode | undefined;
afterAll(async () => {
  watch?.close();
  node?.close();
  http?.close();
  await hub?.stop();
});

describe('cloud-hub --embedded on SIGTERM', () => {
  it('exits by itself with code 0 while a watch, a keep-alive client and a node are connected', async () => {
    hub = await startHub();
    http = KubeHttp.fromKubeconfig(hub.kubeconfig);
    watch = await http.watch('/api/v1/pods');
    expect(watch.status).toBe(200);
    // A keep-alive connection that has just been used stays open in the client's agent.
    expect((await http.get('/api/v1/namespaces')).status).toBe(200);
    const token = await hub.tokens.create('edge-1');
    node = await TestNode.connect(hub.ws, 'edge-1', { token });
    node.hello();
    await node.waitForFrame((frame) => frame.t === 'synced', 30_000, 'synced');
    expect(watch.ended).toBe(false);

    // SIGKILL after 60 s is a hang guard, not a timing window: a hub that stops by itself exits 0.
    const exit = await hub.proc.stop('SIGTERM', 60_000);
    expect(exit, hub.proc.tail()).toEqual({ code: 0, signal: null });
    expect(hub.proc.logs.some((line) => line.msg === 'stopped')).toBe(true);
    await watch.waitForEnd();
    await waitFor(() => node!.closeCode !== undefined, { what: 'the node to see its connection closed' });
  });
});
