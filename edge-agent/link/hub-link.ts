/**
 * The agent's link to the hub, split the way MQTT.js splits a client: the reconnect loop
 * (reconnect-loop.ts: connect, retry with full-jitter backoff, generations, the stable-
 * connection reset, hello retry timing) under the session (hub-session.ts: hello, welcome,
 * apply, synced, need, heartbeat, refusals). This class only puts the two together and is what
 * the agent, the simulator's virtual nodes and the tests construct.
 */
import type { FullJitterBackoff } from './backoff.js';
import { HubSession, type HubLinkObserver, type HubSessionOptions } from './hub-session.js';
import { ReconnectLoop } from './reconnect-loop.js';
import type { LinkTransport } from './transport.js';

export type { HubLinkObserver, UpstreamChannel } from './hub-session.js';

export interface HubLinkOptions extends HubSessionOptions {
  transport: LinkTransport;
  backoff?: FullJitterBackoff;
  /** The backoff restarts from its base once a connection has been in sync this long. */
  stableAfterMs?: number;
  /**
   * Say hello again when no welcome came within this long (default: the transport's
   * `helloRetryMs`). Each repeat on the same connection waits twice as long, up to a minute,
   * so a fleet waiting on an overloaded hub does not multiply its load.
   */
  helloRetryMs?: number;
}

export type LinkState = 'idle' | 'connecting' | 'handshaking' | 'resyncing' | 'synced' | 'waiting' | 'stopped';

export class HubLink {
  private readonly loop: ReconnectLoop;
  private readonly session: HubSession;

  constructor(options: HubLinkOptions) {
    this.loop = new ReconnectLoop({
      transport: options.transport,
      logger: options.logger,
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.stableAfterMs !== undefined ? { stableAfterMs: options.stableAfterMs } : {}),
      ...(options.helloRetryMs !== undefined ? { helloRetryMs: options.helloRetryMs } : {}),
    });
    this.session = new HubSession(options, this.loop);
  }

  get status(): LinkState {
    const loop = this.loop.state;
    if (loop !== 'open') return loop;
    const session = this.session.state;
    return session === 'closed' ? 'handshaking' : session;
  }

  get connected(): boolean {
    const state = this.status;
    return state === 'resyncing' || state === 'synced';
  }

  /** The id of the hub that welcomed the latest session ('' before any). */
  get hub(): string {
    return this.session.hub;
  }

  start(): void {
    const session = this.session;
    this.loop.start({
      opened: () => session.opened(),
      message: (data) => session.message(data),
      closed: (reason) => session.closed(reason),
      helloDue: (attempt) => session.helloDue(attempt),
    });
  }

  stop(): void {
    this.loop.stop();
    this.session.stop();
  }

  /** Drops the current connection and reconnects (after backoff). */
  reconnect(reason: string): void {
    this.loop.reconnect(reason);
  }
}

/** One observer calling several, in order (the agent's metrics and its node events). */
export function combineObservers(...observers: HubLinkObserver[]): HubLinkObserver {
  const combined: HubLinkObserver = {};
  for (const hook of ['connected', 'disconnected', 'synced', 'applied', 'frameIn', 'frameOut', 'refused'] as const) {
    const hooks = observers.map((observer) => observer[hook]).filter(Boolean) as ((...args: never[]) => void)[];
    if (hooks.length > 0) (combined as Record<string, unknown>)[hook] = (...args: never[]) => hooks.forEach((fn) => fn(...args));
  }
  return combined;
}
