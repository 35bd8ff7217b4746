/**
 * The live line on stderr: redrawn every second in place on a terminal, a plain line every
 * few seconds otherwise (CI logs, files), so a long run shows it is alive without flooding.
 */
import type { Fleet } from '../fleet/fleet.js';
import { formatCell } from './table.js';

export interface ProgressOptions {
  fleet: Fleet;
  stream: NodeJS.WriteStream;
  /** Plain-line interval when the stream is not a TTY. */
  intervalMs: number;
}

export class Progress {
  phase = 'starting';
  private readonly started = Date.now();
  private timer?: NodeJS.Timeout;
  private lastDeliveries = 0;
  private lastAt = Date.now();
  private drawn = false;

  constructor(private readonly options: ProgressOptions) {}

  private get tty(): boolean {
    return this.options.stream.isTTY === true;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.tty ? 1_000 : this.options.intervalMs);
    this.timer.unref();
  }

  /** A line of its own (phase changes, results), not overwritten by the next redraw. */
  note(text: string): void {
    if (this.drawn) this.options.stream.write('\n');
    this.drawn = false;
    this.options.stream.write(`edge-sim: ${text}\n`);
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.drawn) this.options.stream.write('\n');
    this.drawn = false;
  }

  line(): string {
    const { fleet } = this.options;
    const totals = fleet.totals();
    const now = Date.now();
    const deliveries = totals.liveDeliveries + totals.resyncDeliveries;
    const rate = ((deliveries - this.lastDeliveries) * 1000) / Math.max(1, now - this.lastAt);
    this.lastDeliveries = deliveries;
    this.lastAt = now;
    const p99 = fleet.overall.percentile(99);
    const seconds = Math.round((now - this.started) / 1000);
    return (
      `[${String(seconds).padStart(4)}s] ${this.phase}: connected ${formatCell(totals.connected)}/${formatCell(fleet.size)}` +
      ` synced ${formatCell(totals.synced)}${totals.paused ? ` cut off ${formatCell(totals.paused)}` : ''}` +
      `${totals.cut ? ` links cut ${formatCell(totals.cut)}` : ''}${totals.down ? ` agents down ${formatCell(totals.down)}` : ''}` +
      ` events/s ${formatCell(Math.round(rate))} p99 ${Number.isFinite(p99) ? `${p99.toFixed(1)} ms` : '-'}`
    );
  }

  private tick(): void {
    const text = this.line();
    if (this.tty) {
      this.options.stream.write(`\r\x1b[2K${text}`);
      this.drawn = true;
    } else {
      this.options.stream.write(`edge-sim: ${text}\n`);
    }
  }
}
