/** `cloud-hub apiserver` as a process: state survives kill -9, the CLI reads flags and env vars. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, run, startProcess, type RunningProcess } from '../../helpers/process.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { KubeHttp, configMap, pod, type Json } from './kube-http.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function snapshot(http: KubeHttp): Promise<Record<string, Json[]>> {
  const paths = ['/api/v1/namespaces', '/api/v1/pods', '/api/v1/configmaps', '/api/v1/secrets', '/api/v1/nodes', '/api/v1/events', '/apis/coordination.k8s.io/v1/leases'];
  const out: Record<string, Json[]> = {};
  for (const p of paths) {
    const res = await http.get(p);
    expect(res.status).toBe(200);
    out[p] = res.json.items;
  }
  return out;
}

describe('persistence', () => {
  it('every object and the resourceVersion counter survive kill -9; the PKI and token are reused', async () => {
    const dir = makeTempDir('edge-persist-');
    cleanups.push(() => dir.remove());
    let apiserver: RunningProcess = await startProcess(BIN.cloudHub, ['apiserver', '--data', dir.path, '--listen', '127.0.0.1:0']);
    cleanups.push(() => apiserver.stop());
    let http = KubeHttp.fromKubeconfig(path.join(dir.path, 'kubeconfig'));
    const caBefore = readFileSync(path.join(dir.path, 'apiserver-ca.crt'), 'utf8');

    await http.post('/api/v1/namespaces', { metadata: { name: 'keep' } });
    for (let i = 0; i < 20; i++) await http.post('/api/v1/namespaces/keep/configmaps', configMap(`cm-${i}`, { i: String(i) }));
    await http.post('/api/v1/namespaces/keep/secrets', { metadata: { name: 's' }, stringData: { k: 'v' } });
    await http.post('/api/v1/namespaces/keep/pods', pod('bound', { nodeName: 'edge-1' }));
    await http.delete('/api/v1/namespaces/keep/pods/bound');
    await http.post('/api/v1/nodes', { metadata: { name: 'edge-1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    await http.post('/api/v1/namespaces/keep/events', { metadata: { name: 'e1' }, involvedObject: { kind: 'Pod', name: 'bound', namespace: 'keep' }, reason: 'Started', message: 'hi', type: 'Normal' });
    await http.put('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/edge-1', { metadata: { name: 'edge-1' }, spec: { holderIdentity: 'edge-1' } });
    await http.delete('/api/v1/namespaces/keep/configmaps/cm-3');
    const last = await http.patch('/api/v1/namespaces/keep/configmaps/cm-4', { data: { i: 'patched' } });
    expect(last.status).toBe(200);
    const before = await snapshot(http);
    const rvBefore = (await http.get('/api/v1/namespaces/keep/configmaps')).json.metadata.resourceVersion as string;
    expect(rvBefore).toBe(last.json.metadata.resourceVersion);

    // The last write was answered; kill at once.
    await apiserver.kill();
    http.close();
    apiserver = await startProcess(BIN.cloudHub, ['apiserver', '--data', dir.path, '--listen', '127.0.0.1:0']);
    http = KubeHttp.fromKubeconfig(path.join(dir.path, 'kubeconfig'));
    cleanups.push(() => http.close());

    expect(await snapshot(http)).toEqual(before);
    expect((await http.get('/api/v1/namespaces/keep/pods/bound')).json.metadata.deletionTimestamp).toBeTruthy();
    expect((await http.get('/api/v1/namespaces/keep/configmaps')).json.metadata.resourceVersion).toBe(rvBefore);
    const next = await http.post('/api/v1/namespaces/keep/configmaps', configMap('after'));
    expect(Number(next.json.metadata.resourceVersion)).toBe(Number(rvBefore) + 1);
    // A watch from before the crash resumes from the persisted history.
    const watch = await http.watch(`/api/v1/namespaces/keep/configmaps?resourceVersion=${Number(rvBefore) - 1}`);
    const events = await watch.waitForCount(2);
    expect(events.map((event) => `${event.type} ${event.object.metadata.name}`)).toEqual(['MODIFIED cm-4', 'ADDED after']);
    watch.close();
    expect(readFileSync(path.join(dir.path, 'apiserver-ca.crt'), 'utf8')).toBe(caBefore);
  });
});

describe('cloud-hub apiserver command line', () => {
  it('--help names every flag and its environment variable', async () => {
    const help = await run(process.execPath, [BIN.cloudHub, 'apiserver', '--help']);
    expect(help.code).toBe(0);
    for (const text of ['--data <dir>', 'EDGE_DATA', '--listen <host:port>', 'EDGE_API_LISTEN', '127.0.0.1:6443', '--history <n>', 'EDGE_API_HISTORY', '--log-level <level>', 'LOG_LEVEL']) {
      expect(help.stdout).toContain(text);
    }
  });

  it('refuses to start without a data dir', async () => {
    const res = await run(process.execPath, [BIN.cloudHub, 'apiserver'], { env: { EDGE_DATA: undefined } });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("required option '--data <dir>' not specified");
  });

  it('reads every setting from the environment', async () => {
    const dir = makeTempDir('edge-env-');
    cleanups.push(() => dir.remove());
    const apiserver = await startProcess(BIN.cloudHub, ['apiserver'], { env: { EDGE_DATA: dir.path, EDGE_API_LISTEN: '127.0.0.1:0', EDGE_API_HISTORY: '3', LOG_LEVEL: 'info' } });
    cleanups.push(() => apiserver.stop());
    const ready = apiserver.logs.find((line) => line.msg === 'ready')!;
    expect(ready.kubeconfig).toBe(path.join(dir.path, 'kubeconfig'));
    expect(ready.api).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const http = KubeHttp.fromKubeconfig(path.join(dir.path, 'kubeconfig'));
    cleanups.push(() => http.close());
    const rv = (await http.get('/api/v1/namespaces/default/configmaps')).json.metadata.resourceVersion as string;
    for (let i = 0; i < 5; i++) await http.post('/api/v1/namespaces/default/configmaps', configMap(`h-${i}`));
    const watch = await http.watch(`/api/v1/namespaces/default/configmaps?resourceVersion=${rv}`);
    await watch.waitForEnd();
    expect(watch.events[0]?.object.code).toBe(410);
    // LOG_LEVEL=info: no debug request lines.
    expect(apiserver.logs.some((line) => line.msg === 'request')).toBe(false);
  });
});
