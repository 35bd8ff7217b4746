/**
 * Node-level events: disk pressure on the data directory's filesystem, clock skew against the
 * hub, and resyncs after a reconnect. Warnings are offered every check while the condition
 * lasts; the filter's rules decide how many go upstream (the defaults dedupe them).
 */
import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { NewCandidate } from '../upstream-events.js';

export interface NodeConditionsOptions {
  dataDir: string;
  offer: (candidate: NewCandidate) => void;
  logger: Logger;
  checkIntervalMs?: number;
  /** Free space below this fraction of the filesystem is disk pressure. Default 0.1. */
  minFreeFraction?: number;
  /** Clock difference to the hub above this is skew. Default 2 s. */
  maxSkewMs?: number;
}

export class NodeConditions {
  private timer?: NodeJS.Timeout;
  private pressure = false;

  constructor(private readonly options: NodeConditionsOptions) {}

  start(): void {
    void this.checkDisk();
    this.timer = setInterval(() => void this.checkDisk(), this.options.checkIntervalMs ?? 30_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async checkDisk(): Promise<void> {
    try {
      const stats = await statfs(this.options.dataDir);
      const free = stats.bavail / stats.blocks;
      const limit = this.options.minFreeFraction ?? 0.1;
      if (free < limit) {
        this.pressure = true;
        this.offer('Warning', 'DiskPressure', `free space on the data filesystem is ${(free * 100).toFixed(1)}%, below ${(limit * 100).toFixed(0)}%`);
      } else if (this.pressure) {
        this.pressure = false;
        this.offer('Normal', 'DiskPressureResolved', `free space is back at ${(free * 100).toFixed(1)}%`);
      }
    } catch (err) {
      this.options.logger.debug({ err: (err as Error).message }, 'disk check failed');
    }
  }

  /** The hub's clock as it sent `welcome` against ours now. */
  hubClock(hubMs: number, localMs = Date.now()): void {
    const skew = localMs - hubMs;
    if (Math.abs(skew) > (this.options.maxSkewMs ?? 2_000)) {
      this.offer('Warning', 'ClockSkew', `local clock is ${skew > 0 ? 'ahead of' : 'behind'} the hub by ${Math.abs(skew)} ms`);
    }
  }

  /** A resync finished; only one that changed something is worth an event. */
  resynced(ops: number, ms: number): void {
    if (ops > 0) this.offer('Normal', 'CacheResync', `cache resynced with the hub: ${ops} changes in ${ms} ms`);
  }

  private offer(type: string, reason: string, message: string): void {
    this.options.offer({ source: 'node', type, reason, message });
  }
}
