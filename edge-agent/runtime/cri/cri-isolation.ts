/**
 * Resources and securityContext for a CRI container, as the kubelet fills
 * LinuxContainerConfig: cpu shares from the request, CFS quota over a 100 ms period from the
 * limit, the memory limit (swap limited to the same: no swap, the kubelet's NoSwap), the
 * OOM score adjustment of the Pod's QoS class; run_as_user/group, supplemental groups,
 * readonly_rootfs, capabilities, no_new_privs, privileged. Before creating the container: the
 * kubelet's runAsNonRoot check against the image's user (ImageStatus) and the refusal of
 * privileged containers unless the agent allows them. And the Pod's cgroup, which the sandbox
 * gets as its cgroup_parent, with the Pod's totals (CriPodCgroups).
 */
import os from 'node:os';
import type { Logger } from 'pino';
import { podCgroup, type CgroupDriver } from '../cgroup-driver.js';
import type { ContainerSpec, PodView } from '../pod-spec.js';
import { CPU_PERIOD_US, containerResources, cpuQuotaUs, cpuShares, podCgroupLimits, podResources, qosClass, type ContainerResources } from '../resources.js';
import { effectiveSecurity, privilegedRefusal, verifyRunAsNonRoot } from '../security-context.js';
import type { LinuxContainerResources, LinuxContainerSecurityContext } from './cri-types.js';

export type CriLinuxResult = { ok: true; resources: LinuxContainerResources; securityContext: LinuxContainerSecurityContext } | { ok: false; message: string };

/** Who the image runs as (ImageStatus uid / username), asked only when runAsNonRoot needs it. */
export type ImageUser = () => Promise<{ uid: number | undefined; username: string }>;

/** The kubelet's GetContainerOOMScoreAdjust. */
export function oomScoreAdj(pod: PodView, resources: ContainerResources, memoryCapacity = os.totalmem()): number {
  const all = podResources(pod);
  const qos = all.ok ? qosClass(all.containers.values()) : 'Burstable';
  if (qos === 'Guaranteed') return -997;
  if (qos === 'BestEffort') return 1000;
  const adjust = 1000 - Math.floor((1000 * (resources.memoryRequestBytes ?? 0)) / memoryCapacity);
  return Math.min(999, Math.max(2, adjust));
}

export async function criLinux(pod: PodView, container: ContainerSpec, init: boolean, allowPrivileged: boolean, imageUser: ImageUser): Promise<CriLinuxResult> {
  const parsed = containerResources(container);
  if (!parsed.ok) return parsed;
  const own = parsed.resources;
  const resources: LinuxContainerResources = { cpuShares: cpuShares(own.cpuRequestMillis), oomScoreAdj: oomScoreAdj(pod, own) };
  if (own.cpuLimitMillis) Object.assign(resources, { cpuPeriod: CPU_PERIOD_US, cpuQuota: cpuQuotaUs(own.cpuLimitMillis) });
  if (own.memoryLimitBytes) Object.assign(resources, { memoryLimitInBytes: own.memoryLimitBytes, memorySwapLimitInBytes: own.memoryLimitBytes });

  const security = effectiveSecurity(pod, container);
  if (!security.ok) return security;
  const s = security.security;
  if (s.privileged && !allowPrivileged) return { ok: false, message: privilegedRefusal(pod, init) };
  if (s.runAsNonRoot && s.runAsUser === undefined) {
    const user = await imageUser();
    const refusal = verifyRunAsNonRoot(pod, container.name, s, user.uid, user.username);
    if (refusal) return { ok: false, message: refusal };
  } else {
    const refusal = verifyRunAsNonRoot(pod, container.name, s, undefined, '');
    if (refusal) return { ok: false, message: refusal };
  }
  const securityContext: LinuxContainerSecurityContext = { privileged: s.privileged, readonlyRootfs: s.readOnlyRootFilesystem, noNewPrivs: s.allowPrivilegeEscalation === false };
  if (s.runAsUser !== undefined) securityContext.runAsUser = { value: s.runAsUser };
  if (s.runAsGroup !== undefined) securityContext.runAsGroup = { value: s.runAsGroup };
  if (s.supplementalGroups.length > 0) securityContext.supplementalGroups = s.supplementalGroups;
  if (s.capabilities) securityContext.capabilities = { addCapabilities: s.capabilities.add, dropCapabilities: s.capabilities.drop };
  return { ok: true, resources, securityContext };
}

/**
 * The Pod cgroups of CRI Pods, below `<parent>` (`--cgroup-root` + `/cri`): made with the Pod's
 * totals before its sandbox, given to it as cgroup_parent (containerd's cgroupfs driver puts
 * every container below it), removed with the Pod.
 */
export class CriPodCgroups {
  constructor(
    private readonly driver: CgroupDriver,
    private readonly parent: string,
    private readonly logger: Logger,
    private readonly podMaxPids?: number,
  ) {}

  /** The sandbox's cgroup_parent, or undefined (containerd's default) when the Pod's cgroup cannot be made. */
  parentFor(pod: PodView): string | undefined {
    try {
      const all = podResources(pod);
      this.driver.ensure(podCgroup(pod.uid), all.ok ? podCgroupLimits(pod, all.containers, this.podMaxPids) : {});
      return `${this.parent}/${podCgroup(pod.uid)}`;
    } catch (err) {
      this.logger.warn({ pod: pod.key, err: (err as Error).message }, 'cannot make the Pod cgroup; the sandbox gets the runtime\'s default parent');
      return undefined;
    }
  }

  remove(uid: string): void {
    try {
      if (!this.driver.remove(podCgroup(uid))) this.logger.warn({ uid }, 'Pod cgroup still holds processes; left in place');
    } catch {
      // a uid the driver refuses never got a cgroup
    }
  }
}
