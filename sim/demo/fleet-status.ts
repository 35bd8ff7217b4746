/** What each demo agent holds, read from its metrics and local API, as a table. */
import { podRow } from '../../protocol/kube/index.js';
import type { JsonObject } from '../../protocol/index.js';
import { markdownTable } from '../report/table.js';

export interface DemoAgent {
  node: string;
  localApi: string;
  metrics: string;
  pid: number;
}

export interface AgentStatus {
  node: string;
  link: string;
  objects: number;
  pods: string[];
  configMaps: number;
  secrets: number;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function names(localApi: string, resource: string): Promise<string[]> {
  const res = await fetch(`${localApi}/api/v1/${resource}`);
  if (!res.ok) return [];
  const list = (await res.json()) as { items: { metadata: { name: string; namespace?: string } }[] };
  return list.items.map((item) => (item.metadata.namespace ? `${item.metadata.namespace}/${item.metadata.name}` : item.metadata.name));
}

/**
 * Each Pod as `namespace/name READY STATUS`, the way kubectl prints them (1/1 Running, 0/1
 * CrashLoopBackOff, 1/2 NotReady), from the live status the node's runtime reports: the phase
 * alone says Running for a Pod whose container keeps crashing. Restarts are counted, without
 * kubectl's "(5s ago)", which would change the table every second.
 */
export function podSummary(pod: JsonObject, now = Date.now()): string {
  const [, ready, status, restarts] = podRow(pod, now);
  const metadata = pod.metadata as { name: string; namespace?: string };
  const name = metadata.namespace ? `${metadata.namespace}/${metadata.name}` : metadata.name;
  const count = Number(String(restarts).split(' ')[0]);
  return `${name} ${String(ready)} ${String(status) || 'Pending'}${count > 0 ? ` (${count} restart${count === 1 ? '' : 's'})` : ''}`;
}

async function podSummaries(localApi: string): Promise<string[]> {
  const res = await fetch(`${localApi}/api/v1/pods`);
  if (!res.ok) return [];
  const list = (await res.json()) as { items: JsonObject[] };
  return list.items.map((pod) => podSummary(pod));
}

export async function agentStatus(agent: DemoAgent): Promise<AgentStatus> {
  try {
    const [connected, objects, pods, configMaps, secrets] = await Promise.all([
      metric(agent.metrics, 'edge_agent_connected'),
      metric(agent.metrics, 'edge_agent_cached_objects'),
      podSummaries(agent.localApi),
      names(agent.localApi, 'configmaps'),
      names(agent.localApi, 'secrets'),
    ]);
    return { node: agent.node, link: connected === 1 ? 'connected' : 'offline (serving cache)', objects, pods, configMaps: configMaps.length, secrets: secrets.length };
  } catch {
    return { node: agent.node, link: 'agent down', objects: 0, pods: [], configMaps: 0, secrets: 0 };
  }
}

export function statusTable(statuses: readonly AgentStatus[]): string {
  return markdownTable(
    ['node', 'hub link', 'cached objects', 'pods (ready, status)', 'configmaps', 'secrets'],
    statuses.map((s) => [s.node, s.link, s.objects, s.pods.join(', ') || '-', s.configMaps, s.secrets]),
  );
}
