/**
 * The real kubectl (v1.32) against `cloud-hub apiserver` for what needs the schemas:
 * `kubectl explain` (OpenAPI v3), `--validate=strict|warn` (server-side field validation), and
 * server-side apply (`apply --server-side`, field managers, conflicts, `--force-conflicts`,
 * `diff --server-side`, managedFields).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, run, startProcess, type RunningProcess } from '../../helpers/process.js';
import { requireTool } from '../../helpers/system-tools.js';
import { makeTempDir } from '../../helpers/tmp.js';

const KUBECTL = requireTool('kubectl');
let dir: ReturnType<typeof makeTempDir>;
let apiserver: RunningProcess;
let kubeconfig: string;

beforeAll(async () => {
  dir = makeTempDir('edge-kubectl-apply-');
  apiserver = await startProcess(BIN.cloudHub, ['apiserver', '--data', dir.path, '--listen', '127.0.0.1:0']);
  kubeconfig = path.join(dir.path, 'kubeconfig');
});

afterAll(async () => {
  await apiserver?.stop();
  dir?.remove();
});

function kubectl(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir.path, 'kubectl-cache'), ...args], { timeoutMs: 30_000 });
}

function file(name: string, text: string): string {
  const target = path.join(dir.path, name);
  writeFileSync(target, text);
  return target;
}

function podYaml(name: string, image: string, labels: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {${labels}}
spec:
  containers:
  - name: app
    image: ${image}
    ports:
    - containerPort: 8080
`;
}

describe('kubectl explain reads the OpenAPI v3 schemas', () => {
  it('explain pod.spec.containers and explain configmap', async () => {
    const containers = await kubectl('explain', 'pod.spec.containers');
    expect(containers.stderr).toBe('');
    expect(containers.code).toBe(0);
    expect(containers.stdout).toContain('FIELD: containers <[]Container>');
    expect(containers.stdout).toMatch(/image\s+<string>/);
    expect(containers.stdout).toMatch(/ports\s+<\[\]ContainerPort>/);
    const configmap = await kubectl('explain', 'configmap');
    expect(configmap.code).toBe(0);
    expect(configmap.stdout).toContain('ConfigMap holds configuration data for pods to consume.');
    expect(configmap.stdout).toMatch(/data\s+<map\[string\]string>/);
    const lease = await kubectl('explain', 'lease.spec.renewTime');
    expect(lease.code).toBe(0);
    expect(lease.stdout).toContain('renewTime');
  });
});

describe('kubectl validation is the server’s', () => {
  const withUnknown = `apiVersion: v1
kind: ConfigMap
metadata:
  name: typo
data: {a: b}
dataa: {c: d}
`;

  it('--validate=strict (the default) refuses an unknown field with kube’s message', async () => {
    const res = await kubectl('create', '-f', file('typo.yaml', withUnknown));
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('Error from server (BadRequest): error when creating');
    expect(res.stderr).toContain('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dataa"');
  });

  it('--validate=warn creates it without the field and prints the warning', async () => {
    const res = await kubectl('create', '--validate=warn', '-f', file('typo.yaml', withUnknown));
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('Warning: unknown field "dataa"');
    const stored = JSON.parse((await kubectl('get', 'configmap', 'typo', '-o', 'json')).stdout);
    expect(stored.dataa).toBeUndefined();
    expect(stored.data).toEqual({ a: 'b' });
  });

  it('a typed value of the wrong kind is refused', async () => {
    const res = await kubectl('create', '-f', file('badport.yaml', podYaml('badport', 'app:1', 'a: b').replace('8080', '"eighty"')));
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32');
  });
});

describe('server-side apply', () => {
  async function managed(kind: string, name: string): Promise<{ manager: string; operation: string; fieldsV1: Record<string, any> }[]> {
    const res = await kubectl('get', kind, name, '-o', 'yaml', '--show-managed-fields');
    expect(res.code).toBe(0);
    return (parseYaml(res.stdout) as { metadata: { managedFields: any[] } }).metadata.managedFields;
  }

  it('apply creates; managedFields record the manager in FieldsV1', async () => {
    const res = await kubectl('apply', '--server-side', '-f', file('web.yaml', podYaml('web', 'app:1', 'app: web, tier: front')));
    expect(res.stderr).toBe('');
    expect(res.stdout.trim()).toBe('pod/web serverside-applied');
    const entries = await managed('pod', 'web');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1' });
    expect(entries[0]!.fieldsV1).toEqual({
      'f:metadata': { 'f:labels': { 'f:app': {}, 'f:tier': {} } },
      'f:spec': {
        'f:containers': {
          'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } },
        },
      },
    });
    // Without --show-managed-fields kubectl hides them, as with kube.
    expect((await kubectl('get', 'pod', 'web', '-o', 'yaml')).stdout).not.toContain('managedFields');
  });

  it('a second manager changing an owned field conflicts, per field; --force-conflicts takes it over', async () => {
    const other = file('web-other.yaml', podYaml('web', 'app:2', 'app: web'));
    const conflict = await kubectl('apply', '--server-side', '--field-manager=deployer', '-f', other);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl": .spec.containers[name="app"].image');
    const dryDiff = await kubectl('diff', '--server-side', '--field-manager=deployer', '--force-conflicts', '-f', other);
    expect(dryDiff.code).toBe(1);
    expect(dryDiff.stdout).toContain('+  - image: app:2');
    expect(JSON.parse((await kubectl('get', 'pod', 'web', '-o', 'json')).stdout).spec.containers[0].image).toBe('app:1');

    const forced = await kubectl('apply', '--server-side', '--field-manager=deployer', '--force-conflicts', '-f', other);
    expect(forced.code).toBe(0);
    expect(JSON.parse((await kubectl('get', 'pod', 'web', '-o', 'json')).stdout).spec.containers[0].image).toBe('app:2');
    const entries = await managed('pod', 'web');
    const kubectlEntry = entries.find((entry) => entry.manager === 'kubectl')!;
    const deployer = entries.find((entry) => entry.manager === 'deployer')!;
    expect(kubectlEntry.fieldsV1['f:spec']['f:containers']['k:{"name":"app"}']['f:image']).toBeUndefined();
    expect(deployer.fieldsV1['f:spec']['f:containers']['k:{"name":"app"}']['f:image']).toEqual({});
    // Same values are shared, not conflicting: both own labels.app.
    expect(kubectlEntry.fieldsV1['f:metadata']['f:labels']['f:app']).toEqual({});
    expect(deployer.fieldsV1['f:metadata']['f:labels']['f:app']).toEqual({});
  });

  it('a field the manager no longer applies, and nobody else owns, is removed', async () => {
    const cm = (data: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata: {${data}}\n`;
    expect((await kubectl('apply', '--server-side', '-f', file('settings.yaml', cm('a: "1", b: "2"')))).code).toBe(0);
    expect((await kubectl('apply', '--server-side', '--field-manager=second', '-f', file('settings-2.yaml', cm('a: "1"')))).code).toBe(0);
    expect((await kubectl('apply', '--server-side', '-f', file('settings.yaml', cm('c: "3"')))).code).toBe(0);
    const stored = JSON.parse((await kubectl('get', 'configmap', 'settings', '-o', 'json')).stdout);
    // b was only kubectl's: gone. a is still the second manager's: kept.
    expect(stored.data).toEqual({ a: '1', c: '3' });
  });

  it('an Update (kubectl label) is recorded as an Update entry and then conflicts with an apply', async () => {
    expect((await kubectl('label', 'pod', 'web', 'tier=back', '--overwrite')).code).toBe(0);
    const entries = await managed('pod', 'web');
    const label = entries.find((entry) => entry.manager === 'kubectl-label')!;
    expect(label.operation).toBe('Update');
    expect(label.fieldsV1).toEqual({ 'f:metadata': { 'f:labels': { 'f:tier': {} } } });
    const res = await kubectl('apply', '--server-side', '-f', file('web.yaml', podYaml('web', 'app:2', 'app: web, tier: front')));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/conflict with "kubectl-label" using v1 at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: \.metadata\.labels\.tier/);
  });
});
