/**
 * client-node 1.4.0 informers (what the hub runs) against the embedded API: ordered events
 * with a field selector, recovery after kill -9 and restart on the same port and data dir
 * (resuming from the persisted history, no relist), and a relist after 410 Gone.
 */
import { CoreV1Api, KubeConfig, ListWatch, Watch, type V1Pod } from '@kubernetes/client-node';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BIN, startProcess, type RunningProcess } from '../../helpers/process.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { KubeHttp, pod, restartOnError, startInProcess } from './kube-http.js';

interface Recorder {
  informer: ListWatch<V1Pod>;
  events: string[];
  listCalls: () => number;
  restarts: ReturnType<typeof restartOnError>;
}

/** A pod informer over one namespace narrowed to one node, recording "add/update/delete NAME". */
function podInformer(kubeconfigFile: string, namespace: string, nodeName: string): Recorder {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigFile);
  const core = kc.makeApiClient(CoreV1Api);
  const fieldSelector = `spec.nodeName=${nodeName}`;
  let lists = 0;
  const informer = new ListWatch<V1Pod>(
    `/api/v1/namespaces/${namespace}/pods`,
    new Watch(kc),
    () => {
      lists++;
      return core.listNamespacedPod({ namespace, fieldSelector });
    },
    false,
    undefined,
    fieldSelector,
  );
  const events: string[] = [];
  informer.on('add', (obj) => events.push(`add ${obj.metadata?.name}`));
  informer.on('update', (obj) => events.push(`update ${obj.metadata?.name}`));
  informer.on('delete', (obj) => events.push(`delete ${obj.metadata?.name}`));
  const restarts = restartOnError(informer);
  return { informer, events, listCalls: () => lists, restarts };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});
afterAll(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('client-node informer', () => {
  it('receives adds, updates and deletes in order, only for its field selector; survives kill -9 and a restart on the same port', async () => {
    const dir = makeTempDir('edge-informer-');
    cleanups.push(() => dir.remove());
    let apiserver: RunningProcess = await startProcess(BIN.cloudHub, ['apiserver', '--data', dir.path, '--listen', '127.0.0.1:0']);
    cleanups.push(() => apiserver.stop().then(() => undefined));
    const port = new URL(String(apiserver.logs.find((line) => line.msg === 'ready')!.api)).port;
    const kubeconfig = path.join(dir.path, 'kubeconfig');
    let http = KubeHttp.fromKubeconfig(kubeconfig);
    cleanups.push(() => http.close());
    await http.post('/api/v1/namespaces', { metadata: { name: 'inf' } });
    await http.post('/api/v1/namespaces/inf/pods', pod('before', { nodeName: 'edge-1' }));

    const rec = podInformer(kubeconfig, 'inf', 'edge-1');
    cleanups.push(() => {
      rec.restarts.paused = true;
      return rec.informer.stop();
    });
    await rec.informer.start();
    await waitFor(() => rec.events.includes('add before'), { what: 'the initial list' });

    await http.post('/api/v1/namespaces/inf/pods', pod('other-node', { nodeName: 'edge-2' }));
    await http.post('/api/v1/namespaces/inf/pods', pod('p1', { nodeName: 'edge-1' }));
    await http.patch('/api/v1/namespaces/inf/pods/p1', { metadata: { labels: { v: '2' } } });
    await http.delete('/api/v1/namespaces/inf/pods/p1?gracePeriodSeconds=0');
    await waitFor(() => rec.events.length >= 4, { what: 'four informer events' });
    expect(rec.events).toEqual(['add before', 'add p1', 'update p1', 'delete p1']);

    // kill -9, then the same data dir on the same port.
    await apiserver.kill();
    await waitFor(() => rec.restarts.errors.length > 0, { what: 'the informer to notice the dead server' });
    http.close();
    apiserver = await startProcess(BIN.cloudHub, ['apiserver', '--data', dir.path, '--listen', `127.0.0.1:${port}`]);
    http = KubeHttp.fromKubeconfig(kubeconfig);
    await http.post('/api/v1/namespaces/inf/pods', pod('p2', { nodeName: 'edge-1' }));
    await http.patch('/api/v1/namespaces/inf/pods/before', { metadata: { labels: { after: 'restart' } } });
    await waitFor(() => rec.events.includes('update before'), { timeoutMs: 15_000, what: 'events after the restart' });
    expect(rec.events.slice(4)).toEqual(['add p2', 'update before']);
    // It resumed the watch from its last resourceVersion (the history survived): no relist.
    expect(rec.listCalls()).toBe(1);
    expect(rec.informer.list('inf').map((p) => p.metadata?.name).sort()).toEqual(['before', 'p2']);
  });

  it('relists after 410 Gone when its resourceVersion fell out of the history window', async () => {
    const api = await startInProcess({ historyWindow: 5 });
    cleanups.push(() => api.stop());
    const { http } = api;
    await http.post('/api/v1/namespaces', { metadata: { name: 'gone' } });
    await http.post('/api/v1/namespaces/gone/pods', pod('keep', { nodeName: 'edge-1' }));
    await http.post('/api/v1/namespaces/gone/pods', pod('drop', { nodeName: 'edge-1' }));

    const rec = podInformer(api.server.kubeconfigPath, 'gone', 'edge-1');
    cleanups.push(() => {
      rec.restarts.paused = true;
      return rec.informer.stop();
    });
    await rec.informer.start();
    await waitFor(() => rec.events.length >= 2, { what: 'the initial list' });
    const staleRv = Number(rec.informer.latestResourceVersion());

    // Stop it, and make more changes than the history keeps.
    rec.restarts.paused = true;
    await rec.informer.stop();
    await http.delete('/api/v1/namespaces/gone/pods/drop?gracePeriodSeconds=0');
    for (let i = 0; i < 8; i++) await http.post('/api/v1/namespaces/gone/configmaps', { metadata: { name: `noise-${i}` }, data: {} });
    await http.post('/api/v1/namespaces/gone/pods', pod('new', { nodeName: 'edge-1' }));
    const expired = await http.watch(`/api/v1/namespaces/gone/pods?resourceVersion=${staleRv}`);
    await expired.waitForEnd();
    expect(expired.events[0]).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } });

    rec.restarts.paused = false;
    await rec.informer.start();
    await waitFor(() => rec.listCalls() === 2 && rec.events.includes('add new') && rec.events.includes('delete drop'), { what: 'the relist after 410' });
    expect(rec.informer.list('gone').map((p) => p.metadata?.name).sort()).toEqual(['keep', 'new']);
    expect(Number(rec.informer.latestResourceVersion())).toBeGreaterThan(staleRv);
  });
});
