/**
 * deploy/k8s renders with kubectl's kustomize, and every rendered object is valid for its kind:
 * schema validation (kubernetes-models) plus unknown-field detection (client-node's models) for
 * all of them, and `kubectl create --dry-run=server` against the embedded API for the kinds it
 * serves. Then the properties the issue asks of them: least-privilege RBAC without wildcards,
 * a hardened Deployment with probes, requests and limits, selectors that select.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startHub, type HubHandle } from '../helpers/hub.js';
import { KUBECTL, find, podTemplate, render, type KubeObject } from './manifests.js';
import { schemaErrors, unknownFields } from './schema.js';

const KUSTOMIZATIONS = ['deploy/k8s', 'deploy/k8s/mosquitto'] as const;
const rendered = Object.fromEntries(KUSTOMIZATIONS.map((dir) => [dir, render(dir)])) as Record<(typeof KUSTOMIZATIONS)[number], KubeObject[]>;
const label = (object: KubeObject) => `${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
interface ContainerSpec {
  name: string;
  securityContext?: SecurityContext;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: unknown;
  readinessProbe?: unknown;
}

describe('kubectl kustomize', () => {
  it('renders the base with exactly the objects of the issue', () => {
    expect(rendered['deploy/k8s'].map(label).sort()).toEqual(
      [
        'Namespace edge-system',
        'ServiceAccount edge-system/cloud-hub',
        'ClusterRole edge-sync:cloud-hub',
        'ClusterRoleBinding edge-sync:cloud-hub',
        'Role kube-node-lease/edge-sync:cloud-hub-node-leases',
        'RoleBinding kube-node-lease/edge-sync:cloud-hub-node-leases',
        'Role edge-system/edge-sync:cloud-hub-replica-leases',
        'RoleBinding edge-system/edge-sync:cloud-hub-replica-leases',
        'Role edge-system/edge-sync:token-admin',
        'Deployment edge-system/cloud-hub',
        'Service edge-system/cloud-hub',
        'PodDisruptionBudget edge-system/cloud-hub',
      ].sort(),
    );
    expect(rendered['deploy/k8s'].every((object) => object.metadata.labels?.['app.kubernetes.io/part-of'] === 'edge-sync')).toBe(true);
  });

  it('renders the mosquitto overlay: the base and a broker', () => {
    const base = new Set(rendered['deploy/k8s'].map(label));
    expect(rendered['deploy/k8s/mosquitto'].map(label).filter((name) => !base.has(name)).sort()).toEqual(
      [
        'ConfigMap edge-system/mosquitto',
        'Deployment edge-system/mosquitto',
        'Service edge-system/mosquitto',
      ].sort(),
    );
  });
});

describe.each(KUSTOMIZATIONS)('%s: every object is valid for its kind', (dir) => {
  it.each(rendered[dir].map((object) => [label(object), object] as const))('%s', async (_name, object) => {
    expect(await schemaErrors(object)).toBeUndefined();
    expect(unknownFields(object)).toEqual([]);
  });
});

describe('the validators are not blind', () => {
  it('report a wrong type and a misspelt field', async () => {
    const deployment = structuredClone(find(rendered['deploy/k8s'], 'Deployment', 'cloud-hub')) as KubeObject & { spec: Record<string, unknown> };
    deployment.spec.replicas = 'two';
    const template = podTemplate(deployment) as unknown as { spec: { containers: Record<string, unknown>[] } };
    template.spec.containers[0]!.readinesProbe = template.spec.containers[0]!.readinessProbe;
    expect(await schemaErrors(deployment)).toMatch(/replicas must be integer/);
    expect(unknownFields(deployment)).toEqual(['.spec.replicas: expected number, got string', '.spec.template.spec.containers[0].readinesProbe: unknown field of V1Container']);
  });
});

describe('kubectl create --dry-run=server against the embedded API', () => {
  let hub: HubHandle;
  beforeAll(async () => {
    hub = await startHub();
  });
  afterAll(async () => {
    await hub?.stop();
  });

  const kubectl = (file: string, dryRun: boolean) =>
    execFileSync(KUBECTL, ['--kubeconfig', hub.kubeconfig, 'create', ...(dryRun ? ['--dry-run=server'] : []), '-f', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const file = (name: string, objects: unknown[]) => {
    const target = path.join(hub.data, name);
    writeFileSync(target, objects.map((object) => stringify(object)).join('---\n'));
    return target;
  };

  it('accepts the Namespace, the broker ConfigMap and the Deployments\' Pod templates as Pods', () => {
    const objects = rendered['deploy/k8s/mosquitto'];
    expect(kubectl(file('namespace.yaml', [find(objects, 'Namespace', 'edge-system')]), true)).toBe('namespace/edge-system created (server dry run)');
    // The ConfigMap and Pods need their namespace to exist.
    expect(kubectl(file('namespace.yaml', [find(objects, 'Namespace', 'edge-system')]), false)).toBe('namespace/edge-system created');
    expect(kubectl(file('configmap.yaml', [find(objects, 'ConfigMap', 'mosquitto')]), true)).toBe('configmap/mosquitto created (server dry run)');
    const pods = objects
      .filter((object) => object.kind === 'Deployment')
      .map((deployment) => {
        const template = podTemplate(deployment);
        return { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${deployment.metadata.name}-template`, namespace: deployment.metadata.namespace, labels: template.metadata?.labels }, spec: template.spec };
      });
    expect(kubectl(file('pods.yaml', pods), true).split('\n')).toEqual(['pod/cloud-hub-template created (server dry run)', 'pod/mosquitto-template created (server dry run)']);
  });

  it('refuses an invalid object (the dry run does validate)', () => {
    expect(() => kubectl(file('bad.yaml', [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Not_Valid', namespace: 'default' } }]), true)).toThrow(/is invalid/);
  });
});

describe('what the issue asks of the objects', () => {
  it.each(KUSTOMIZATIONS)('%s: every Pod runs non-root with a read-only root filesystem, no capabilities, no privilege escalation, requests and limits', (dir) => {
    for (const deployment of rendered[dir].filter((object) => object.kind === 'Deployment')) {
      const spec = podTemplate(deployment).spec as unknown as { securityContext?: SecurityContext; containers: ContainerSpec[] };
      expect(spec.securityContext, label(deployment)).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(spec.securityContext!.runAsUser, label(deployment)).toBeGreaterThan(0);
      for (const c of spec.containers) {
        expect(c.securityContext, `${label(deployment)} ${c.name}`).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        for (const kind of ['requests', 'limits'] as const) expect(Object.keys(c.resources?.[kind] ?? {}).sort(), `${label(deployment)} ${c.name} ${kind}`).toEqual(['cpu', 'memory']);
        expect(c.livenessProbe, `${label(deployment)} ${c.name}`).toBeDefined();
        expect(c.readinessProbe, `${label(deployment)} ${c.name}`).toBeDefined();
      }
    }
  });

  it('the hub: 2 replicas of its ServiceAccount, probes on /healthz and /readyz, a Service and a PodDisruptionBudget that select its Pods', () => {
    const objects = rendered['deploy/k8s'];
    const deployment = find(objects, 'Deployment', 'cloud-hub') as KubeObject & { spec: { replicas: number; selector: { matchLabels: Record<string, string> } } };
    expect(deployment.spec.replicas).toBe(2);
    const template = podTemplate(deployment);
    expect(template.spec.serviceAccountName).toBe(find(objects, 'ServiceAccount', 'cloud-hub').metadata.name);
    const hub = template.spec.containers[0]!;
    expect(hub.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(hub.readinessProbe?.httpGet?.path).toBe('/readyz');
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => template.metadata?.labels?.[k] === v);
    expect(selects(deployment.spec.selector.matchLabels)).toBe(true);
    expect(selects((find(objects, 'Service', 'cloud-hub').spec as { selector: Record<string, string> }).selector)).toBe(true);
    expect(selects((find(objects, 'PodDisruptionBudget', 'cloud-hub').spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels)).toBe(true);
  });

  it.each(KUSTOMIZATIONS)('%s: RBAC without wildcards; every binding names a rendered role and ServiceAccount', (dir) => {
    const objects = rendered[dir];
    for (const role of objects.filter((object) => object.kind === 'Role' || object.kind === 'ClusterRole')) {
      for (const rule of (role as unknown as { rules: Record<string, string[] | undefined>[] }).rules) {
        for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames']) expect(rule[field] ?? [], `${label(role)} ${field}`).not.toContain('*');
      }
    }
    for (const binding of objects.filter((object) => object.kind === 'RoleBinding' || object.kind === 'ClusterRoleBinding')) {
      const { roleRef, subjects } = binding as unknown as { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] };
      const role = find(objects, roleRef.kind, roleRef.name);
      if (roleRef.kind === 'Role') expect(role.metadata.namespace).toBe(binding.metadata.namespace);
      for (const subject of subjects) {
        expect(subject.kind).toBe('ServiceAccount');
        expect(find(objects, 'ServiceAccount', subject.name).metadata.namespace).toBe(subject.namespace);
      }
    }
  });
});
