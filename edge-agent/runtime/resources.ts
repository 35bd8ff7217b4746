/**
 * A Pod's resource requests and limits, read strictly (the Pod came from the network): CPU in
 * millicores, memory in bytes, through the one quantity parser (protocol/kube/quantity.ts). A
 * value that is not a quantity, or an absurd one, is an error naming the field, never an
 * exception and never "unlimited". Then what Kubernetes derives from them: the QoS class
 * (GetPodQOS), and the cgroup values the kubelet would write (cpu shares and weight from the
 * request, CFS quota from the limit with a 100 ms period, the Pod's totals).
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../protocol/index.js';
import { parseBytes, parseCpuMillis } from '../../protocol/kube/quantity.js';
import { isSidecar } from './sidecars.js';
import type { ContainerSpec, PodView } from './pod-spec.js';

/** 4096 cores: more is not a real request. */
export const MAX_CPU_MILLIS = 4096 * 1000;
/** 1 PiB of memory. */
export const MAX_MEMORY_BYTES = 2 ** 50;
/** The CFS period the kubelet uses (100 ms). */
export const CPU_PERIOD_US = 100_000;
const MIN_QUOTA_US = 1000;
const MIN_SHARES = 2;
const MAX_SHARES = 262_144;

export interface ContainerResources {
  cpuRequestMillis?: number;
  cpuLimitMillis?: number;
  memoryRequestBytes?: number;
  memoryLimitBytes?: number;
}

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

export type ResourcesResult = { ok: true; resources: ContainerResources } | { ok: false; message: string };

function section(raw: JsonObject, name: 'requests' | 'limits'): JsonObject {
  const resources = raw.resources;
  if (!isJsonObject(resources)) return {};
  const part = resources[name];
  return isJsonObject(part) ? part : {};
}

function quantity(value: JsonValue | undefined, parse: (text: string) => number | undefined, max: number): number | undefined | 'bad' {
  if (value === undefined) return undefined;
  // JSON numbers are how some clients write small quantities ("cpu: 1"); the API server serialises strings.
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : typeof value === 'string' ? value : undefined;
  if (text === undefined) return 'bad';
  const parsed = parse(text);
  if (parsed === undefined || parsed > max) return 'bad';
  return parsed;
}

/** The container's cpu and memory requests and limits; a request left out defaults to the limit, as the API server does. */
export function containerResources(container: ContainerSpec, field = 'resources'): ResourcesResult {
  const out: ContainerResources = {};
  const read = (name: 'requests' | 'limits', resource: 'cpu' | 'memory'): number | undefined | string => {
    const raw = section(container.raw, name)[resource];
    const value = resource === 'cpu' ? quantity(raw, parseCpuMillis, MAX_CPU_MILLIS) : quantity(raw, parseBytes, MAX_MEMORY_BYTES);
    if (value !== 'bad') return value;
    const shown = typeof raw === 'string' ? raw.slice(0, 64) : JSON.stringify(raw)?.slice(0, 64);
    const max = resource === 'cpu' ? `${MAX_CPU_MILLIS / 1000} cores` : '1Pi';
    return `${field}.${name}.${resource}: Invalid value: "${shown}": must be a quantity of at most ${max}`;
  };
  for (const [key, name, resource] of [
    ['cpuRequestMillis', 'requests', 'cpu'],
    ['cpuLimitMillis', 'limits', 'cpu'],
    ['memoryRequestBytes', 'requests', 'memory'],
    ['memoryLimitBytes', 'limits', 'memory'],
  ] as const) {
    const value = read(name, resource);
    if (typeof value === 'string') return { ok: false, message: `container ${container.name}: ${value}` };
    if (value !== undefined) out[key] = value;
  }
  if (out.cpuRequestMillis === undefined && out.cpuLimitMillis !== undefined) out.cpuRequestMillis = out.cpuLimitMillis;
  if (out.memoryRequestBytes === undefined && out.memoryLimitBytes !== undefined) out.memoryRequestBytes = out.memoryLimitBytes;
  return { ok: true, resources: out };
}

/** Every container's resources (init containers included), or the first error. */
export function podResources(pod: PodView): { ok: true; containers: Map<string, ContainerResources> } | { ok: false; message: string } {
  const containers = new Map<string, ContainerResources>();
  for (const container of [...pod.initContainers, ...pod.containers]) {
    const result = containerResources(container);
    if (!result.ok) return result;
    containers.set(container.name, result.resources);
  }
  return { ok: true, containers };
}

