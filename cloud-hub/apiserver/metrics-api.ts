/**
 * `metrics.k8s.io/v1beta1` (what `kubectl top` reads), computed on demand the way
 * metrics-server computes it: each node's kubelet `/metrics/resource` (through the kubelet
 * endpoint, pod-streams.ts' connector) is scraped, and CPU usage is the rate between two
 * samples of the cumulative counters; memory is the working set. Samples are kept per node and
 * a result younger than `ttlMs` is reused; a node without a recent earlier sample is scraped
 * twice, `pairGapMs` apart. A node that does not answer within `timeoutMs` is left out, as
 * metrics-server leaves out a node it cannot scrape.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonObject } from '../../protocol/index.js';
import { ObjectFilter, statusErrors } from '../../protocol/kube/index.js';
import type { KubeletConnector } from './pod-streams.js';
import type { ObjectRegistry } from './registry.js';
import type { ResourceCatalog } from './resources.js';
import { sendJson } from './responses.js';

export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_DISCOVERY = [
  {
    group: METRICS_GROUP,
    version: 'v1beta1',
    resources: [
      { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
      { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
    ],
  },
];

interface Sample {
  at: number;
  node: { cpu: number; memory: number; ts: number };
  /** `namespace/pod` -> container -> cpu seconds and memory bytes. */
  pods: Map<string, Map<string, { cpu: number; memory: number }>>;
}

interface Usage {
  at: number;
  windowMs: number;
  node: { cpu: number; memory: number };
  pods: Map<string, Map<string, { cpu: number; memory: number }>>;
}

export interface MetricsApiOptions {
  ttlMs?: number;
  pairGapMs?: number;
  timeoutMs?: number;
  /** Earlier samples older than this are not used for a rate. */
  maxSampleAgeMs?: number;
}

export class MetricsApi {
  private readonly samples = new Map<string, Sample>();
  private readonly usage = new Map<string, Promise<Usage | undefined>>();

  constructor(
    private readonly registry: ObjectRegistry,
    private readonly catalog: ResourceCatalog,
    private readonly kubelet: KubeletConnector,
    private readonly options: MetricsApiOptions = {},
  ) {}

  /** GET/LIST of nodes and pods metrics. */
  async serve(req: IncomingMessage, res: ServerResponse, resource: string, namespace: string, name: string): Promise<void> {
    if (req.method !== 'GET') throw statusErrors.methodNotSupported({ group: METRICS_GROUP, resource }, (req.method ?? '').toLowerCase());
    const now = new Date().toISOString();
    if (resource === 'nodes') {
      const nodeDef = this.catalog.find('', 'v1', 'nodes')!;
      const names = name ? [this.registry.get(nodeDef, '', name)] : this.registry.list(nodeDef, ObjectFilter.parse('Node', undefined, '', '')).items;
      const items: JsonObject[] = [];
      for (const node of names) {
        const nodeName = String((node.metadata as JsonObject).name);
        const usage = await this.usageOf(nodeName);
        if (usage) items.push({ metadata: { name: nodeName, creationTimestamp: now }, timestamp: new Date(usage.at).toISOString(), window: `${Math.round(usage.windowMs / 1000)}s`, usage: quantities(usage.node) });
      }
      if (name) {
        if (items.length === 0) throw statusErrors.notFound({ group: METRICS_GROUP, resource: 'nodes' }, name);
        return sendJson(res, 200, { kind: 'NodeMetrics', apiVersion: `${METRICS_GROUP}/v1beta1`, ...items[0] });
      }
      return sendJson(res, 200, { kind: 'NodeMetricsList', apiVersion: `${METRICS_GROUP}/v1beta1`, metadata: {}, items });
    }
    if (resource !== 'pods') throw statusErrors.routeNotFound();
    const podDef = this.catalog.find('', 'v1', 'pods')!;
    const pods = name ? [this.registry.get(podDef, namespace, name)] : this.registry.list(podDef, ObjectFilter.parse('Pod', namespace || undefined, '', '')).items;
    const items: JsonObject[] = [];
    for (const pod of pods) {
      const meta = pod.metadata as JsonObject;
      const node = (pod.spec as JsonObject | undefined)?.nodeName;
      if (typeof node !== 'string' || node === '') continue;
      const usage = await this.usageOf(node);
      const containers = usage?.pods.get(`${String(meta.namespace)}/${String(meta.name)}`);
      if (!usage || !containers) continue;
      items.push({
        metadata: { name: String(meta.name), namespace: String(meta.namespace), creationTimestamp: now, ...(meta.labels ? { labels: meta.labels } : {}) } as JsonObject,
        timestamp: new Date(usage.at).toISOString(),
        window: `${Math.round(usage.windowMs / 1000)}s`,
        containers: [...containers].map(([container, value]) => ({ name: container, usage: quantities(value) })),
      });
    }
    if (name) {
      if (items.length === 0) throw statusErrors.notFound({ group: METRICS_GROUP, resource: 'pods' }, name);
      return sendJson(res, 200, { kind: 'PodMetrics', apiVersion: `${METRICS_GROUP}/v1beta1`, ...items[0] });
    }
    return sendJson(res, 200, { kind: 'PodMetricsList', apiVersion: `${METRICS_GROUP}/v1beta1`, metadata: {}, items });
  }

