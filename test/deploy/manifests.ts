/** The manifests under deploy/k8s as kubectl renders them, and the hub command line they describe. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO } from '../helpers/process.js';
import { requireTool } from '../helpers/system-tools.js';

export const KUBECTL = requireTool(process.env.KUBECTL_BIN ?? 'kubectl', 'kubectl');

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

/** `kubectl kustomize DIR` (DIR relative to the repository), parsed. */
export function render(dir: string): KubeObject[] {
  const text = execFileSync(KUBECTL, ['kustomize', path.join(REPO, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${dir}: ${doc.errors[0]!.message}`);
    return doc.toJS() as KubeObject;
  });
}

export function find(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return found;
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: { serviceAccountName?: string; containers: Container[]; volumes?: { name: string; secret?: { secretName: string } }[] };
}

export function podTemplate(deployment: KubeObject): PodTemplate {
  return (deployment.spec as { template: PodTemplate }).template;
}

export function container(deployment: KubeObject, name: string): Container {
  const found = podTemplate(deployment).spec.containers.find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name} in ${deployment.metadata.name}`);
  return found;
}

/**
 * The environment a container gets, with the downward-API fields the manifests use resolved
 * as the kubelet would for a Pod named `podName`.
 */
export function containerEnv(deployment: KubeObject, containerName: string, podName: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container(deployment, containerName).env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[variable.name] = deployment.metadata.namespace ?? 'default';
    else if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[variable.name] = podName;
    else throw new Error(`env ${variable.name}: the test does not resolve ${JSON.stringify(variable.valueFrom)}`);
  }
  return env;
}
