/**
 * Samples the hub under test: its /metrics when the address is known, else /proc when the
 * simulator started the hub itself (RSS and CPU only).
 */
import type { ManagedProcess } from '../launch/managed-process.js';
import { scrapeHub, type HubSample } from './hub-metrics.js';

export class HubWatch {
  constructor(
    private readonly metricsUrl: () => string | undefined,
    private readonly process: () => ManagedProcess | undefined,
  ) {}

  async sample(): Promise<HubSample | undefined> {
    const url = this.metricsUrl();
    const scraped = url ? await scrapeHub(url) : undefined;
    if (scraped) return scraped;
    const proc = this.process();
    if (!proc?.running) return undefined;
    try {
      return { at: Date.now(), rssBytes: proc.rssBytes(), cpuSeconds: proc.cpuSeconds(), connected: NaN, queueDepth: NaN, framesOut: NaN, bytesOut: NaN, resyncsEqual: NaN, resyncsDiff: NaN };
    } catch {
      return undefined;
    }
  }
}
