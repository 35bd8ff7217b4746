/**
 * What a node may say about itself, decided by the hub as Kubernetes' NodeRestriction
 * admission plugin decides it for kubelets. A node is trusted for its own status only:
 * - labels under `kubernetes.io` / `k8s.io` only from the kubelet's own set (hostname, arch,
 *   os, zone, region, instance type, and the `kubelet.kubernetes.io` / `node.kubernetes.io`
 *   namespaces); never `node-role.kubernetes.io/*` (the hub sets `node-role.kubernetes.io/edge`)
 *   nor `node-restriction.kubernetes.io/*`, which admins use to steer workloads;
 * - the hostname label is always the node's name: a node cannot pass for another;
 * - every label, address and capacity entry must be valid as the API server validates it, and
 *   their numbers are bounded.
 * Whatever is refused is dropped, named in `dropped`, and the rest of the node registers.
 */
import { BlockList, isIP } from 'node:net';
import { dns1123SubdomainError, type NodeInfo } from '../../protocol/index.js';
import { MAX_QUANTITY, parseQuantity } from '../../protocol/kube/quantity.js';

export { parseQuantity };

export const EDGE_ROLE_LABEL = 'node-role.kubernetes.io/edge';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';
export const ARCH_LABEL = 'kubernetes.io/arch';
export const OS_LABEL = 'kubernetes.io/os';

/** k8s.io/kubernetes pkg/kubelet/apis: the labels a kubelet may set on its own Node. */
const KUBELET_LABELS = new Set([
  HOSTNAME_LABEL,
  ARCH_LABEL,
  OS_LABEL,
  'beta.kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
]);
/** Label namespaces (and their subdomains) a kubelet may use freely. */
const KUBELET_LABEL_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io'];

export const MAX_LABELS = 64;
export const MAX_ADDRESSES = 16;
export const MAX_RESOURCES = 32;
const ADDRESS_TYPES = new Set(['Hostname', 'InternalIP', 'ExternalIP', 'InternalDNS', 'ExternalDNS']);
/**
 * IPs no node may claim: the API server, monitoring and `kubectl logs/exec` proxies connect to
 * node addresses, so these would point them at the control plane's own host or a cloud
 * metadata service (as kube-apiserver itself refuses for its proxy).
 */
const FORBIDDEN_IPS = new BlockList();
FORBIDDEN_IPS.addSubnet('0.0.0.0', 8, 'ipv4');
FORBIDDEN_IPS.addSubnet('127.0.0.0', 8, 'ipv4');
FORBIDDEN_IPS.addSubnet('169.254.0.0', 16, 'ipv4');
FORBIDDEN_IPS.addSubnet('224.0.0.0', 4, 'ipv4');
FORBIDDEN_IPS.addSubnet('240.0.0.0', 4, 'ipv4');
FORBIDDEN_IPS.addAddress('::', 'ipv6');
FORBIDDEN_IPS.addAddress('::1', 'ipv6');
FORBIDDEN_IPS.addSubnet('fe80::', 10, 'ipv6');
FORBIDDEN_IPS.addSubnet('ff00::', 8, 'ipv6');
// (BlockList applies the IPv4 rules to IPv4-mapped IPv6 addresses too: ::ffff:127.0.0.1 is loopback.)

export interface NodeAddress {
  type: string;
  address: string;
}

export interface NodeTaint {
  key: string;
  value?: string;
  effect: string;
}

export const MAX_TAINTS = 32;
const TAINT_EFFECTS = new Set(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);

export interface NodeSelfReport {
  /** Labels for a Node the hub creates (hostname, arch, os and the edge role included). */
  labels: Record<string, string>;
  addresses: NodeAddress[];
  capacity: Record<string, string>;
  allocatable: Record<string, string>;
  /** Taints for a Node the hub creates (the node's --register-with-taints). */
  taints: NodeTaint[];
  /** What was refused, one readable line each. */
  dropped: string[];
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Why `key` is not a valid label key (a qualified name), or undefined. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && dns1123SubdomainError(prefix)) return 'invalid key: its prefix must be a DNS subdomain';
  if (name.length === 0 || name.length > 63) return 'invalid key: its name must be 1 to 63 characters';
  if (!LABEL_NAME.test(name)) return 'invalid key: alphanumerics, "-", "_" or "." only';
  return undefined;
}

