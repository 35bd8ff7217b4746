/**
 * What the agent reports to its metrics, as an interface: the Prometheus implementation
 * (metrics.ts, with prom-client) is loaded only when `--metrics` serves it, so an agent without
 * a scraper does not carry prom-client's code and default collectors in its memory.
 */
import type { Registry } from 'prom-client';
import type { HubLinkObserver } from './link/hub-link.js';

export interface AgentTelemetry {
  /** Hooks for HubLink. */
  observer(): HubLinkObserver;
  /** An upstream event candidate and what the filter did with it. */
  countEvent(result: string): void;
  /** A rule set refused as invalid. */
  countRejectedRules(): void;
  /** The registry `/metrics` serves; absent when nothing is collected. */
  readonly registry?: Registry;
}

/** The outbox figures the metrics read at scrape time. */
export interface OutboxStats {
  size: number;
  bytes: number;
  counters: { expired: number; overflowed: number; added: number };
}

/** Builds the agent's metrics once its cache and outbox exist. */
export type TelemetryFactory = (cachedObjects: () => number, outbox?: OutboxStats) => AgentTelemetry;

/** No metrics: what an agent without `--metrics` records. */
export const NO_TELEMETRY: AgentTelemetry = {
  observer: () => ({}),
  countEvent: () => undefined,
  countRejectedRules: () => undefined,
};
