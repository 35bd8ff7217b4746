/** Requests and limits as the kubelet reads them: strict quantities, QoS classes, cgroup values. */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import { parseBytes, parseCpuMillis } from '../../../protocol/kube/quantity.js';
import { parsePod } from '../../../edge-agent/runtime/pod-spec.js';
import { containerCgroupLimits, containerResources, cpuQuotaUs, cpuShares, cpuWeight, podCgroupLimits, podResources, qosClass } from '../../../edge-agent/runtime/resources.js';
import { makePod } from './helpers.js';

function container(resources: JsonObject): ReturnType<typeof parsePod>['containers'][number] {
  return parsePod(makePod({ containers: [{ name: 'c', image: 'x', resources }] })).containers[0] as ReturnType<typeof parsePod>['containers'][number];
}

describe('quantities', () => {
  it('parses CPU to millicores and memory to bytes, rounding up as Kubernetes does', () => {
    expect(parseCpuMillis('100m')).toBe(100);
    expect(parseCpuMillis('0.1')).toBe(100);
    expect(parseCpuMillis('2')).toBe(2000);
    expect(parseCpuMillis('1500u')).toBe(2);
    expect(parseBytes('64Mi')).toBe(64 * 2 ** 20);
    expect(parseBytes('1G')).toBe(1e9);
    expect(parseBytes('1e3')).toBe(1000);
    expect(parseBytes('0.5Ki')).toBe(512);
  });

  it('refuses what is not a quantity', () => {
    for (const bad of ['', '-1', '1 Gi', '1GB', 'Mi', '1.2.3', '0x10', 'NaN', '1e999', '9'.repeat(65)]) {
      expect(parseBytes(bad), bad).toBeUndefined();
    }
  });
});

describe('container resources', () => {
  it('defaults requests to limits, as the API server does', () => {
    expect(containerResources(container({ limits: { cpu: '500m', memory: '128Mi' } }))).toEqual({
      ok: true,
      resources: { cpuRequestMillis: 500, cpuLimitMillis: 500, memoryRequestBytes: 128 * 2 ** 20, memoryLimitBytes: 128 * 2 ** 20 },
    });
    expect(containerResources(container({ requests: { cpu: 1 } }))).toEqual({ ok: true, resources: { cpuRequestMillis: 1000 } });
  });

  it('names the field of a bad or absurd quantity and never throws', () => {
    expect(containerResources(container({ limits: { memory: '2Ei' } }))).toEqual({ ok: false, message: 'container c: resources.limits.memory: Invalid value: "2Ei": must be a quantity of at most 1Pi' });
    expect(containerResources(container({ requests: { cpu: '100000' } }))).toMatchObject({ ok: false, message: expect.stringContaining('resources.requests.cpu') });
    expect(containerResources(container({ limits: { cpu: { $ne: 1 } } as unknown as JsonObject }))).toMatchObject({ ok: false });
    expect(containerResources(container({ limits: 'lots' } as unknown as JsonObject))).toEqual({ ok: true, resources: {} });
  });
});

describe('QoS class', () => {
  it('follows GetPodQOS', () => {
    expect(qosClass([{}, {}])).toBe('BestEffort');
    expect(qosClass([{ cpuRequestMillis: 100, cpuLimitMillis: 100, memoryRequestBytes: 10, memoryLimitBytes: 10 }])).toBe('Guaranteed');
    // One container without memory limit: Burstable.
    expect(qosClass([{ cpuRequestMillis: 100, cpuLimitMillis: 100, memoryRequestBytes: 10, memoryLimitBytes: 10 }, { cpuRequestMillis: 100, cpuLimitMillis: 100 }])).toBe('Burstable');
    // Requests below limits: Burstable.
    expect(qosClass([{ cpuRequestMillis: 50, cpuLimitMillis: 100, memoryRequestBytes: 10, memoryLimitBytes: 10 }])).toBe('Burstable');
    expect(qosClass([{ cpuRequestMillis: 50 }, {}])).toBe('Burstable');
  });
});

describe('cgroup values', () => {
  it('converts like the kubelet and runc', () => {
    expect(cpuShares(undefined)).toBe(2);
    expect(cpuShares(1)).toBe(2);
    expect(cpuShares(250)).toBe(256);
    expect(cpuShares(1000)).toBe(1024);
    expect(cpuShares(10_000_000)).toBe(262_144);
    expect(cpuWeight(2)).toBe(1);
    expect(cpuWeight(1024)).toBe(39);
    expect(cpuWeight(262_144)).toBe(10_000);
    expect(cpuQuotaUs(200)).toBe(20_000);
    expect(cpuQuotaUs(1)).toBe(1000);
    expect(containerCgroupLimits({ cpuRequestMillis: 500, cpuLimitMillis: 1500, memoryLimitBytes: 1024 })).toEqual({ cpuShares: 512, cpuQuotaUs: 150_000, memoryBytes: 1024 });
  });

  it('gives the Pod cgroup a limit only when every app container has one (or the largest init container needs more)', () => {
    const pod = parsePod(
      makePod({
        initContainers: [{ name: 'init', image: 'x', resources: { limits: { memory: '300Mi' } } }],
        containers: [
          { name: 'a', image: 'x', resources: { limits: { memory: '100Mi', cpu: '1' } } },
          { name: 'b', image: 'x', resources: { limits: { memory: '100Mi' } } },
        ],
      }),
    );
    const parsed = podResources(pod);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(podCgroupLimits(pod, parsed.containers, 100)).toEqual({ cpuShares: 1024, memoryBytes: 300 * 2 ** 20, pids: 100 });
  });

  it('adds the sidecars to the Pod cgroup: to the app containers and to every init container after them (kube 1.29+)', () => {
    const mi = (n: number) => ({ limits: { memory: `${n}Mi` }, requests: { cpu: '500m' } });
    const pod = parsePod(
      makePod({
        initContainers: [
          { name: 'proxy', image: 'x', restartPolicy: 'Always', resources: mi(50) },
          { name: 'migrate', image: 'x', resources: mi(100) },
        ],
        containers: [{ name: 'a', image: 'x', resources: mi(60) }],
      }),
    );
    const parsed = podResources(pod);
    if (!parsed.ok) throw new Error(parsed.message);
    // max(app 60 + sidecar 50, init 100 + sidecar 50 started before it) = 150Mi; cpu requests 500m + 500m.
    expect(podCgroupLimits(pod, parsed.containers, undefined)).toEqual({ cpuShares: 1024, memoryBytes: 150 * 2 ** 20 });
    const unlimited = parsePod(makePod({ initContainers: [{ name: 'proxy', image: 'x', restartPolicy: 'Always' }], containers: [{ name: 'a', image: 'x', resources: mi(60) }] }));
    const parsedUnlimited = podResources(unlimited);
    if (!parsedUnlimited.ok) throw new Error(parsedUnlimited.message);
    expect(podCgroupLimits(unlimited, parsedUnlimited.containers, undefined).memoryBytes).toBeUndefined();
  });
});
