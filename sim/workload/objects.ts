/**
 * Bodies of the objects the simulator writes. Every Pod references a shared ConfigMap and
 * Secret (the fan-out targets) and its node's own ConfigMap and Secret, through the reference
 * kinds the hub resolves (volumes, envFrom, env valueFrom), so scope is exercised, not bypassed.
 */
import type { V1ConfigMap, V1Container, V1Pod, V1Secret } from '@kubernetes/client-node';
import { SHARED_CONFIG, SHARED_SECRET, SIM_LABEL, WRITTEN_AT, type FleetNames } from './names.js';

/** A write timestamp with sub-ms precision that any thread of this process reads the same way. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

export function writtenAt(ms: number): Record<string, string> {
  return { [WRITTEN_AT]: ms.toFixed(3) };
}

export function simContainer(node: string, names: FleetNames, image: string): V1Container {
  return {
    name: 'app',
    image,
    command: ['/app', '--serve'],
    envFrom: [{ configMapRef: { name: names.nodeConfig(node) } }],
    env: [{ name: 'SHARED_TOKEN', valueFrom: { secretKeyRef: { name: SHARED_SECRET, key: 'token' } } }],
    volumeMounts: [
      { name: 'shared', mountPath: '/etc/shared' },
      { name: 'own', mountPath: '/etc/own' },
    ],
  };
}

export function simPod(names: FleetNames, node: string, name: string, at: number, image = 'registry.local/sim-app:1'): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: names.namespace, labels: { [SIM_LABEL]: 'true', app: 'sim', rev: '0' }, annotations: writtenAt(at) },
    spec: {
      nodeName: node,
      containers: [simContainer(node, names, image)],
      volumes: [
        { name: 'shared', configMap: { name: SHARED_CONFIG } },
        { name: 'own', secret: { secretName: names.nodeSecret(node) } },
      ],
    },
  };
}

export function simConfigMap(names: FleetNames, name: string, at: number, data: Record<string, string>): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: names.namespace, labels: { [SIM_LABEL]: 'true' }, annotations: writtenAt(at) }, data };
}

export function simSecret(names: FleetNames, name: string, at: number, data: Record<string, string>): V1Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: names.namespace, labels: { [SIM_LABEL]: 'true' }, annotations: writtenAt(at) }, data: base64Values(data), type: 'Opaque' };
}

function base64Values(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
}
