/**
 * A session's log lines, with the node field. No child logger per session: at fleet scale each
 * would cost memory for every idle node, and a disabled level must cost nothing. Warnings about
 * what a node sends are limited to one a second per node (the next one counts those left out),
 * so a node's flood cannot fill the hub's log.
 */
import type { Logger } from 'pino';

const WARN_INTERVAL_MS = 1_000;

export class NodeLog {
  private lastWarn = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly node: string,
  ) {}

  log(level: 'debug' | 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    if (this.logger.isLevelEnabled(level)) this.logger[level]({ node: this.node, ...fields }, message);
  }

  /** A warning about the node's frames, at most one a second. */
  warnLimited(fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if (now - this.lastWarn < WARN_INTERVAL_MS) {
      this.suppressed += 1;
      return;
    }
    this.lastWarn = now;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.log('warn', suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}
