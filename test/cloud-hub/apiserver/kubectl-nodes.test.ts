/**
 * kubectl commands whose typed clients send protobuf bodies or use the review APIs, with the
 * real kubectl against `cloud-hub apiserver`: drain (Eviction, and DeleteOptions with
 * --disable-eviction), debug node/X (a Pod), delete, auth can-i/whoami, and the answer for
 * subresources not served (logs, exec).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, run, startProcess, type RunningProcess } from '../../helpers/process.js';
import { requireTool } from '../../helpers/system-tools.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { KubeHttp, pod } from './kube-http.js';

const KUBECTL = requireTool('kubectl');
let dir: ReturnType<typeof makeTempDir>;
let apiserver: RunningProcess;
let http: KubeHttp;
let kubeconfig: string;

beforeAll(async () => {
  dir = makeTempDir('edge-kubectl-nodes-');
  apiserver = await startProcess(BIN.cloudHub, ['apiserver', '--data', dir.path, '--listen', '127.0.0.1:0']);
  kubeconfig = path.join(dir.path, 'kubeconfig');
  http = KubeHttp.fromKubeconfig(kubeconfig);
  for (const name of ['edge-a', 'edge-b']) expect((await http.post('/api/v1/nodes', { metadata: { name } })).status).toBe(201);
});

afterAll(async () => {
  http?.close();
  await apiserver?.stop();
  dir?.remove();
});

function kubectl(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir.path, 'kubectl-cache'), ...args], { timeoutMs: 30_000 });
}

async function podNames(node: string): Promise<string[]> {
  const list = (await http.get(`/api/v1/pods?fieldSelector=spec.nodeName%3D${node}`)).json;
  return list.items.map((item: { metadata: { name: string } }) => item.metadata.name).sort();
}

describe('kubectl with protobuf bodies', () => {
  it('drain --force evicts every pod (policy/v1 Eviction) and cordons the node', async () => {
    for (const name of ['drain-1', 'drain-2']) expect((await http.post('/api/v1/namespaces/default/pods', pod(name, { nodeName: 'edge-a' }))).status).toBe(201);
    const drained = await kubectl('drain', 'edge-a', '--force', '--ignore-daemonsets', '--grace-period=0', '--timeout=20s');
    expect(drained.stderr).not.toContain('415');
    expect(drained.code).toBe(0);
    expect(drained.stdout).toContain('pod/drain-1 evicted');
    expect(drained.stdout).toContain('node/edge-a drained');
    expect(await podNames('edge-a')).toEqual([]);
    expect((await http.get('/api/v1/nodes/edge-a')).json.spec.unschedulable).toBe(true);
  });

  it('drain --disable-eviction deletes with protobuf DeleteOptions', async () => {
    expect((await http.post('/api/v1/namespaces/default/pods', pod('plain-delete', { nodeName: 'edge-b' }))).status).toBe(201);
    const drained = await kubectl('drain', 'edge-b', '--force', '--disable-eviction', '--grace-period=0', '--timeout=20s');
    expect(drained.code).toBe(0);
    expect(drained.stdout).toContain('pod/plain-delete deleted');
    expect(await podNames('edge-b')).toEqual([]);
    expect((await kubectl('uncordon', 'edge-b')).stdout.trim()).toBe('node/edge-b uncordoned');
  });

  it('debug node/X creates the debugging pod (protobuf Pod) with the host mounted', async () => {
    const debug = await kubectl('debug', 'node/edge-b', '--image=busybox:1.36', '--profile=general');
    expect(debug.code).toBe(0);
    const name = /Creating debugging pod (\S+) with container/.exec(debug.stdout + debug.stderr)?.[1];
    expect(name).toMatch(/^node-debugger-edge-b-/);
    const created = (await http.get(`/api/v1/namespaces/default/pods/${name}`)).json;
    expect(created.spec.nodeName).toBe('edge-b');
    expect(created.spec.hostPID).toBe(true);
    expect(created.spec.containers[0].image).toBe('busybox:1.36');
    expect(created.spec.volumes).toContainEqual({ name: 'host-root', hostPath: { path: '/' } });
    expect(created.spec.containers[0].volumeMounts).toContainEqual({ name: 'host-root', mountPath: '/host' });
  });
});

describe('kubectl auth and subresources not served', () => {
  it('auth can-i and auth whoami', async () => {
    const can = await kubectl('auth', 'can-i', 'delete', 'pods', '-n', 'default');
    expect(can.stdout.trim()).toBe('yes');
    expect(can.code).toBe(0);
    const who = await kubectl('auth', 'whoami');
    expect(who.code).toBe(0);
    expect(who.stdout).toMatch(/Username\s+edge-sync:admin/);
    expect(who.stdout).toMatch(/Groups\s+\[system:masters system:authenticated\]/);
  });

  it('without a kubelet endpoint, logs and exec say the subresource is not served and how to get it, naming it', async () => {
    expect((await http.post('/api/v1/namespaces/default/pods', pod('quiet', { nodeName: 'edge-b' }))).status).toBe(201);
    const logs = await kubectl('logs', 'quiet');
    expect(logs.code).toBe(1);
    expect(logs.stderr.trim()).toBe('Error from server (MethodNotAllowed): pods/log is not supported: this embedded API has no kubelet endpoint to reach the node (start it with --kubelet-endpoint, as cloud-hub --embedded and npm start do)');
    const exec = await kubectl('exec', 'quiet', '--', 'true');
    expect(exec.code).toBe(1);
    expect(exec.stderr).toContain('pods/exec is not supported');
    const missing = await kubectl('logs', 'nope');
    expect(missing.stderr.trim()).toBe('error: error from server (NotFound): pods "nope" not found in namespace "default"');
  });
});
