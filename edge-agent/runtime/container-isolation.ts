/**
 * What the process runtime does with a container's resources and securityContext before it
 * launches it, or why it must not launch it at all.
 *
 * Resources: every container runs in its own cgroup (`pod<uid>/<name>` below the runtime's
 * subtree, cgroup-driver.ts) with the kubelet's limits; the Pod cgroup above gets the Pod's
 * totals and the per-Pod pids limit. Without usable cgroups a container that asks for a memory
 * or CPU limit is not started (requests alone are scheduling hints and do not block it).
 *
 * securityContext: uid, gid, supplementary groups, the capability bounding set and
 * no_new_privs through setpriv (util-linux) run just before the exit wrapper (inside bwrap when
 * there is one); readOnlyRootFilesystem through bwrap's read-only root. Whatever cannot be
 * honoured in this setup (no bwrap, agent not root, no setpriv) is a configuration error naming
 * the field: the container never runs with less isolation than it asked for.
 */
import { containerCgroup, podCgroup, type CgroupDriver } from './cgroup-driver.js';
import type { CgroupSetup } from './cgroup-detect.js';
import type { ContainerSpec, PodView } from './pod-spec.js';
import { containerCgroupLimits, containerResources, hasLimits, podCgroupLimits, podResources } from './resources.js';
import { boundingSet, effectiveSecurity, privilegedRefusal, verifyRunAsNonRoot } from './security-context.js';

/** Linux capabilities by name (capability.h, up to CAP_CHECKPOINT_RESTORE). */
export const ALL_CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
];

export interface ContainerIsolationOptions {
  cgroups: CgroupSetup;
  sandboxKind: 'direct' | 'bwrap';
  /** Path of setpriv, when installed. */
  setpriv: string | undefined;
  agentUid: number;
  agentGid: number;
  /** --allow-privileged. */
  allowPrivileged: boolean;
  /** --pod-max-pids: the pids limit of each Pod cgroup. */
  podMaxPids?: number;
}

export interface IsolationPlan {
  /** The container's cgroup (relative to the runtime's subtree), when cgroups are in use. */
  cgroup?: string;
  /** cgroup.procs files to join before exec. */
  procsFiles: string[];
  /** setpriv argv ending in '--', or [] when nothing changes. */
  privileges: string[];
  readOnlyRoot: boolean;
}

export type IsolationResult = { ok: true; plan: IsolationPlan } | { ok: false; message: string };

export class ContainerIsolation {
  readonly driver: CgroupDriver | undefined;

  constructor(private readonly options: ContainerIsolationOptions) {
    this.driver = options.cgroups.ok ? options.cgroups.driver : undefined;
  }

  /** Why limits cannot be enforced, when they cannot. */
  get cgroupProblem(): string | undefined {
    return this.options.cgroups.ok ? undefined : this.options.cgroups.reason;
  }

  prepare(pod: PodView, container: ContainerSpec, init: boolean): IsolationResult {
    try {
      const security = this.privileges(pod, container, init);
      if (!security.ok) return security;
      const resources = this.cgroup(pod, container);
      if (!resources.ok) return resources;
      return { ok: true, plan: { ...resources.plan, privileges: security.privileges, readOnlyRoot: security.readOnlyRoot } };
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    }
  }

  /** The OOM-kill count of a container cgroup. */
  oomKills(cgroup: string): number | undefined {
    try {
      return this.driver?.oomKills(cgroup);
    } catch {
      return undefined; // a name from state.json the driver refuses
    }
  }

  /** Removes a Pod's cgroups once its processes are gone; false when some remain. */
  removePod(uid: string): boolean {
    if (!this.driver) return true;
    try {
      return this.driver.remove(podCgroup(uid));
    } catch {
      return false;
    }
  }

  /** Removes the cgroups of Pods the runtime no longer has (deleted while no agent ran); cgroups with processes stay. */
  sweep(keepUids: ReadonlySet<string>): void {
    if (!this.driver) return;
    for (const name of this.driver.children('')) {
      if (!name.startsWith('pod') || keepUids.has(name.slice(3))) continue;
      try {
        this.driver.remove(name);
      } catch {
        // a name the driver refuses is not ours
      }
    }
  }

