/**
 * A container's effective securityContext (the Pod's, with the container's fields winning, as
 * the kubelet's DetermineEffectiveSecurityContext), read strictly: ids are integers in
 * 0..2147483647, capability names upper-case letters, digits and '_' (an optional `CAP_` prefix
 * dropped), lists bounded. Bad input is an error naming the field, never an exception.
 *
 * Also the checks the kubelet makes before creating a container, with its messages:
 * runAsNonRoot (verifyRunAsNonRoot) and privileged containers on a node that does not allow them.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../protocol/index.js';
import type { ContainerSpec, PodView } from './pod-spec.js';

const MAX_ID = 2 ** 31 - 1;
const MAX_LIST = 64;
const CAPABILITY = /^[A-Z][A-Z0-9_]{0,63}$/;

/** The capabilities a container gets by default (containerd's and Docker's default set). */
export const DEFAULT_CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID',
  'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

export interface EffectiveSecurity {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot: boolean;
  supplementalGroups: number[];
  readOnlyRootFilesystem: boolean;
  /** Undefined when the Pod says nothing about capabilities. */
  capabilities?: { add: string[]; drop: string[] };
  /** Undefined when unset (Kubernetes' default: escalation allowed). */
  allowPrivilegeEscalation?: boolean;
  privileged: boolean;
}

export type SecurityResult = { ok: true; security: EffectiveSecurity } | { ok: false; message: string };

class FieldError extends Error {}

function id(value: JsonValue | undefined, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_ID) {
    throw new FieldError(`${field}: Invalid value: ${JSON.stringify(value)?.slice(0, 32)}: must be between 0 and ${MAX_ID}, inclusive`);
  }
  return value;
}

function bool(value: JsonValue | undefined, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new FieldError(`${field}: Invalid value: must be true or false`);
  return value;
}

function capabilities(value: JsonValue | undefined, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > MAX_LIST) throw new FieldError(`${field}: Invalid value: must be a list of at most ${MAX_LIST} capabilities`);
  return value.map((item, index) => {
    const name = typeof item === 'string' ? item.toUpperCase().replace(/^CAP_/, '') : '';
    if (name !== 'ALL' && !CAPABILITY.test(name)) throw new FieldError(`${field}[${index}]: Invalid value: ${JSON.stringify(item)?.slice(0, 64)}: not a capability name`);
    return name;
  });
}

/** The effective security settings of `container` in `pod`. */
export function effectiveSecurity(pod: PodView, container: ContainerSpec): SecurityResult {
  const podContext = pod.securityContext;
  const raw = container.raw.securityContext;
  const own: JsonObject = isJsonObject(raw) ? raw : {};
  const field = `container ${container.name}: securityContext`;
  try {
    const pick = (name: string) => (own[name] !== undefined && own[name] !== null ? { value: own[name], where: field } : { value: podContext[name], where: 'spec.securityContext' });
    const user = pick('runAsUser');
    const group = pick('runAsGroup');
    const nonRoot = pick('runAsNonRoot');
    const groupsRaw = podContext.supplementalGroups;
    if (groupsRaw !== undefined && groupsRaw !== null && (!Array.isArray(groupsRaw) || groupsRaw.length > MAX_LIST)) {
      throw new FieldError(`spec.securityContext.supplementalGroups: Invalid value: must be a list of at most ${MAX_LIST} group ids`);
    }
    const supplementalGroups = (Array.isArray(groupsRaw) ? groupsRaw : []).map((item, index) => id(item, `spec.securityContext.supplementalGroups[${index}]`) as number);
    const security: EffectiveSecurity = {
      runAsNonRoot: bool(nonRoot.value, `${nonRoot.where}.runAsNonRoot`) ?? false,
      supplementalGroups,
      readOnlyRootFilesystem: bool(own.readOnlyRootFilesystem, `${field}.readOnlyRootFilesystem`) ?? false,
      privileged: bool(own.privileged, `${field}.privileged`) ?? false,
    };
    const uid = id(user.value, `${user.where}.runAsUser`);
    const gid = id(group.value, `${group.where}.runAsGroup`);
    if (uid !== undefined) security.runAsUser = uid;
    if (gid !== undefined) security.runAsGroup = gid;
    const escalation = bool(own.allowPrivilegeEscalation, `${field}.allowPrivilegeEscalation`);
    if (escalation !== undefined) security.allowPrivilegeEscalation = escalation;
    if (own.capabilities !== undefined && own.capabilities !== null) {
      if (!isJsonObject(own.capabilities)) throw new FieldError(`${field}.capabilities: Invalid value: must be an object`);
      security.capabilities = {
        add: capabilities(own.capabilities.add, `${field}.capabilities.add`),
        drop: capabilities(own.capabilities.drop, `${field}.capabilities.drop`),
      };
    }
    return { ok: true, security };
  } catch (err) {
    if (err instanceof FieldError) return { ok: false, message: err.message };
    throw err;
  }
}

/** The kubelet's `format.Pod`: name_namespace(uid). */
export function formatPod(pod: PodView): string {
  return `${pod.name}_${pod.namespace}(${pod.uid})`;
}

/**
 * The kubelet's verifyRunAsNonRoot. `imageUid`/`imageUser`: who the image runs as when no
 * runAsUser is given (CRI: ImageStatus; process runtime: the agent's own uid).
 */
export function verifyRunAsNonRoot(pod: PodView, container: string, security: EffectiveSecurity, imageUid: number | undefined, imageUser: string): string | undefined {
  if (!security.runAsNonRoot) return undefined;
  const who = `(pod: "${formatPod(pod)}", container: ${container})`;
  if (security.runAsUser !== undefined) return security.runAsUser === 0 ? `container's runAsUser breaks non-root policy ${who}` : undefined;
  if (imageUid === 0) return `container has runAsNonRoot and image will run as root ${who}`;
  if (imageUid === undefined && imageUser !== '') return `container has runAsNonRoot and image has non-numeric user (${imageUser.slice(0, 64)}), cannot verify user is non-root ${who}`;
  return undefined;
}

/** The kubelet's refusal of a privileged container on a node started without --allow-privileged. */
export function privilegedRefusal(pod: PodView, init: boolean): string {
  return `pod with UID "${pod.uid}" specified privileged ${init ? 'init ' : ''}container, but is disallowed`;
}

/** The capability bounding set for `capabilities` (containerd's WithCapabilities: the default set, or every capability with add ALL, or none with drop ALL; then add, then drop). */
export function boundingSet(capabilities: { add: string[]; drop: string[] }, all: readonly string[]): string[] {
  let set = new Set(DEFAULT_CAPABILITIES);
  if (capabilities.add.includes('ALL')) set = new Set(all);
  if (capabilities.drop.includes('ALL')) set.clear();
  for (const name of capabilities.add) if (name !== 'ALL') set.add(name);
  for (const name of capabilities.drop) set.delete(name);
  return [...set];
}