/** Why `value` is not a valid label value, or undefined. */
export function labelValueError(value: string): string | undefined {
  if (value.length > 63) return 'invalid value: over 63 characters';
  if (value.length > 0 && !LABEL_NAME.test(value)) return 'invalid value: alphanumerics, "-", "_" or "." only';
  return undefined;
}

function labelNamespace(key: string): string {
  const slash = key.indexOf('/');
  return slash >= 0 ? key.slice(0, slash) : '';
}

const inDomain = (namespace: string, domain: string): boolean => namespace === domain || namespace.endsWith(`.${domain}`);

/** Why a node may not set label `key` on itself (NodeRestriction), or undefined. */
export function forbiddenLabelReason(key: string): string | undefined {
  const namespace = labelNamespace(key);
  if (inDomain(namespace, 'node-restriction.kubernetes.io')) return 'reserved for the cluster admin';
  if (inDomain(namespace, 'node-role.kubernetes.io')) return 'node roles are set by the cluster admin';
  const kubernetes = inDomain(namespace, 'kubernetes.io') || inDomain(namespace, 'k8s.io');
  if (kubernetes && !KUBELET_LABELS.has(key) && !KUBELET_LABEL_NAMESPACES.some((allowed) => inDomain(namespace, allowed))) {
    return 'not a label a kubelet may set';
  }
  return undefined;
}

/** Why `name` is not a resource name Kubernetes accepts in capacity, or undefined. */
function resourceNameError(name: string): string | undefined {
  const why = labelKeyError(name);
  if (why) return why;
  if (name.startsWith('requests.') || name.startsWith('limits.')) return 'quota prefixes are not resources';
  return undefined;
}

function sanitizeResources(what: 'capacity' | 'allocatable', resources: Record<string, string>, dropped: string[], ceiling?: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  let count = 0;
  for (const [name, value] of Object.entries(resources)) {
    const nameError = resourceNameError(name);
    const quantity = parseQuantity(value);
    let why: string | undefined;
    if (nameError) why = 'invalid resource name';
    else if (quantity === undefined) why = 'not a non-negative quantity';
    else if (quantity > MAX_QUANTITY) why = 'too large';
    else if (count >= MAX_RESOURCES) why = `more than ${MAX_RESOURCES} resources`;
    else if (ceiling) {
      const limit = ceiling[name] === undefined ? undefined : parseQuantity(ceiling[name]);
      if (limit === undefined) why = 'not in capacity';
      else if (quantity > limit) why = `more than capacity (${ceiling[name]})`;
    }
    if (why) {
      // Allocatable never exceeds capacity: an invalid or larger value falls back to capacity's.
      const fallback = ceiling?.[name] !== undefined && kept[name] === undefined && count < MAX_RESOURCES && !nameError ? ceiling[name] : undefined;
      dropped.push(`${what} ${name.slice(0, 128)}: ${why}${fallback === undefined ? '' : '; using capacity'}`);
      if (fallback === undefined) continue;
      kept[name] = fallback;
      count += 1;
      continue;
    }
    kept[name] = value;
    count += 1;
  }
  return kept;
}

function addressError(address: NodeAddress): string | undefined {
  if (!ADDRESS_TYPES.has(address.type)) return 'unknown address type';
  if (address.type.endsWith('IP')) {
    const family = isIP(address.address);
    if (family === 0) return 'not an IP address';
    if (FORBIDDEN_IPS.check(address.address, family === 4 ? 'ipv4' : 'ipv6')) return 'loopback, link-local, multicast or unspecified';
    return undefined;
  }
  const why = dns1123SubdomainError(address.address);
  return why ? 'not a DNS name' : undefined;
}