  /** The node's usage, from the cache when young enough; one scrape at a time per node. */
  private usageOf(node: string): Promise<Usage | undefined> {
    const cached = this.usage.get(node);
    if (cached) return cached;
    const computing = this.compute(node).catch(() => undefined);
    this.usage.set(node, computing);
    void computing.then(() => setTimeout(() => this.usage.delete(node), this.options.ttlMs ?? 2_000).unref());
    return computing;
  }

  private async compute(node: string): Promise<Usage | undefined> {
    const maxAge = this.options.maxSampleAgeMs ?? 5 * 60_000;
    let earlier = this.samples.get(node);
    if (!earlier || Date.now() - earlier.at > maxAge) {
      earlier = await this.scrape(node);
      await new Promise((resolve) => setTimeout(resolve, this.options.pairGapMs ?? 1_000));
    }
    const later = await this.scrape(node);
    this.samples.set(node, later);
    const seconds = (later.node.ts - earlier.node.ts) / 1000;
    if (seconds <= 0) return undefined;
    const rate = (now: number, before: number): number => Math.max(0, (now - before) / seconds);
    const pods = new Map<string, Map<string, { cpu: number; memory: number }>>();
    for (const [pod, containers] of later.pods) {
      const out = new Map<string, { cpu: number; memory: number }>();
      for (const [container, value] of containers) {
        const before = earlier.pods.get(pod)?.get(container);
        if (before) out.set(container, { cpu: rate(value.cpu, before.cpu), memory: value.memory });
      }
      if (out.size > 0) pods.set(pod, out);
    }
    return { at: later.node.ts, windowMs: later.node.ts - earlier.node.ts, node: { cpu: rate(later.node.cpu, earlier.node.cpu), memory: later.node.memory }, pods };
  }

  private scrape(node: string): Promise<Sample> {
    return new Promise((resolve, reject) => {
      const connection = this.kubelet.connect(node);
      if (!connection) return reject(new Error('no kubelet endpoint'));
      const req = http.request(
        { method: 'GET', path: '/metrics/resource', headers: { host: node, [this.kubelet.nodeHeader]: node }, createConnection: () => connection as never, timeout: this.options.timeoutMs ?? 5_000 },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            if (text.length > 8 * 1024 * 1024) req.destroy(new Error('metrics too large'));
          });
          res.on('end', () => (res.statusCode === 200 ? resolve(parseResourceMetrics(text)) : reject(new Error(`HTTP ${res.statusCode}`))));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
  }
}

/** The kubelet's /metrics/resource text: node and container CPU seconds and working sets. */
export function parseResourceMetrics(text: string): Sample {
  const sample: Sample = { at: Date.now(), node: { cpu: 0, memory: 0, ts: Date.now() }, pods: new Map() };
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{([^}]*)\})? ([0-9.eE+-]+)(?: (\d+))?$/.exec(line.trim());
    if (!match) continue;
    const [, metric, labelText = '', valueText, tsText] = match;
    const value = Number(valueText);
    if (!Number.isFinite(value)) continue;
    if (metric === 'node_cpu_usage_seconds_total') {
      sample.node.cpu = value;
      if (tsText) sample.node.ts = Number(tsText);
    } else if (metric === 'node_memory_working_set_bytes') {
      sample.node.memory = value;
    } else if (metric === 'container_cpu_usage_seconds_total' || metric === 'container_memory_working_set_bytes') {
      const labels = Object.fromEntries([...labelText.matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      if (!labels.container || !labels.pod || !labels.namespace) continue;
      const key = `${labels.namespace}/${labels.pod}`;
      const containers = sample.pods.get(key) ?? new Map<string, { cpu: number; memory: number }>();
      const entry = containers.get(labels.container) ?? { cpu: 0, memory: 0 };
      if (metric === 'container_cpu_usage_seconds_total') entry.cpu = value;
      else entry.memory = value;
      containers.set(labels.container, entry);
      sample.pods.set(key, containers);
    }
  }
  return sample;
}

function quantities(usage: { cpu: number; memory: number }): JsonObject {
  return { cpu: `${Math.round(usage.cpu * 1e9)}n`, memory: `${Math.round(usage.memory / 1024)}Ki` };
}
