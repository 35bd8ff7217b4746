/** What each demo agent holds, read from its metrics and local API, as a table. */
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
  const list = (await res.json()) as { items: { metadata: { name: string; namespace?: string }; status?: { phase?: string } }[] };
  return list.items.map((item) => {
    const name = item.metadata.namespace ? `${item.metadata.namespace}/${item.metadata.name}` : item.metadata.name;
    // Pods carry the phase the node's runtime sees right now.
    return resource === 'pods' ? `${name} (${item.status?.phase ?? 'Pending'})` : name;
  });
}

export async function agentStatus(agent: DemoAgent): Promise<AgentStatus> {
  try {
    const [connected, objects, pods, configMaps, secrets] = await Promise.all([
      metric(agent.metrics, 'edge_agent_connected'),
      metric(agent.metrics, 'edge_agent_cached_objects'),
      names(agent.localApi, 'pods'),
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
    ['node', 'hub link', 'cached objects', 'pods', 'configmaps', 'secrets'],
    statuses.map((s) => [s.node, s.link, s.objects, s.pods.join(', ') || '-', s.configMaps, s.secrets]),
  );
}
