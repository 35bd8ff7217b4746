/**
 * The hub's informers (cloud-hub/source/kube-source.ts) against the embedded API: a paged
 * initial list handed to the handlers page by page, every object exactly once, and a relist
 * after 410 Gone that hands on only what changed (as client-node's informer tells adds and
 * updates from unchanged objects) and deletes what is gone.
 */
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedApiServer } from '../../cloud-hub/apiserver/server.js';
import { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import type { WatchEvent } from '../../cloud-hub/kube/watched-kinds.js';
import { KubeSource } from '../../cloud-hub/source/kube-source.js';
import { makeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { KubeHttp, pod } from './apiserver/kube-http.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const logger = pino({ level: 'silent' });

async function startApi(dataDir: string, port = 0): Promise<{ server: EmbeddedApiServer; http: KubeHttp; close(): Promise<void> }> {
  const server = new EmbeddedApiServer({ dataDir, host: '127.0.0.1', port, logger, historyWindow: 5 });
  await server.start();
  const http = KubeHttp.fromKubeconfig(server.kubeconfigPath);
  return {
    server,
    http,
    async close() {
      http.close();
      await server.close();
    },
  };
}

/** "upsert NAME" / "delete NAME" for each Pod event, in order. */
function recorder(source: KubeSource): string[] {
  const events: string[] = [];
  source.addEventHandler({
    apply(event: WatchEvent) {
      const name = (event.obj.metadata as { name?: string } | undefined)?.name;
      events.push(`${event.type} ${name}`);
    },
  });
  return events;
}

describe('KubeSource', () => {
  it('lists in pages, hands each object on once, and after 410 Gone relists handing on only what changed', async () => {
    const dir = makeTempDir('edge-source-');
    cleanups.push(() => dir.remove());
    let api = await startApi(dir.path);
    const port = api.server.port;
    let closed = false;
    cleanups.push(() => (closed ? undefined : api.close()));
    await api.http.post('/api/v1/namespaces', { metadata: { name: 'src' } });
    const names = ['p1', 'p2', 'p3', 'p4', 'p5'];
    for (const name of names) await api.http.post('/api/v1/namespaces/src/pods', pod(name, { nodeName: 'edge-1' }));

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(api.server.kubeconfigPath);
    const client = new KubeClient(kubeConfig);
    cleanups.push(() => client.close());
    // Two items per page: the five Pods come in three pages.
    const source = new KubeSource({ kubeConfig, client, logger, kinds: ['Pod'], pageSize: 2, restartDelayMs: 50 });
    const events = recorder(source);
    cleanups.push(() => source.stop());
    source.start();
    await source.whenSynced();
    expect(events.sort()).toEqual(names.map((name) => `upsert ${name}`));
    expect(source.count('Pod')).toBe(5);
    events.length = 0;

    // The API goes away; a second server on the same data makes more changes than its history
    // keeps (5), so the informer's resourceVersion is gone when the first port answers again.
    await api.close();
    closed = true;
    const offline = await startApi(dir.path);
    await offline.http.delete('/api/v1/namespaces/src/pods/p2?gracePeriodSeconds=0');
    await offline.http.patch('/api/v1/namespaces/src/pods/p3', { metadata: { labels: { changed: 'yes' } } });
    for (let i = 0; i < 8; i++) await offline.http.post('/api/v1/namespaces/src/configmaps', { metadata: { name: `noise-${i}` }, data: {} });
    await offline.http.post('/api/v1/namespaces/src/pods', pod('p6', { nodeName: 'edge-1' }));
    await offline.close();
    api = await startApi(dir.path, port);
    closed = false;

    await waitFor(() => events.includes('delete p2') && events.includes('upsert p6') && events.includes('upsert p3'), { timeoutMs: 20_000, what: 'the relist after 410 Gone' });
    // Unchanged p1, p4 and p5 are not handed on again; each change exactly once.
    expect(events.sort()).toEqual(['delete p2', 'upsert p3', 'upsert p6']);
    expect(source.count('Pod')).toBe(5);
  });
});
