/**
 * The CRI sandbox and container configurations for a Pod, labelled and annotated as the kubelet
 * does (pkg/kubelet/types/labels.go, kuberuntime/labels.go) so that `crictl pods`, `crictl ps`
 * and `ctr -n k8s.io containers ls` show what users expect, plus two labels of ours that let an
 * agent find its own sandboxes and containers again (adoption) on a containerd it may share.
 * Every sandbox uses the host's network namespace: no CNI is needed.
 */
import type { ResolvedMount } from '../volume-manager.js';
import type { ContainerSpec, PodView } from '../pod-spec.js';
import type { ContainerConfig, Labels, LinuxContainerResources, LinuxContainerSecurityContext, NamespaceOption, PodSandboxConfig } from './cri-types.js';

export const POD_NAME_LABEL = 'io.kubernetes.pod.name';
export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const POD_UID_LABEL = 'io.kubernetes.pod.uid';
export const CONTAINER_NAME_LABEL = 'io.kubernetes.container.name';
/** Ours: which agent (node) made it; every sandbox and container of the agent carries it. */
export const NODE_LABEL = 'edge-sync.io/node';
export const MANAGED_LABEL = 'edge-sync.io/managed-by';
export const MANAGED_VALUE = 'edge-agent';

export const HASH_ANNOTATION = 'io.kubernetes.container.hash';
export const RESTART_COUNT_ANNOTATION = 'io.kubernetes.container.restartCount';
export const GRACE_ANNOTATION = 'io.kubernetes.pod.terminationGracePeriod';
export const INIT_ANNOTATION = 'edge-sync.io/init-container';

/** Host network, a PID namespace per container, one IPC namespace per Pod: the kubelet's choice for hostNetwork Pods. */
const NAMESPACES: NamespaceOption = { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' };

/** The labels that mark a sandbox or container as this agent's. */
export function ownerLabels(nodeName: string): Labels {
  return { [MANAGED_LABEL]: MANAGED_VALUE, [NODE_LABEL]: nodeName };
}

/** `cgroupParent`: the Pod's cgroup (cri-isolation.ts CriPodCgroups), when the agent has one; else the runtime's default. */
export function sandboxConfig(pod: PodView, nodeName: string, logDirectory: string, attempt: number, cgroupParent?: string): PodSandboxConfig {
  // A privileged container needs a privileged sandbox (containerd refuses it otherwise); whether it may run is decided per container.
  const privileged = [...pod.initContainers, ...pod.containers].some((container) => {
    const context = container.raw.securityContext;
    return typeof context === 'object' && context !== null && !Array.isArray(context) && context.privileged === true;
  });
  return {
    metadata: { name: pod.name, namespace: pod.namespace, uid: pod.uid, attempt },
    // Empty: a host-network sandbox has the node's hostname (runc refuses to set one without a UTS namespace).
    hostname: '',
    logDirectory,
    labels: { ...pod.labels, [POD_NAME_LABEL]: pod.name, [POD_NAMESPACE_LABEL]: pod.namespace, [POD_UID_LABEL]: pod.uid, ...ownerLabels(nodeName) },
    annotations: { ...pod.annotations },
    linux: { ...(cgroupParent ? { cgroupParent } : {}), securityContext: { namespaceOptions: NAMESPACES, ...(privileged ? { privileged } : {}) } },
  };
}

export interface ContainerPlan {
  pod: PodView;
  container: ContainerSpec;
  init: boolean;
  nodeName: string;
  /** The image as the runtime identifies it (PullImage's or ImageStatus's answer). */
  imageRef: string;
  restartCount: number;
  specHash: string;
  command: string[] | undefined;
  args: string[];
  env: ReadonlyMap<string, string>;
  mounts: readonly ResolvedMount[];
  /** cri-isolation.ts. */
  resources?: LinuxContainerResources;
  securityContext?: LinuxContainerSecurityContext;
}

/** `<container>/<restartCount>.log` under the sandbox's log directory, as the kubelet names it. */
export function logPath(container: string, restartCount: number): string {
  return `${container}/${restartCount}.log`;
}

export function containerConfig(plan: ContainerPlan): ContainerConfig {
  const { pod, container } = plan;
  const config: ContainerConfig = {
    metadata: { name: container.name, attempt: plan.restartCount },
    image: { image: plan.imageRef, userSpecifiedImage: container.image },
    args: plan.args,
    envs: [...plan.env].map(([key, value]) => ({ key, value })),
    mounts: plan.mounts.map((mount) => ({ containerPath: mount.mountPath, hostPath: mount.hostPath, readonly: mount.readOnly })),
    labels: { [POD_NAME_LABEL]: pod.name, [POD_NAMESPACE_LABEL]: pod.namespace, [POD_UID_LABEL]: pod.uid, [CONTAINER_NAME_LABEL]: container.name, ...ownerLabels(plan.nodeName) },
    annotations: {
      [HASH_ANNOTATION]: plan.specHash,
      [RESTART_COUNT_ANNOTATION]: String(plan.restartCount),
      [GRACE_ANNOTATION]: String(pod.terminationGracePeriodSeconds),
      ...(plan.init ? { [INIT_ANNOTATION]: 'true' } : {}),
    },
    logPath: logPath(container.name, plan.restartCount),
    linux: { ...(plan.resources ? { resources: plan.resources } : {}), securityContext: { ...plan.securityContext, namespaceOptions: NAMESPACES } },
  };
  // No command: the image's Entrypoint runs (with args, else the image's Cmd), as in Kubernetes.
  if (plan.command) config.command = plan.command;
  if (container.workingDir) config.workingDir = container.workingDir;
  return config;
}