  private cgroup(pod: PodView, container: ContainerSpec): { ok: true; plan: Pick<IsolationPlan, 'cgroup' | 'procsFiles'> } | { ok: false; message: string } {
    const all = podResources(pod);
    if (!all.ok) return all;
    const own = containerResources(container);
    if (!own.ok) return own;
    if (!this.driver) {
      if (hasLimits([own.resources])) return { ok: false, message: `container ${container.name}: resources.limits cannot be enforced on this node: ${this.cgroupProblem ?? 'no cgroups'}` };
      return { ok: true, plan: { procsFiles: [] } };
    }
    const cgroup = containerCgroup(pod.uid, container.name);
    try {
      this.driver.ensure(podCgroup(pod.uid), podCgroupLimits(pod, all.containers, this.options.podMaxPids));
      this.driver.ensure(cgroup, containerCgroupLimits(own.resources));
    } catch (err) {
      return { ok: false, message: `container ${container.name}: cannot set up its cgroup (${this.driver.description}): ${(err as Error).message}` };
    }
    return { ok: true, plan: { cgroup, procsFiles: this.driver.procsFiles(cgroup) } };
  }

  private privileges(pod: PodView, container: ContainerSpec, init: boolean): { ok: true; privileges: string[]; readOnlyRoot: boolean } | { ok: false; message: string } {
    const parsed = effectiveSecurity(pod, container);
    if (!parsed.ok) return parsed;
    const { security } = parsed;
    const { agentUid, agentGid } = this.options;
    if (security.privileged && !this.options.allowPrivileged) return { ok: false, message: privilegedRefusal(pod, init) };
    // Without images the "image user" is the agent's: that is who the command runs as unless runAsUser says otherwise.
    const nonRoot = verifyRunAsNonRoot(pod, container.name, security, agentUid, '');
    if (nonRoot) return { ok: false, message: nonRoot };
    const cannot = (field: string, why: string) => ({ ok: false as const, message: `container ${container.name}: securityContext.${field} cannot be honoured: ${why}` });
    if (security.readOnlyRootFilesystem && this.options.sandboxKind !== 'bwrap') {
      return cannot('readOnlyRootFilesystem', 'containers run without the bubblewrap sandbox here (--sandbox never, or bwrap not usable), so they see the host filesystem writable');
    }
    const args: string[] = [];
    const changesIds = security.runAsUser !== undefined || security.runAsGroup !== undefined || security.supplementalGroups.length > 0;
    if (changesIds) {
      const uid = security.runAsUser ?? agentUid;
      const gid = security.runAsGroup ?? (security.runAsUser !== undefined && agentUid === 0 ? 0 : agentGid);
      if (agentUid !== 0 && (uid !== agentUid || gid !== agentGid || security.supplementalGroups.length > 0)) {
        const field = uid !== agentUid ? 'runAsUser' : gid !== agentGid ? 'runAsGroup' : 'supplementalGroups';
        return cannot(field, `the agent runs as uid ${agentUid}, not root, and cannot switch users`);
      }
      args.push(`--regid=${gid}`, `--reuid=${uid}`);
      args.push(security.supplementalGroups.length > 0 ? `--groups=${security.supplementalGroups.join(',')}` : '--clear-groups');
    }
    if (security.capabilities && !security.privileged) {
      const unknown = [...security.capabilities.add, ...security.capabilities.drop].find((name) => name !== 'ALL' && !ALL_CAPABILITIES.includes(name));
      if (unknown) return cannot('capabilities', `unknown capability ${unknown}`);
      if (agentUid !== 0) return cannot('capabilities', `the agent runs as uid ${agentUid}, not root`);
      const set = boundingSet(security.capabilities, ALL_CAPABILITIES);
      args.push(`--bounding-set=${['-all', ...set.map((name) => `+${name.toLowerCase()}`)].join(',')}`, '--inh-caps=-all');
    }
    if (security.allowPrivilegeEscalation === false) args.push('--no-new-privs');
    if (args.length === 0) return { ok: true, privileges: [], readOnlyRoot: security.readOnlyRootFilesystem };
    if (!this.options.setpriv) {
      return cannot(changesIds ? 'runAsUser' : security.capabilities ? 'capabilities' : 'allowPrivilegeEscalation', 'setpriv (Debian package util-linux) is not installed');
    }
    return { ok: true, privileges: [this.options.setpriv, ...args, '--'], readOnlyRoot: security.readOnlyRootFilesystem };
  }
}
