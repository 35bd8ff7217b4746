/** The real kubectl (1.32, /usr/bin/kubectl) against the local API with --server, as an operator on the device would use it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import { run } from '../../helpers/process.js';
import { requireTool } from '../../helpers/system-tools.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { collectNodeInfo, localNodeStatus } from '../../../edge-agent/node-info.js';
import type { NodeStatusLookup } from '../../../edge-agent/local-api/presenter.js';
import { configMap, LocalApiFixture, node, pod, secret } from './helpers.js';

const KUBECTL = requireTool(process.env.KUBECTL ?? 'kubectl', 'kubectl');

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: { serveSecrets?: boolean; nodeStatus?: NodeStatusLookup } = {}): Promise<{ f: LocalApiFixture; kubectlArgs: (args: string[]) => string[] }> {
  const f = new LocalApiFixture();
  cleanups.push(() => f.close());
  const cacheDir = makeTempDir('edge-kubectl-');
  cleanups.push(() => cacheDir.remove());
  f.put(
    pod('web-0', { status: { phase: 'Running', containerStatuses: [{ name: 'main', ready: true, restartCount: 1, state: { running: {} } }] } }),
    pod('web-1'),
    configMap('app-config', { 'mode.conf': 'edge', level: 'debug' }),
    secret('token', { password: 's3cret' }),
    node('edge-1', { 'node-role.kubernetes.io/edge': '' }),
  );
  await f.startServer({ serveSecrets: options.serveSecrets ?? false, ...(options.nodeStatus ? { nodeStatus: options.nodeStatus } : {}) });
  // No kubeconfig and a private discovery cache: only --server decides where kubectl goes.
  return { f, kubectlArgs: (args) => ['--kubeconfig=/dev/null', `--server=${f.url}`, `--cache-dir=${cacheDir.path}`, ...args] };
}

describe('local API: kubectl', () => {
  it('kubectl get pods prints the cached pods with their status', async () => {
    const { kubectlArgs } = await setup();
    const result = await run(KUBECTL, kubectlArgs(['get', 'pods']));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]?.split(/\s+/)).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^web-0\s+1\/1\s+Running\s+1\s+\S+$/);
    // No status cached and none from a runtime: kube's printer leaves STATUS empty, and so does this one.
    expect(lines[2]).toMatch(/^web-1\s+0\/1\s+0\s+\S+$/);

    const wide = await run(KUBECTL, kubectlArgs(['get', 'po', '-A', '-o', 'wide']));
    expect(wide.code).toBe(0);
    expect(wide.stdout).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/);
    expect(wide.stdout).toMatch(/default\s+web-1\s+0\/1\s+0\s+\S+\s+<none>\s+edge-1/);

    const nodes = await run(KUBECTL, kubectlArgs(['get', 'nodes']));
    expect(nodes.stdout).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\nedge-1\s+Unknown\s+edge\s/);
  });

  it('kubectl get configmap NAME -o json prints the object with its local resourceVersion', async () => {
    const { f, kubectlArgs } = await setup();
    const result = await run(KUBECTL, kubectlArgs(['get', 'configmap', 'app-config', '-o', 'json']));
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as JsonObject;
    const served = (await f.request('/api/v1/namespaces/default/configmaps/app-config')).body;
    expect(printed).toEqual(served);
    expect(printed).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1', data: { 'mode.conf': 'edge', level: 'debug' } });
    expect((printed.metadata as JsonObject).resourceVersion).not.toBe('777002');

    const table = await run(KUBECTL, kubectlArgs(['get', 'cm']));
    expect(table.stdout).toMatch(/^NAME\s+DATA\s+AGE\napp-config\s+2\s/);

    const missing = await run(KUBECTL, kubectlArgs(['get', 'configmap', 'nope', '-o', 'json']));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Error from server (NotFound): configmaps "nope" not found');
  });

  it('kubectl get pods -w prints a change made after it started', async () => {
    const { f, kubectlArgs } = await setup();
    const child: ChildProcess = spawn(KUBECTL, kubectlArgs(['get', 'pods', '-w', '--output-watch-events']), { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => {
      child.kill();
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => /ADDED\s+web-1/.test(stdout), { what: `kubectl's initial output (have ${JSON.stringify(stdout + stderr)})` });
    // kubectl lists, then watches from the list's resourceVersion; wait for that watch to be open.
    await waitFor(() => f.server.watchCount === 1, { what: "kubectl's watch" });

    f.put(pod('web-2'));
    await waitFor(() => /ADDED\s+web-2\s/.test(stdout), { what: `web-2 in kubectl's output (have ${JSON.stringify(stdout + stderr)})` });
    f.del('Pod/default/web-0');
    await waitFor(() => /DELETED\s+web-0\s/.test(stdout), { what: `the deletion in kubectl's output (have ${JSON.stringify(stdout + stderr)})` });
    const events = stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/).slice(0, 2).join(' '));
    expect(events).toEqual(['EVENT NAME', 'ADDED web-0', 'ADDED web-1', 'ADDED web-2', 'DELETED web-0']);
    expect(stderr).toBe('');
  });

  it('kubectl is told why Secrets are refused and that the API is read-only', async () => {
    const { kubectlArgs } = await setup();
    const secrets = await run(KUBECTL, kubectlArgs(['get', 'secrets']));
    expect(secrets.code).toBe(1);
    expect(secrets.stderr).toContain('Error from server (Forbidden)');
    expect(secrets.stderr).toContain('--local-api-secrets');
    expect(secrets.stdout).not.toContain('token');

    const deleted = await run(KUBECTL, kubectlArgs(['delete', 'pod', 'web-0']));
    expect(deleted.code).toBe(1);
    expect(deleted.stderr).toContain('Error from server (MethodNotAllowed): the edge local API is read-only; change objects in the cluster');
  });

  it('kubectl reads Secrets when the agent serves them', async () => {
    const { kubectlArgs } = await setup({ serveSecrets: true });
    const result = await run(KUBECTL, kubectlArgs(['get', 'secret', 'token', '-o', 'jsonpath={.data.password}']));
    expect(result.code).toBe(0);
    expect(Buffer.from(result.stdout, 'base64').toString()).toBe('s3cret');
    const table = await run(KUBECTL, kubectlArgs(['get', 'secrets']));
    expect(table.stdout).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE\ntoken\s+Opaque\s+1\s/);
  });

  it("kubectl get node shows the agent's own node Ready with its version and addresses; others stay as cached", async () => {
    const info = { ...collectNodeInfo(), addresses: [{ type: 'InternalIP', address: '192.0.2.7' }] };
    const since = new Date(Date.now() - 60_000);
    const { kubectlArgs } = await setup({ nodeStatus: (name) => (name === 'edge-1' ? localNodeStatus(info, '9.9.9', since, new Date()) : undefined) });
    const nodes = await run(KUBECTL, kubectlArgs(['get', 'nodes', '-o', 'wide']));
    expect(nodes.code).toBe(0);
    expect(nodes.stdout).toMatch(/\nedge-1\s+Ready\s+edge\s+\S+\s+edge-sync\/9\.9\.9\s+192\.0\.2\.7\s/);
    const json = JSON.parse((await run(KUBECTL, kubectlArgs(['get', 'node', 'edge-1', '-o', 'json']))).stdout) as JsonObject;
    expect((json.status as { nodeInfo: { architecture: string } }).nodeInfo.architecture).toBe(info.arch);
  });

  it('a missing object prints kubectl\'s usual NotFound; namespaces are the ones the cache implies', async () => {
    const { kubectlArgs } = await setup();
    const missing = await run(KUBECTL, kubectlArgs(['get', 'pod', 'nope']));
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('Error from server (NotFound): pods "nope" not found');
    const elsewhere = await run(KUBECTL, kubectlArgs(['get', 'pod', 'nope', '-n', 'nowhere']));
    // kubectl looks the namespace up to explain a 404, as against kube-apiserver.
    expect(elsewhere.stderr.trim()).toBe('Error from server (NotFound): namespaces "nowhere" not found');
    const namespaces = await run(KUBECTL, kubectlArgs(['get', 'namespaces']));
    expect(namespaces.code).toBe(0);
    expect(namespaces.stdout).toMatch(/^NAME\s+STATUS\s+AGE\ndefault\s+Active\s/);
    const missingNs = await run(KUBECTL, kubectlArgs(['get', 'namespace', 'nowhere']));
    expect(missingNs.stderr.trim()).toBe('Error from server (NotFound): namespaces "nowhere" not found');
  });
});
