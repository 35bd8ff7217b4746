/**
 * The kubelet's stats API from the runtimes' usage (runtime-streams.ts) and the node's
 * (/proc): `GET /stats/summary` (stats/v1alpha1 Summary: node and pods, CPU as cumulative
 * core-nanoseconds plus the rate in nanocores, memory working set / usage / RSS, per container)
 * and `GET /metrics/resource` (the kubelet's resource metrics in the Prometheus text format,
 * with sample timestamps: what metrics-server scrapes).
 *
 * usageNanoCores is a rate: it compares with the previous sample of the same container (and of
 * the node). The first request samples twice, a short interval apart, so it has one too.
 */
import os from 'node:os';
import { nodeUsage, type NodeUsage } from '../runtime/proc-usage.js';
import type { PodUsage, RuntimeStreams } from '../runtime/runtime-streams.js';

/** The interval of the first request's second sample. */
const FIRST_SAMPLE_GAP_MS = 200;
/** Samples older than this are not used for a rate. */
const MAX_RATE_AGE_MS = 10 * 60_000;

interface Sample {
  at: number;
  pods: PodUsage[];
  node: NodeUsage;
}

function rate(cpuNs: number, previousNs: number | undefined, elapsedMs: number): number {
  if (previousNs === undefined || elapsedMs <= 0 || cpuNs < previousNs) return 0;
  return Math.round(((cpuNs - previousNs) / (elapsedMs * 1e6)) * 1e9);
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

function labelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export class KubeletStats {
  private previous: Sample | undefined;

  constructor(
    private readonly streams: RuntimeStreams,
    private readonly nodeName: string,
    private readonly now: () => number = Date.now,
  ) {}

  private async sample(): Promise<Sample> {
    return { pods: await this.streams.stats(), node: nodeUsage(), at: this.now() };
  }

  /** A sample and the one to take rates against. */
  private async samples(): Promise<{ current: Sample; before: Sample }> {
    let before = this.previous;
    if (!before || this.now() - before.at > MAX_RATE_AGE_MS) {
      before = await this.sample();
      await new Promise((resolve) => setTimeout(resolve, FIRST_SAMPLE_GAP_MS));
    }
    const current = await this.sample();
    this.previous = current;
    return { current, before };
  }

  async summary(): Promise<Record<string, unknown>> {
    const { current, before } = await this.samples();
    const elapsed = current.at - before.at;
    const time = rfc3339(current.at);
    const earlier = new Map(before.pods.flatMap((pod) => pod.containers.map((c) => [`${pod.uid}/${c.name}`, c.cpuUsageCoreNanoSeconds] as const)));
    const earlierPods = new Map(before.pods.map((pod) => [pod.uid, pod.containers.reduce((sum, c) => sum + c.cpuUsageCoreNanoSeconds, 0)]));
    const node = current.node;
    return {
      node: {
        nodeName: this.nodeName,
        startTime: rfc3339(current.at - os.uptime() * 1000),
        cpu: { time, usageNanoCores: rate(node.cpuNs, before.node.cpuNs, elapsed), usageCoreNanoSeconds: Math.round(node.cpuNs) },
        memory: { time, availableBytes: node.availableBytes, usageBytes: node.memoryUsageBytes, workingSetBytes: node.memoryWorkingSetBytes, rssBytes: node.memoryWorkingSetBytes, pageFaults: 0, majorPageFaults: 0 },
      },
      pods: current.pods.map((pod) => {
        const containers = pod.containers.map((c) => ({
          name: c.name,
          startTime: rfc3339(c.startTime),
          cpu: { time, usageNanoCores: rate(c.cpuUsageCoreNanoSeconds, earlier.get(`${pod.uid}/${c.name}`), elapsed), usageCoreNanoSeconds: Math.round(c.cpuUsageCoreNanoSeconds) },
          memory: { time, usageBytes: c.memoryUsageBytes, workingSetBytes: c.memoryWorkingSetBytes, rssBytes: c.memoryRssBytes, pageFaults: 0, majorPageFaults: 0 },
        }));
        const cpuNs = pod.containers.reduce((sum, c) => sum + c.cpuUsageCoreNanoSeconds, 0);
        const sum = (field: 'memoryUsageBytes' | 'memoryWorkingSetBytes' | 'memoryRssBytes') => pod.containers.reduce((total, c) => total + c[field], 0);
        return {
          podRef: { name: pod.name, namespace: pod.namespace, uid: pod.uid },
          startTime: rfc3339(pod.startTime),
          containers,
          cpu: { time, usageNanoCores: rate(cpuNs, earlierPods.get(pod.uid), elapsed), usageCoreNanoSeconds: Math.round(cpuNs) },
          memory: { time, usageBytes: sum('memoryUsageBytes'), workingSetBytes: sum('memoryWorkingSetBytes'), rssBytes: sum('memoryRssBytes'), pageFaults: 0, majorPageFaults: 0 },
        };
      }),
    };
  }

  /** The kubelet's /metrics/resource. */
  async resourceMetrics(): Promise<string> {
    let pods: PodUsage[] = [];
    let scrapeError = 0;
    try {
      pods = await this.streams.stats();
    } catch {
      scrapeError = 1;
    }
    const node = nodeUsage();
    const at = this.now();
    const lines: string[] = [];
    const family = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Record<string, string>, number]>): void => {
      lines.push(`# HELP ${name} [STABLE] ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) {
        const rendered = Object.entries(labels)
          .map(([key, val]) => `${key}="${labelValue(val)}"`)
          .join(',');
        lines.push(`${name}${rendered ? `{${rendered}}` : ''} ${value} ${at}`);
      }
    };
    const containers = pods.flatMap((pod) => pod.containers.map((c) => ({ pod, c, labels: { container: c.name, namespace: pod.namespace, pod: pod.name } })));
    family('container_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed by the container in core-seconds', containers.map(({ c, labels }) => [labels, c.cpuUsageCoreNanoSeconds / 1e9]));
    family('container_memory_working_set_bytes', 'gauge', 'Current working set of the container in bytes', containers.map(({ c, labels }) => [labels, c.memoryWorkingSetBytes]));
    family('container_start_time_seconds', 'gauge', 'Start time of the container since unix epoch in seconds', containers.map(({ c, labels }) => [labels, c.startTime / 1000]));
    family('node_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed by the node in core-seconds', [[{}, node.cpuNs / 1e9]]);
    family('node_memory_working_set_bytes', 'gauge', 'Current working set of the node in bytes', [[{}, node.memoryWorkingSetBytes]]);
    const podLabels = (pod: PodUsage) => ({ namespace: pod.namespace, pod: pod.name });
    family('pod_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed by the pod in core-seconds', pods.map((pod) => [podLabels(pod), pod.containers.reduce((s, c) => s + c.cpuUsageCoreNanoSeconds, 0) / 1e9]));
    family('pod_memory_working_set_bytes', 'gauge', 'Current working set of the pod in bytes', pods.map((pod) => [podLabels(pod), pod.containers.reduce((s, c) => s + c.memoryWorkingSetBytes, 0)]));
    lines.push('# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise', '# TYPE resource_scrape_error gauge', `resource_scrape_error ${scrapeError}`);
    return `${lines.join('\n')}\n`;
  }
}
