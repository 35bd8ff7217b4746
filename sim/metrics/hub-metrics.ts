/**
 * The hub's own figures, read from its Prometheus `/metrics` (prom-client's process metrics
 * under the hub's `edge_hub_` prefix: `edge_hub_process_resident_memory_bytes`, ...), so the
 * simulator reports the same numbers for a hub it started and for one running elsewhere.
 */

export interface HubSample {
  at: number;
  rssBytes: number;
  cpuSeconds: number;
  connected: number;
  queueDepth: number;
  framesOut: number;
  bytesOut: number;
  resyncsEqual: number;
  resyncsDiff: number;
}

/**
 * Sums the samples of each metric in Prometheus text format: under `name` over all labels, and
 * under `name:label=value` for each label a sample carries.
 */
export function parsePrometheus(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    const name = match[1]!;
    const labels = match[2] ?? '';
    values.set(name, (values.get(name) ?? 0) + value);
    for (const [, label, labelValue] of labels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      const key = `${name}:${label}=${labelValue}`;
      values.set(key, (values.get(key) ?? 0) + value);
    }
  }
  return values;
}

export async function scrapeHub(metricsUrl: string, timeoutMs = 5_000): Promise<HubSample | undefined> {
  try {
    const response = await fetch(`${metricsUrl.replace(/\/$/, '')}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    const values = parsePrometheus(await response.text());
    return {
      at: Date.now(),
      rssBytes: values.get('edge_hub_process_resident_memory_bytes') ?? NaN,
      cpuSeconds: values.get('edge_hub_process_cpu_seconds_total') ?? NaN,
      connected: values.get('edge_hub_connected_nodes') ?? NaN,
      queueDepth: values.get('edge_hub_send_queue_depth') ?? NaN,
      framesOut: values.get('edge_hub_frames_total:direction=out') ?? 0,
      bytesOut: values.get('edge_hub_frame_bytes_total:direction=out') ?? 0,
      resyncsEqual: values.get('edge_hub_resyncs_total:result=equal') ?? 0,
      resyncsDiff: values.get('edge_hub_resyncs_total:result=diff') ?? 0,
    };
  } catch {
    return undefined;
  }
}

export async function hubReady(metricsUrl: string): Promise<boolean> {
  try {
    return (await fetch(`${metricsUrl.replace(/\/$/, '')}/readyz`, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}
