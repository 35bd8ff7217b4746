/**
 * The hub as its image runs it: `npm run build:hub` (scripts/hub-bundle/build.ts) bundles
 * cloud-hub/main.ts into cloud-hub.js with its chunks in lib/, and only better-sqlite3 beside
 * it. Here the bundle is built into a directory whose node_modules holds better-sqlite3 alone, so
 * anything it failed to bundle cannot load. `--help` reads none of the chunks loaded on demand;
 * the bundled `cloud-hub apiserver` and hub (two processes, as in a cluster) serve kubectl,
 * including `kubectl explain` (the OpenAPI document copied next to its chunk) and server-side
 * apply, and sync a Pod with its ConfigMap to a real agent.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHubBundle, type HubBundle } from '../../scripts/hub-bundle/build.js';
import { TestCluster } from '../helpers/cluster.js';
import { moduleProbe } from '../helpers/module-probe.js';
import { REPO, run } from '../helpers/process.js';
import { requireTool } from '../helpers/system-tools.js';
import { makeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const KUBECTL = requireTool('kubectl');
const NS = 'hub-bundle';
const dir = makeTempDir('edge-hub-bundle-');
let bundle: HubBundle;
let cluster: TestCluster;

beforeAll(async () => {
  bundle = await buildHubBundle(path.join(dir.path, 'dist-hub'));
  // What the image installs beside the bundle: better-sqlite3 (its own dependencies resolve from
  // its real location).
  mkdirSync(path.join(dir.path, 'node_modules'));
  symlinkSync(path.join(REPO, 'node_modules/better-sqlite3'), path.join(dir.path, 'node_modules/better-sqlite3'));
}, 120_000);

afterAll(async () => {
  await cluster?.close();
  dir.remove();
});

function kubectl(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(KUBECTL, ['--kubeconfig', cluster.kubeconfig, '--cache-dir', path.join(dir.path, 'kubectl-cache'), ...args], { timeoutMs: 30_000 });
}

describe('the bundled hub (npm run build:hub)', () => {
  it('bundles every package but better-sqlite3, and names only it as a dependency', () => {
    const root = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const manifest = JSON.parse(readFileSync(path.join(bundle.dir, 'package.json'), 'utf8')) as { bin: Record<string, string>; dependencies: Record<string, string> };
    expect(manifest.dependencies).toEqual({ 'better-sqlite3': root.dependencies['better-sqlite3'] });
    expect(manifest.bin).toEqual({ 'cloud-hub': 'cloud-hub.js' });
    expect(bundle.packages).toEqual(expect.arrayContaining(['@kubernetes/client-node', '@peculiar/x509', 'aedes', 'commander', 'pino', 'ws', 'zod']));
    // Left to run time: better-sqlite3, and optional packages required inside try/catch that the
    // development tree does not install either.
    expect(bundle.externals).toEqual(['better-sqlite3', 'bufferutil', 'encoding', 'supports-color', 'utf-8-validate']);
  });

  it('--help reads no chunk loaded on demand and nothing outside the bundle', async () => {
    const probe = moduleProbe(path.join(dir.path, 'help.modules'));
    const result = await run(process.execPath, [...probe.nodeArgs, bundle.entry, '--help'], { env: probe.env, timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Usage: cloud-hub \[options\] \[command\]/);
    const files = probe.loaded().filter((url) => url.startsWith('file:')).map((url) => fileURLToPath(url));
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter((file) => !file.startsWith(`${bundle.dir}${path.sep}`))).toEqual([]);
    const lazy = Object.values(bundle.lazyChunks);
    // The embedded API server, the PKI (@peculiar/x509) and the in-process broker (aedes).
    expect(lazy.length).toBeGreaterThanOrEqual(3);
    expect(files.filter((file) => lazy.includes(file))).toEqual([]);
  });

  it('runs as `cloud-hub apiserver` and as the hub: kubectl explain and server-side apply work, and a Pod with its ConfigMap reaches an agent', async () => {
    cluster = new TestCluster(bundle.entry);
    await cluster.start();
    const explain = await kubectl('explain', 'pod.spec.restartPolicy');
    expect(explain.code, explain.stderr).toBe(0);
    expect(explain.stdout).toMatch(/FIELD: +restartPolicy <string>/);
    const manifest = path.join(dir.path, 'objects.yaml');
    const node = 'edge-hub-bundle';
    writeFileSync(
      manifest,
      [
        `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}`,
        `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: ${NS}}\ndata: {mode: bundled}`,
        `apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: ${NS}}\nspec:\n  nodeName: ${node}\n  containers:\n  - name: app\n    image: app:1\n    envFrom: [{configMapRef: {name: settings}}]`,
      ].join('\n---\n'),
    );
    const applied = await kubectl('apply', '--server-side', '-f', manifest);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/configmap\/settings serverside-applied/);
    await cluster.tokenFile(node);
    const agent = await cluster.startAgent(node);
    const pod = await waitFor(() => agent.get<{ spec: { nodeName: string } }>(`/api/v1/namespaces/${NS}/pods/web`), { what: 'the Pod on the agent' });
    expect(pod.spec.nodeName).toBe(node);
    const configMap = await waitFor(() => agent.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${NS}/configmaps/settings`), { what: 'the ConfigMap on the agent' });
    expect(configMap.data).toEqual({ mode: 'bundled' });
    await agent.stop();
  });
});
