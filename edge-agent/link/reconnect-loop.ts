/**
 * The connection half of the hub link (the agent's counterpart of cloud-hub/transport): keep
 * one connection to the hub open, through whatever transport the URL chose. Connect; on failure
 * or loss retry after a full-jitter backoff; count connections (generations), so the events of
 * an old one are ignored; restart the backoff from its base once a connection has stayed in sync
 * long enough; time the repeats of an unanswered hello. It knows no frame types: the session
 * (hub-session.ts) is told when a connection opens, what arrives and when it closes, and says
 * when a hello went out, a welcome came and the cache is in sync.
 */
import type { Logger } from 'pino';
import { FullJitterBackoff } from './backoff.js';
import { LinkRefusedError, type LinkConnection, type LinkTransport } from './transport.js';

/** The longest a link waits for a welcome before repeating its hello. */
const MAX_HELLO_RETRY_MS = 60_000;

/** What the loop tells the session, always for the current connection only. */
export interface ConnectionEvents {
  /** A new connection is up: the session starts (hello). */
  opened(): void;
  message(data: Buffer | string): void;
  /** The connection ended (peer, network, liveness, or `reconnect`); a retry follows. Not called by `stop`. */
  closed(reason: string): void;
  /** No welcome came within the hello retry delay after hello number `attempt` (0-based). */
  helloDue(attempt: number): void;
}

export interface ReconnectLoopOptions {
  transport: LinkTransport;
  logger: Logger;
  backoff?: FullJitterBackoff;
  /** The backoff restarts from its base once a connection has been in sync this long. */
  stableAfterMs?: number;
  /** Say hello again when no welcome came within this long (default: the transport's `helloRetryMs`); doubled per repeat, up to a minute. */
  helloRetryMs?: number;
}

export type LoopState = 'idle' | 'connecting' | 'open' | 'waiting' | 'stopped';

export class ReconnectLoop {
  private loopState: LoopState = 'idle';
  private connection?: LinkConnection;
  /** Incremented per connection, so events of an old connection are ignored. */
  private generation = 0;
  private readonly backoff: FullJitterBackoff;
  private events?: ConnectionEvents;
  private helloTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private stableTimer?: NodeJS.Timeout;

  constructor(private readonly options: ReconnectLoopOptions) {
    this.backoff = options.backoff ?? new FullJitterBackoff();
  }

  get state(): LoopState {
    return this.loopState;
  }

  /** Connects and keeps connecting until `stop`; `events` hears about each connection. */
  start(events: ConnectionEvents): void {
    if (this.loopState !== 'idle') return;
    this.events = events;
    void this.connect();
  }

  stop(): void {
    this.loopState = 'stopped';
    this.generation += 1;
    this.clearTimers();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.connection?.close('agent stopping');
    this.connection = undefined;
  }

  /** Drops the current connection and reconnects (after backoff). */
  reconnect(reason: string): void {
    if (!this.connection) return;
    this.connection.close(reason);
    this.onClosed(this.generation, reason);
  }

  /** Whether a connection is up. */
  get open(): boolean {
    return this.connection !== undefined;
  }

  /** Sends on the current connection; dropped when there is none. */
  send(text: string): void {
    this.connection?.send(text);
  }

  /** Treat the hub as dead after this long without any traffic. */
  expectTrafficWithin(ms: number): void {
    this.connection?.expectTrafficWithin(ms);
  }

  /** Hello number `attempt` (0-based) went out: `helloDue` follows unless `welcomed` comes first. A new hello is a new session, not yet stable. */
  helloSent(attempt: number): void {
    if (this.stableTimer) clearTimeout(this.stableTimer);
    this.stableTimer = undefined;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    const base = this.options.helloRetryMs ?? this.options.transport.helloRetryMs;
    this.helloTimer = setTimeout(() => {
      if (this.connection) this.events?.helloDue(attempt);
    }, Math.min(MAX_HELLO_RETRY_MS, base * 2 ** attempt));
    this.helloTimer.unref();
  }

  welcomed(): void {
    if (this.helloTimer) clearTimeout(this.helloTimer);
  }

  /** The session is in sync: once it stays connected `stableAfterMs`, the next outage backs off from the base again. */
  inSync(): void {
    this.stableTimer = setTimeout(() => this.backoff.reset(), this.options.stableAfterMs ?? 10_000);
    this.stableTimer.unref();
  }

  private async connect(): Promise<void> {
    if (this.loopState === 'stopped') return;
    this.loopState = 'connecting';
    const generation = ++this.generation;
    const { transport, logger } = this.options;
    try {
      const connection = await transport.connect({
        message: (data) => {
          if (generation === this.generation) this.events?.message(data);
        },
        closed: (reason) => this.onClosed(generation, reason),
      });
      if (generation !== this.generation) {
        connection.close('superseded');
        return;
      }
      this.connection = connection;
      this.loopState = 'open';
      this.events?.opened();
    } catch (err) {
      if (generation !== this.generation) return;
      const refused = err instanceof LinkRefusedError;
      logger[refused ? 'error' : 'warn']({ hub: transport.description, err: (err as Error).message }, refused ? 'hub refused this node; check the token' : 'cannot reach the hub');
      this.scheduleRetry();
    }
  }

  private onClosed(generation: number, reason: string): void {
    if (generation !== this.generation || this.loopState === 'stopped') return;
    this.generation += 1;
    this.connection = undefined;
    this.clearTimers();
    this.events?.closed(reason);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.loopState === 'stopped') return;
    this.loopState = 'waiting';
    const delay = this.backoff.next();
    this.options.logger.debug({ delayMs: delay, attempt: this.backoff.attempts }, 'reconnecting after backoff');
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private clearTimers(): void {
    if (this.helloTimer) clearTimeout(this.helloTimer);
    if (this.stableTimer) clearTimeout(this.stableTimer);
    this.stableTimer = undefined;
  }
}
