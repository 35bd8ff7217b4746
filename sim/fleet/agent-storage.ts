/**
 * What a virtual node with a SQLite cache holds of the agent besides its link, built from the
 * agent's own classes and wired as edge-agent/agent.ts wires them: the store (cache and outbox
 * in DIR/cache.db, opened through the corruption guard), the upstream pump over the outbox,
 * and the upstream events (the filter with the built-in rules, writing into the outbox).
 */
import { readdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { EdgeEvent } from '../../protocol/index.js';
import { UpstreamEvents } from '../../edge-agent/filter/upstream-events.js';
import { UpstreamPump } from '../../edge-agent/link/upstream-pump.js';
import { CACHE_FILE, openEdgeStore, type EdgeStore } from '../../edge-agent/store/open.js';

export class AgentStorage {
  readonly store: EdgeStore;
  readonly pump: UpstreamPump;
  readonly events: UpstreamEvents;
  private closed = false;

  constructor(
    readonly dir: string,
    logger: Logger,
    onOverflow: (event: EdgeEvent) => void,
  ) {
    this.store = openEdgeStore({ dir, logger: logger.child({ component: 'store' }) });
    this.pump = new UpstreamPump({ outbox: this.store.outbox, logger: logger.child({ component: 'upstream' }) });
    this.events = new UpstreamEvents({ outbox: this.store.outbox, logger: logger.child({ component: 'events' }), notify: () => this.pump.notify(), onOverflow });
  }

  /** Rows waiting in the outbox. */
  get pending(): number {
    return this.closed ? 0 : this.store.outbox.size;
  }

  /** The bodies of the rows still queued (what a destroyed file takes with it). */
  queuedEvents(): EdgeEvent[] {
    if (this.closed) return [];
    return this.store.outbox
      .peek(Number.MAX_SAFE_INTEGER)
      .filter((item) => item.kind === 'event')
      .map((item) => item.body as unknown as EdgeEvent);
  }

  /** Pending aggregates go into the outbox before it closes (as the agent's stop does). */
  flushEvents(): void {
    if (!this.closed) this.events.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.store.close();
  }
}

/** Files the store has moved aside in `dir` (`cache.db.corrupt-<timestamp>`, without their -wal and -shm). */
export function movedAsideCount(dir: string): number {
  try {
    return readdirSync(dir).filter((name) => name.startsWith(`${CACHE_FILE}.corrupt-`) && !name.endsWith('-wal') && !name.endsWith('-shm')).length;
  } catch {
    return 0;
  }
}