function sanitizeAddresses(node: string, info: NodeInfo, dropped: string[]): NodeAddress[] {
  const kept: NodeAddress[] = [];
  const seen = new Set<string>();
  for (const reported of info.addresses ?? []) {
    // Hostnames are case-insensitive; Kubernetes wants them lower-case.
    const address = { type: reported.type, address: reported.type.endsWith('IP') ? reported.address : reported.address.toLowerCase() };
    const id = `${address.type} ${address.address}`;
    if (seen.has(id)) continue;
    const why = addressError(address) ?? (kept.length >= MAX_ADDRESSES ? `more than ${MAX_ADDRESSES} addresses` : undefined);
    if (why) {
      dropped.push(`address ${address.type.slice(0, 32)} ${address.address.slice(0, 64)}: ${why}`);
      continue;
    }
    seen.add(id);
    kept.push(address);
  }
  if (kept.length === 0) {
    const hostname = info.hostname?.toLowerCase();
    kept.push({ type: 'Hostname', address: hostname && !dns1123SubdomainError(hostname) ? hostname : node });
  }
  return kept;
}

function sanitizeLabels(node: string, info: NodeInfo, dropped: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  let count = 0;
  for (const [key, value] of Object.entries(info.labels)) {
    const why =
      labelKeyError(key) ??
      labelValueError(value) ??
      forbiddenLabelReason(key) ??
      (key === HOSTNAME_LABEL && value !== node ? 'must be the node name' : undefined) ??
      (count >= MAX_LABELS ? `more than ${MAX_LABELS} labels` : undefined);
    if (why) {
      dropped.push(`label ${key.slice(0, 128)}=${value.slice(0, 32)}: ${why}`);
      continue;
    }
    labels[key] = value;
    count += 1;
  }
  for (const [key, value] of [
    [ARCH_LABEL, info.arch],
    [OS_LABEL, info.os],
  ] as const) {
    const why = labelValueError(value);
    if (why) dropped.push(`label ${key}=${value.slice(0, 32)}: ${why}`);
    else labels[key] = value;
  }
  labels[HOSTNAME_LABEL] = node;
  labels[EDGE_ROLE_LABEL] = '';
  return labels;
}

/**
 * Taints a node registers with. NodeRestriction lets a kubelet set any valid taint on the Node
 * it creates, and none later: the hub applies them only when it creates the Node, like labels.
 * Invalid ones (kube's taint validation: a qualified key, a label value, a known effect) and
 * duplicates of a key and effect are dropped.
 */
function sanitizeTaints(info: NodeInfo, dropped: string[]): NodeTaint[] {
  const kept: NodeTaint[] = [];
  for (const taint of info.taints ?? []) {
    const value = taint.value ?? '';
    const why =
      labelKeyError(taint.key) ??
      labelValueError(value) ??
      (TAINT_EFFECTS.has(taint.effect) ? undefined : 'effect must be NoSchedule, PreferNoSchedule or NoExecute') ??
      (kept.some((other) => other.key === taint.key && other.effect === taint.effect) ? 'the same key and effect twice' : undefined) ??
      (kept.length >= MAX_TAINTS ? `more than ${MAX_TAINTS} taints` : undefined);
    if (why) {
      dropped.push(`taint ${taint.key.slice(0, 128)}=${value.slice(0, 32)}:${taint.effect.slice(0, 32)}: ${why}`);
      continue;
    }
    kept.push({ key: taint.key, ...(value ? { value } : {}), effect: taint.effect });
  }
  return kept;
}

/** What the hub writes for `node` from what it said about itself in `hello`. */
export function sanitizeNodeInfo(node: string, info: NodeInfo): NodeSelfReport {
  const dropped: string[] = [];
  const labels = sanitizeLabels(node, info, dropped);
  const addresses = sanitizeAddresses(node, info, dropped);
  const capacity = sanitizeResources('capacity', info.capacity, dropped);
  const allocatable = info.allocatable ? sanitizeResources('allocatable', info.allocatable, dropped, capacity) : { ...capacity };
  const taints = sanitizeTaints(info, dropped);
  return { labels, addresses, capacity, allocatable, taints, dropped };
}
