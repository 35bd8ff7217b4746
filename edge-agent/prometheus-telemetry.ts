/**
 * The way to the Prometheus metrics: metrics.ts and prom-client are imported here, on demand,
 * so that telemetry.ts (the interface every part of the agent sees) never imports them.
 */
import type { TelemetryFactory } from './telemetry.js';

/** The Prometheus metrics, with metrics.ts and prom-client loaded now (dynamic import). */
export async function loadPrometheusTelemetry(): Promise<TelemetryFactory> {
  const { AgentMetrics, PromRegistry } = await import('./metrics.js');
  const registry = new PromRegistry();
  return (cachedObjects, outbox) => new AgentMetrics(registry, cachedObjects, outbox);
}
