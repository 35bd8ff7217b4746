/**
 * The connected nodes of this hub replica: one session per node, a newer connection
 * replacing an older one, and the route from desired-state changes to the right session (it
 * subscribes to them itself).
 */
import { CLOSE_REPLACED, type Connection } from '../transport/connection.js';
import type { DesiredChangeListener, DesiredChanges } from './desired-state.js';
import { NodeSession, type SessionDeps } from './node-session.js';

export type SessionFactory = (node: string, connection: Connection, onClosed: SessionDeps['onClosed']) => NodeSession;

export class SessionRegistry implements DesiredChangeListener {
  private readonly sessions = new Map<string, NodeSession>();

  constructor(
    private readonly createSession: SessionFactory,
    changes: DesiredChanges,
  ) {
    changes.subscribe(this);
  }

  get size(): number {
    return this.sessions.size;
  }

  get(node: string): NodeSession | undefined {
    return this.sessions.get(node);
  }

  /** A new connection for `node`: the previous one, if any, is closed as replaced. */
  attach(node: string, connection: Connection): NodeSession {
    const previous = this.sessions.get(node);
    const session = this.createSession(node, connection, (closed) => {
      if (this.sessions.get(node) === closed) this.sessions.delete(node);
    });
    this.sessions.set(node, session);
    previous?.close(CLOSE_REPLACED, 'replaced by a newer connection');
    return session;
  }

  changed(node: string, key: string, at: number): void {
    this.sessions.get(node)?.markDirty(key, at);
  }

  changedForEveryNode(key: string, at: number): void {
    for (const session of this.sessions.values()) session.markDirty(key, at);
  }

  queueDepth(): number {
    let depth = 0;
    for (const session of this.sessions.values()) depth += session.queueDepth;
    return depth;
  }

  closeAll(code: number, reason: string): void {
    for (const session of [...this.sessions.values()]) session.close(code, reason);
  }
}