/** Kubernetes' QoS class (pkg/apis/core/helper/qos GetPodQOS) over cpu and memory; zero quantities count as unset. */
export function qosClass(containers: Iterable<ContainerResources>): QosClass {
  let requests = 0;
  let limits = 0;
  let guaranteed = true;
  for (const resources of containers) {
    const pairs: [number | undefined, number | undefined][] = [
      [resources.cpuRequestMillis, resources.cpuLimitMillis],
      [resources.memoryRequestBytes, resources.memoryLimitBytes],
    ];
    for (const [request, limit] of pairs) {
      if (request) requests++;
      if (limit) limits++;
      if (!limit) guaranteed = false;
      else if (request && request !== limit) guaranteed = false;
    }
  }
  if (requests === 0 && limits === 0) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** The QoS class of a Pod whose resources may not parse: a Pod with invalid quantities is reported Burstable (it asked for something). */
export function podQosClass(pod: PodView): QosClass {
  const parsed = podResources(pod);
  return parsed.ok ? qosClass(parsed.containers.values()) : 'Burstable';
}

/** cgroup v1 cpu.shares for a CPU request (the kubelet's MilliCPUToShares). */
export function cpuShares(requestMillis: number | undefined): number {
  if (!requestMillis) return MIN_SHARES;
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, Math.floor((requestMillis * 1024) / 1000)));
}

/** cgroup v2 cpu.weight for those shares (the runc/kubelet conversion). */
export function cpuWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262_142);
}

/** CFS quota in µs per CPU_PERIOD_US for a CPU limit (the kubelet's MilliCPUToQuota). */
export function cpuQuotaUs(limitMillis: number): number {
  return Math.max(MIN_QUOTA_US, Math.floor((limitMillis * CPU_PERIOD_US) / 1000));
}

/** What one cgroup (a container's or a Pod's) gets. */
export interface CgroupLimits {
  memoryBytes?: number;
  cpuQuotaUs?: number;
  cpuShares?: number;
  pids?: number;
}

export function containerCgroupLimits(resources: ContainerResources): CgroupLimits {
  const limits: CgroupLimits = { cpuShares: cpuShares(resources.cpuRequestMillis) };
  if (resources.memoryLimitBytes) limits.memoryBytes = resources.memoryLimitBytes;
  if (resources.cpuLimitMillis) limits.cpuQuotaUs = cpuQuotaUs(resources.cpuLimitMillis);
  return limits;
}

/**
 * The Pod cgroup's limits, as the kubelet's pod-level cgroup: a memory or CPU limit only when
 * every app container and sidecar has one (the sum, or the largest init container's plus the
 * sidecars started before it if that is more), cpu shares from the summed requests (sidecars
 * included), and the per-Pod pids limit.
 */
export function podCgroupLimits(pod: PodView, containers: Map<string, ContainerResources>, podMaxPids: number | undefined): CgroupLimits {
  const total = (pick: (r: ContainerResources) => number | undefined): number | undefined => {
    let sum = 0;
    for (const container of pod.containers) {
      const value = pick(containers.get(container.name) ?? {});
      if (!value) return undefined;
      sum += value;
    }
    let init = 0;
    let sidecars = 0; // kube's sidecar rule: sidecars add to the app containers' sum, and to every later init container's
    for (const container of pod.initContainers) {
      const value = pick(containers.get(container.name) ?? {});
      if (!isSidecar(container)) init = Math.max(init, (value ?? 0) + sidecars);
      else if (!value) return undefined;
      else sidecars += value;
    }
    return Math.max(sum + sidecars, init);
  };
  let requested = 0;
  for (const container of [...pod.initContainers.filter(isSidecar), ...pod.containers]) requested += containers.get(container.name)?.cpuRequestMillis ?? 0;
  const limits: CgroupLimits = { cpuShares: cpuShares(requested) };
  const memory = total((r) => r.memoryLimitBytes);
  const cpu = total((r) => r.cpuLimitMillis);
  if (memory) limits.memoryBytes = memory;
  if (cpu) limits.cpuQuotaUs = cpuQuotaUs(cpu);
  if (podMaxPids !== undefined && podMaxPids > 0) limits.pids = podMaxPids;
  return limits;
}

/** Whether any container asks for a limit the runtime must enforce (memory or CPU). */
export function hasLimits(containers: Iterable<ContainerResources>): boolean {
  for (const resources of containers) if (resources.memoryLimitBytes || resources.cpuLimitMillis) return true;
  return false;
}
