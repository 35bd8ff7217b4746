/**
 * Liveness of stream tunnels: the hub pings each open tunnel every ping interval, as it pings
 * sessions, and drops one whose agent has not answered for two ping intervals, so a tunnel whose agent
 * vanished (a partition, a device switched off) frees its node's slot at once instead of at the
 * idle timeout. Pongs are not activity: a quiet `logs -f` stays open until --tunnel-idle-timeout.
 * A tunnel the hub has stopped reading (its caller reads slower than the agent writes) cannot see
 * its pongs, so it is not judged while paused.
 */
import type { Logger } from 'pino';
import type WebSocket from 'ws';

export class TunnelLiveness {
  private readonly tunnels = new Map<WebSocket, { node: string; unanswered: number }>();

  constructor(private readonly logger: Logger) {}

  /** Open tunnels being pinged. */
  get size(): number {
    return this.tunnels.size;
  }

  track(ws: WebSocket, node: string): void {
    const entry = { node, unanswered: 0 };
    this.tunnels.set(ws, entry);
    ws.on('pong', () => (entry.unanswered = 0));
    ws.once('close', () => this.tunnels.delete(ws));
  }

  /** One round: drop the tunnels that answered none of the last two pings, ping the others. */
  pingAll(): void {
    for (const [ws, entry] of this.tunnels) {
      if (ws.isPaused) {
        entry.unanswered = 0;
        continue;
      }
      if (entry.unanswered >= 2) {
        this.logger.info({ node: entry.node }, 'stream tunnel silent for two ping intervals; dropping');
        this.tunnels.delete(ws);
        ws.terminate();
        continue;
      }
      entry.unanswered += 1;
      try {
        ws.ping();
      } catch {
        // Not open any more: its close event cleans up.
      }
    }
  }
}
