/** The effective securityContext and the kubelet's checks on it. */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import { parsePod } from '../../../edge-agent/runtime/pod-spec.js';
import { ALL_CAPABILITIES } from '../../../edge-agent/runtime/container-isolation.js';
import { DEFAULT_CAPABILITIES, boundingSet, effectiveSecurity, verifyRunAsNonRoot } from '../../../edge-agent/runtime/security-context.js';
import { makePod } from './helpers.js';

function view(podContext: JsonObject, containerContext?: JsonObject) {
  const pod = makePod({ name: 'p', uid: 'u1', containers: [{ name: 'c', image: 'x', ...(containerContext ? { securityContext: containerContext } : {}) }] });
  (pod.spec as JsonObject).securityContext = podContext;
  const parsed = parsePod(pod);
  return { pod: parsed, container: parsed.containers[0] as (typeof parsed.containers)[number] };
}

describe('effective securityContext', () => {
  it('takes the container\'s fields over the Pod\'s', () => {
    const { pod, container } = view({ runAsUser: 1, runAsGroup: 2, runAsNonRoot: true, supplementalGroups: [5] }, { runAsUser: 3, capabilities: { add: ['cap_net_admin'], drop: ['ALL'] } });
    expect(effectiveSecurity(pod, container)).toEqual({
      ok: true,
      security: { runAsUser: 3, runAsGroup: 2, runAsNonRoot: true, supplementalGroups: [5], readOnlyRootFilesystem: false, privileged: false, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } },
    });
  });

  it('refuses hostile values with the field named, without throwing', () => {
    const cases: [JsonObject, JsonObject | undefined, string][] = [
      [{ runAsUser: -1 }, undefined, 'spec.securityContext.runAsUser: Invalid value: -1'],
      [{}, { runAsGroup: 2 ** 31 }, 'container c: securityContext.runAsGroup: Invalid value: 2147483648'],
      [{ supplementalGroups: 'wheel' } as unknown as JsonObject, undefined, 'spec.securityContext.supplementalGroups'],
      [{ supplementalGroups: Array.from({ length: 65 }, () => 1) }, undefined, 'at most 64'],
      [{}, { capabilities: { add: ['NET_ADMIN; reboot'] } }, 'capabilities.add[0]'],
      [{}, { privileged: 'yes' } as unknown as JsonObject, 'securityContext.privileged'],
    ];
    for (const [podContext, containerContext, message] of cases) {
      const { pod, container } = view(podContext, containerContext);
      const result = effectiveSecurity(pod, container);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).toContain(message);
    }
  });
});

describe('runAsNonRoot', () => {
  it('uses the kubelet\'s three messages', () => {
    const { pod } = view({});
    const base = { runAsNonRoot: true, supplementalGroups: [], readOnlyRootFilesystem: false, privileged: false };
    expect(verifyRunAsNonRoot(pod, 'c', base, 0, '')).toBe('container has runAsNonRoot and image will run as root (pod: "p_default(u1)", container: c)');
    expect(verifyRunAsNonRoot(pod, 'c', base, undefined, 'nginx')).toBe('container has runAsNonRoot and image has non-numeric user (nginx), cannot verify user is non-root (pod: "p_default(u1)", container: c)');
    expect(verifyRunAsNonRoot(pod, 'c', { ...base, runAsUser: 0 }, 1000, '')).toBe('container\'s runAsUser breaks non-root policy (pod: "p_default(u1)", container: c)');
    expect(verifyRunAsNonRoot(pod, 'c', { ...base, runAsUser: 7 }, 0, '')).toBeUndefined();
    expect(verifyRunAsNonRoot(pod, 'c', base, 1000, '')).toBeUndefined();
    expect(verifyRunAsNonRoot(pod, 'c', { ...base, runAsNonRoot: false }, 0, '')).toBeUndefined();
  });
});

describe('capability bounding set', () => {
  it('follows containerd: default set, ALL, then add, then drop', () => {
    expect(boundingSet({ add: [], drop: [] }, ALL_CAPABILITIES)).toEqual(DEFAULT_CAPABILITIES);
    expect(boundingSet({ add: ['NET_BIND_SERVICE'], drop: ['ALL'] }, ALL_CAPABILITIES)).toEqual(['NET_BIND_SERVICE']);
    expect(boundingSet({ add: ['ALL'], drop: ['SYS_ADMIN'] }, ALL_CAPABILITIES)).toHaveLength(ALL_CAPABILITIES.length - 1);
    expect(boundingSet({ add: ['NET_ADMIN'], drop: ['CHOWN'] }, ALL_CAPABILITIES)).toEqual([...DEFAULT_CAPABILITIES.filter((c) => c !== 'CHOWN'), 'NET_ADMIN']);
  });
});
