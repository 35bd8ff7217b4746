/** The real kubectl (v1.32) against `cloud-hub apiserver`, through the kubeconfig it writes. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, run, startProcess, type RunningProcess } from '../../helpers/process.js';
import { requireTool } from '../../helpers/system-tools.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { KubeHttp, pod } from './kube-http.js';

const KUBECTL = requireTool('kubectl');
let dir: ReturnType<typeof makeTempDir>;
let apiserver: RunningProcess;
let http: KubeHttp;
let kubeconfig: string;

beforeAll(async () => {
  dir = makeTempDir('edge-kubectl-');
  apiserver = await startProcess(BIN.cloudHub, ['apiserver', '--data', dir.path, '--listen', '127.0.0.1:0']);
  kubeconfig = path.join(dir.path, 'kubeconfig');
  http = KubeHttp.fromKubeconfig(kubeconfig);
});

afterAll(async () => {
  http?.close();
  await apiserver?.stop();
  dir?.remove();
});

function kubectl(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir.path, 'kubectl-cache'), ...args], { timeoutMs: 20_000 });
}

function file(name: string, text: string): string {
  const target = path.join(dir.path, name);
  writeFileSync(target, text);
  return target;
}

/** Splits kubectl's table output into rows of cells (columns are separated by 2+ spaces). */
function table(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

const MULTI_DOC = `apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: demo
data:
  mode: edge
---
apiVersion: v1
kind: Secret
metadata:
  name: web-secret
  namespace: demo
stringData:
  api-key: s3cret
---
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: demo
  labels:
    app: web
spec:
  containers:
  - name: web
    image: registry.example/app:1.0
`;

describe('kubectl', () => {
  it('the ready line names the API URL and the kubeconfig', () => {
    const ready = apiserver.logs.find((line) => line.msg === 'ready')!;
    expect(ready.api).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.api).not.toBe('https://127.0.0.1:0');
    expect(ready.kubeconfig).toBe(kubeconfig);
    expect(apiserver.logs.filter((line) => line.msg === 'ready')).toHaveLength(1);
  });

  it('create -f of a multi-document YAML, then get -o json', async () => {
    const created = await kubectl('create', '-f', file('multi.yaml', MULTI_DOC));
    expect(created.stderr).toBe('');
    expect(created.stdout.trim().split('\n')).toEqual(['namespace/demo created', 'configmap/web-config created', 'secret/web-secret created', 'pod/web-0 created']);
    const got = await kubectl('get', 'pod', 'web-0', '-n', 'demo', '-o', 'json');
    expect(got.code).toBe(0);
    const obj = JSON.parse(got.stdout) as { kind: string; metadata: { labels: Record<string, string>; uid: string }; status: { phase: string } };
    expect(obj.kind).toBe('Pod');
    expect(obj.metadata.labels).toEqual({ app: 'web' });
    expect(obj.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(obj.status.phase).toBe('Pending');
    const secret = JSON.parse((await kubectl('get', 'secret', 'web-secret', '-n', 'demo', '-o', 'json')).stdout) as { data: Record<string, string> };
    expect(Buffer.from(secret.data['api-key']!, 'base64').toString()).toBe('s3cret');
    const list = JSON.parse((await kubectl('get', 'cm', '-n', 'demo', '-o', 'json')).stdout) as { items: { metadata: { name: string } }[] };
    expect(list.items.map((item) => item.metadata.name)).toEqual(['web-config']);
  });

  it('get pods -w sees a later change', async () => {
    const child = spawn(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir.path, 'kubectl-cache'), 'get', 'pods', '-n', 'demo', '-w'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await waitFor(() => /web-0\s+0\/1\s+Pending/.test(out), { what: 'the initial listing' });
      const current = (await http.get('/api/v1/namespaces/demo/pods/web-0')).json;
      const res = await http.put('/api/v1/namespaces/demo/pods/web-0/status', {
        ...current,
        status: { phase: 'Running', containerStatuses: [{ name: 'web', ready: true, restartCount: 0, image: 'registry.example/app:1.0', imageID: '', state: { running: { startedAt: current.metadata.creationTimestamp } } }] },
      });
      expect(res.status).toBe(200);
      await waitFor(() => /web-0\s+1\/1\s+Running/.test(out), { what: 'the Running line from kubectl get -w' });
      expect(out.trim().split('\n')[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    } finally {
      child.kill();
    }
  });

  it('replace -f, patch --type=merge, and the Conflict error for a stale replace', async () => {
    const current = (await http.get('/api/v1/namespaces/demo/configmaps/web-config')).json;
    const withVersion = `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: demo
  resourceVersion: "${current.metadata.resourceVersion}"
data:
  mode: cloud
`;
    const replaced = await kubectl('replace', '-f', file('replace.yaml', withVersion));
    expect(replaced.stdout.trim()).toBe('configmap/web-config replaced');
    const patched = await kubectl('patch', 'configmap', 'web-config', '-n', 'demo', '--type=merge', '-p', '{"data":{"extra":"1"}}');
    expect(patched.stdout.trim()).toBe('configmap/web-config patched');
    const data = JSON.parse((await kubectl('get', 'cm', 'web-config', '-n', 'demo', '-o', 'jsonpath={.data}')).stdout) as Record<string, string>;
    expect(data).toEqual({ mode: 'cloud', extra: '1' });
    const stale = await kubectl('replace', '-f', path.join(dir.path, 'replace.yaml'));
    expect(stale.code).not.toBe(0);
    expect(stale.stderr.trim()).toBe(
      `Error from server (Conflict): error when replacing "${path.join(dir.path, 'replace.yaml')}": Operation cannot be fulfilled on configmaps "web-config": the object has been modified; please apply your changes to the latest version and try again`,
    );
  });

  it('apply -f twice (client-side apply with a strategic merge patch)', async () => {
    const manifest = (image: string): string => `apiVersion: v1
kind: Pod
metadata:
  name: applied
  namespace: demo
spec:
  containers:
  - name: app
    image: ${image}
    env:
    - name: A
      value: "1"
`;
    expect((await kubectl('apply', '-f', file('apply.yaml', manifest('registry.example/app:1')))).stdout.trim()).toBe('pod/applied created');
    const second = await kubectl('apply', '-f', file('apply.yaml', manifest('registry.example/app:2')));
    expect(second.stderr).toBe('');
    expect(second.stdout.trim()).toBe('pod/applied configured');
    const got = (await http.get('/api/v1/namespaces/demo/pods/applied')).json;
    expect(got.spec.containers[0].image).toBe('registry.example/app:2');
    expect(got.spec.containers[0].env).toEqual([{ name: 'A', value: '1' }]);
  });

  it('generator commands (create namespace/configmap/secret) send protobuf, which is decoded', async () => {
    expect((await kubectl('create', 'namespace', 'generated')).stdout.trim()).toBe('namespace/generated created');
    expect((await kubectl('create', 'configmap', 'gen-cm', '-n', 'generated', '--from-literal=a=1', '--from-literal=b=2')).stdout.trim()).toBe('configmap/gen-cm created');
    expect((await kubectl('create', 'secret', 'generic', 'gen-secret', '-n', 'generated', '--from-literal=token=t0k3n')).stdout.trim()).toBe('secret/gen-secret created');
    expect((await http.get('/api/v1/namespaces/generated')).json.status.phase).toBe('Active');
    expect((await http.get('/api/v1/namespaces/generated/configmaps/gen-cm')).json.data).toEqual({ a: '1', b: '2' });
    const secret = (await http.get('/api/v1/namespaces/generated/secrets/gen-secret')).json;
    expect(secret.type).toBe('Opaque');
    expect(Buffer.from(secret.data.token, 'base64').toString()).toBe('t0k3n');
  });

  it('the NotFound error text, and delete', async () => {
    const missing = await kubectl('get', 'pod', 'nope', '-n', 'demo');
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('Error from server (NotFound): pods "nope" not found');
    const deleted = await kubectl('delete', 'configmap', 'web-config', '-n', 'demo');
    expect(deleted.stdout.trim()).toBe('configmap "web-config" deleted');
    expect((await http.get('/api/v1/namespaces/demo/configmaps/web-config')).status).toBe(404);
  });

  it('get pods -o wide and get nodes show status, restarts and readiness as kube prints them', async () => {
    const node = (name: string, ready: string, role: string) => ({
      metadata: { name, labels: { [`node-role.kubernetes.io/${role}`]: '' } },
      status: {
        conditions: [{ type: 'Ready', status: ready, reason: 'KubeletReady', lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' }],
        addresses: [{ type: 'InternalIP', address: '192.0.2.1' }],
        nodeInfo: { kubeletVersion: 'v1.32.0-edge', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0-18-amd64', containerRuntimeVersion: 'process://0.1.0', machineID: '', systemUUID: '', bootID: '', kubeProxyVersion: '', operatingSystem: 'linux', architecture: 'amd64' },
      },
    });
    expect((await http.post('/api/v1/nodes', node('edge-a', 'True', 'edge'))).status).toBe(201);
    expect((await http.post('/api/v1/nodes', node('edge-b', 'Unknown', 'edge'))).status).toBe(201);

    const statuses: Record<string, object> = {
      done: { phase: 'Succeeded', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, image: 'x', imageID: '', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
      crash: {
        phase: 'Running',
        podIP: '10.0.0.9',
        podIPs: [{ ip: '10.0.0.9' }],
        containerStatuses: [{ name: 'app', ready: false, restartCount: 3, image: 'x', imageID: '', state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off' } } }],
      },
    };
    for (const [name, status] of Object.entries(statuses)) {
      const created = (await http.post('/api/v1/namespaces/demo/pods', pod(name, { nodeName: 'edge-a' }))).json;
      expect((await http.put(`/api/v1/namespaces/demo/pods/${name}/status`, { ...created, status })).status).toBe(200);
    }

    const pods = table((await kubectl('get', 'pods', '-n', 'demo', '-o', 'wide')).stdout);
    expect(pods[0]).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
    const byName = new Map(pods.slice(1).map((row) => [row[0], row]));
    expect(byName.get('web-0')!.slice(1, 4)).toEqual(['1/1', 'Running', '0']);
    expect(byName.get('done')!.slice(1, 4)).toEqual(['0/1', 'Completed', '0']);
    const crash = byName.get('crash')!;
    expect(crash.slice(1, 4)).toEqual(['0/1', 'CrashLoopBackOff', '3']);
    expect(crash.slice(5)).toEqual(['10.0.0.9', 'edge-a', '<none>', '<none>']);

    const nodes = table((await kubectl('get', 'nodes')).stdout);
    expect(nodes[0]).toEqual(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);
    expect(nodes.slice(1).map((row) => [row[0], row[1], row[2], row[4]])).toEqual([
      ['edge-a', 'Ready', 'edge', 'v1.32.0-edge'],
      ['edge-b', 'NotReady', 'edge', 'v1.32.0-edge'],
    ]);
    const wide = table((await kubectl('get', 'nodes', '-o', 'wide')).stdout);
    expect(wide[0]).toEqual(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', 'INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME']);
    expect(wide[1]!.slice(5)).toEqual(['192.0.2.1', '<none>', 'Debian GNU/Linux 12 (bookworm)', '6.1.0-18-amd64', 'process://0.1.0']);

    // A bound pod deleted without --force is Terminating until the node confirms.
    const deleting = await kubectl('delete', 'pod', 'crash', '-n', 'demo', '--wait=false');
    expect(deleting.stdout.trim()).toBe('pod "crash" deleted');
    const after = table((await kubectl('get', 'pods', '-n', 'demo')).stdout);
    expect(after.find((row) => row[0] === 'crash')?.[2]).toBe('Terminating');
    const forced = await kubectl('delete', 'pod', 'crash', '-n', 'demo', '--grace-period=0', '--force');
    expect(forced.code).toBe(0);
    expect((await http.get('/api/v1/namespaces/demo/pods/crash')).status).toBe(404);
  });

  it('short names resolve through discovery (po, cm, no, ns, ev)', async () => {
    const names = await kubectl('get', 'po,cm,ns,no', '-n', 'demo', '-o', 'name');
    expect(names.code).toBe(0);
    const lines = names.stdout.trim().split('\n');
    for (const expected of ['pod/web-0', 'namespace/demo', 'node/edge-a']) expect(lines).toContain(expected);
    const events = await kubectl('get', 'ev', '-A');
    expect(events.code).toBe(0);
  });

  it('SIGTERM stops the server cleanly', async () => {
    const exit = await apiserver.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(apiserver.logs.some((line) => line.msg === 'stopped')).toBe(true);
  });
});
