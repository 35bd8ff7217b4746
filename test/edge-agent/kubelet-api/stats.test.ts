/** /stats/summary and /metrics/resource from real process-runtime containers: a busy loop moves the numbers, an idle one does not. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait.js';
import { makePod, sh } from '../runtime/helpers.js';
import { KubeletHarness, get } from './helpers.js';

let h: KubeletHarness;

beforeAll(async () => {
  h = await new KubeletHarness().start();
  await h.run(makePod({ name: 'load', containers: [sh('busy', 'while :; do :; done'), sh('idle', 'exec sleep 600')] }), 'busy');
  await h.runtime.waitRunning('Pod/default/load', 'idle');
});

afterAll(async () => {
  await h?.stop();
});

interface CpuStats {
  usageNanoCores: number;
  usageCoreNanoSeconds: number;
}
interface ContainerStats {
  name: string;
  cpu: CpuStats;
  memory: { workingSetBytes: number; rssBytes: number };
}
interface Summary {
  node: { nodeName: string; cpu: CpuStats; memory: { workingSetBytes: number } };
  pods: Array<{ podRef: { name: string; namespace: string; uid: string }; cpu: CpuStats; containers: ContainerStats[] }>;
}

async function summary(): Promise<Summary> {
  const answer = await get(`${h.url}/stats/summary`);
  expect(answer.status).toBe(200);
  return JSON.parse(answer.body) as Summary;
}

function metric(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}${labels} `) || (labels === '' && candidate.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('stats', () => {
  it('/stats/summary: the busy container uses CPU and its cumulative time grows; the idle one stays near zero', async () => {
    const first = await summary();
    expect(first.node.nodeName).toBe('edge-test');
    expect(first.node.memory.workingSetBytes).toBeGreaterThan(0);
    const pod = first.pods.find((candidate) => candidate.podRef.name === 'load')!;
    expect(pod.podRef.namespace).toBe('default');
    const busy = pod.containers.find((c) => c.name === 'busy')!;
    const idle = pod.containers.find((c) => c.name === 'idle')!;
    // A shell spinning: at least a tenth of a core even on a loaded two-core machine (lower bound only).
    expect(busy.cpu.usageNanoCores).toBeGreaterThan(100_000_000);
    expect(busy.memory.workingSetBytes).toBeGreaterThan(0);
    expect(idle.cpu.usageNanoCores).toBeLessThan(busy.cpu.usageNanoCores);
    const later = await waitFor(async () => {
      const next = await summary();
      const again = next.pods.find((candidate) => candidate.podRef.name === 'load')!.containers.find((c) => c.name === 'busy')!;
      return again.cpu.usageCoreNanoSeconds > busy.cpu.usageCoreNanoSeconds ? again : undefined;
    }, { what: 'the busy container\'s CPU time to grow' });
    expect(later.cpu.usageCoreNanoSeconds).toBeGreaterThan(busy.cpu.usageCoreNanoSeconds);
    expect(pod.cpu.usageCoreNanoSeconds).toBeGreaterThanOrEqual(busy.cpu.usageCoreNanoSeconds);
  });

  it('/metrics/resource: the kubelet\'s resource metrics, counters that grow with the busy loop', async () => {
    const labels = '{container="busy",namespace="default",pod="load"}';
    const first = await get(`${h.url}/metrics/resource`);
    expect(first.status).toBe(200);
    for (const name of ['container_cpu_usage_seconds_total', 'container_memory_working_set_bytes', 'container_start_time_seconds', 'node_cpu_usage_seconds_total', 'node_memory_working_set_bytes', 'pod_cpu_usage_seconds_total', 'pod_memory_working_set_bytes', 'resource_scrape_error']) {
      expect(first.body).toContain(`# TYPE ${name} `);
    }
    expect(metric(first.body, 'resource_scrape_error')).toBe(0);
    // Samples carry a timestamp (ms), as the kubelet's do: metrics-server reads it.
    expect(first.body).toMatch(/^container_cpu_usage_seconds_total\{container="busy",namespace="default",pod="load"\} [\d.e+-]+ \d{13}$/m);
    const cpu = metric(first.body, 'container_cpu_usage_seconds_total', labels)!;
    expect(cpu).toBeGreaterThan(0);
    expect(metric(first.body, 'container_start_time_seconds', labels)).toBeGreaterThan(1.7e9);
    expect(metric(first.body, 'pod_cpu_usage_seconds_total', '{namespace="default",pod="load"}')).toBeGreaterThanOrEqual(cpu);
    await waitFor(async () => metric((await get(`${h.url}/metrics/resource`)).body, 'container_cpu_usage_seconds_total', labels)! > cpu, { what: 'the counter to grow' });
  });
});
