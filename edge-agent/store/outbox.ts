/**
 * Reports waiting to go upstream (pod status, forwarded events), on disk in the cache's file so
 * they survive a restart and a week offline. A row is committed before `add` returns, so a kill
 * -9 right after loses nothing the agent was told was queued.
 *
 * Order: higher priority first, then older first. A row whose `expires` has passed is never
 * handed out and is removed by `expire`. The link sends what `peek` returns and `remove`s the
 * ids the hub acked.
 *
 * The queue has a byte budget. When a new row does not fit, rows are dropped lowest priority
 * first and oldest first within a priority, but never a row of higher priority than the new
 * one: then the new row is the one dropped. Expired rows go before any live one.
 */
import type Database from 'better-sqlite3';
import type { EdgeEvent, JsonObject, PodStatusReport } from '../../protocol/index.js';

export type OutboxKind = 'status' | 'event';

/** What a row carries: a kind, and a body stored as JSON. */
export interface OutboxReport {
  kind: OutboxKind;
  body: object;
}

/** The reports the agent queues upstream: the kind says which frame the body goes in. */
export type UpstreamReport = { kind: 'status'; body: PodStatusReport } | { kind: 'event'; body: EdgeEvent };

/** The rows of an outbox that is not told what its bodies are. */
export type UntypedReport = { kind: OutboxKind; body: JsonObject };

export type OutboxInput<R extends OutboxReport = UntypedReport> = R & {
  /** 0 (lowest) to 9. */
  priority: number;
  /** ms since the epoch; absent: never expires. */
  expires?: number;
  /**
   * A row with the same non-empty `dedupe` is replaced (the latest status of a pod replaces the
   * previous one). The new row gets a new id, so an ack for the replaced one cannot remove it,
   * and keeps the replaced row's place in the queue, so a pod that changes often is not
   * starved behind quieter ones.
   */
  dedupe?: string;
};

export type OutboxItem<R extends OutboxReport = UntypedReport> = R & {
  id: number;
  priority: number;
  /** ms since the epoch when it joined the queue (for a replaced row: when the first of its line did). */
  created: number;
  expires?: number;
  /** Bytes of the body's JSON: what the budget counts. */
  bytes: number;
  dedupe?: string;
};

export interface OutboxCounters {
  added: number;
  /** Replaced by a newer row with the same dedupe key (each also counts in `added`). */
  replaced: number;
  removed: number;
  expired: number;
  /** Dropped for the byte budget: rows evicted, and new rows refused. */
  overflowed: number;
}

export interface OutboxOptions {
  /** Byte budget for the bodies of all queued rows. Default 32 MiB. */
  maxBytes?: number;
  /** Clock, ms since the epoch. */
  now?: () => number;
}

export const DEFAULT_OUTBOX_BYTES = 32 * 1024 * 1024;

interface OutboxRow {
  id: number;
  kind: OutboxKind;
  priority: number;
  created: number;
  expires: number | null;
  bytes: number;
  body: string;
  dedupe: string | null;
}

type Statement<P extends unknown[] = unknown[], R = unknown> = Database.Statement<P, R>;

/** Thrown inside `add`'s transaction to roll back the evictions made for a row that still does not fit. */
class DoesNotFit extends Error {}

const EVICTION_CHUNK = 64;

/**
 * `R` is what the rows carry; a row is read back as what `add` was given, since nothing else
 * writes the table. The agent's outbox is an `UpstreamOutbox`.
 */
export class Outbox<R extends OutboxReport = UntypedReport> {
  readonly maxBytes: number;
  private readonly now: () => number;
  private count: number;
  private totalBytes: number;
  private readonly tally: OutboxCounters = { added: 0, replaced: 0, removed: 0, expired: 0, overflowed: 0 };

  private readonly selectByDedupe: Statement<[string], { id: number; bytes: number; created: number }>;
  private readonly deleteById: Statement<[number], number>;
  private readonly deleteExpired: Statement<[number], number>;
  private readonly selectEvictable: Statement<[number, number], { id: number; bytes: number }>;
  private readonly insertRow: Statement<[OutboxKind, number, number, number | null, number, string, string | null]>;
  private readonly selectLive: Statement<[number, number], OutboxRow>;
  private readonly addTransaction: (input: OutboxInput<R>, json: string, bytes: number, now: number) => AddOutcome;
  private readonly removeTransaction: (ids: readonly number[]) => { rows: number; bytes: number };
  private readonly expireTransaction: (now: number) => { rows: number; bytes: number };

  /**
   * `db` must hold the cache schema (see migrations.ts); `openEdgeStore` wires both. One Outbox
   * per database: `size`, `bytes` and the counters live in this object.
   */
  constructor(db: Database.Database, options: OutboxOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_OUTBOX_BYTES;
    if (!(this.maxBytes > 0)) throw new RangeError(`outbox maxBytes must be positive, got ${this.maxBytes}`);
    this.now = options.now ?? Date.now;

    this.selectByDedupe = db.prepare('SELECT id, bytes, created FROM outbox WHERE dedupe = ?');
    this.deleteById = db.prepare<[number], number>('DELETE FROM outbox WHERE id = ? RETURNING bytes').pluck();
    this.deleteExpired = db.prepare<[number], number>('DELETE FROM outbox WHERE expires <= ? RETURNING bytes').pluck();
    this.selectEvictable = db.prepare('SELECT id, bytes FROM outbox WHERE priority <= ? ORDER BY priority, created, id LIMIT ?');
    this.insertRow = db.prepare('INSERT INTO outbox (kind, priority, created, expires, bytes, body, dedupe) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.selectLive = db.prepare(
      'SELECT id, kind, priority, created, expires, bytes, body, dedupe FROM outbox WHERE expires IS NULL OR expires > ? ORDER BY priority DESC, created, id LIMIT ?',
    );
    this.addTransaction = db.transaction((input: OutboxInput<R>, json: string, bytes: number, now: number) => this.addInTransaction(input, json, bytes, now));
    this.removeTransaction = db.transaction((ids: readonly number[]) => {
      let rows = 0;
      let freed = 0;
      for (const id of ids) {
        const removed = this.deleteById.get(id);
        if (removed === undefined) continue;
        rows++;
        freed += removed;
      }
      return { rows, bytes: freed };
    });
    this.expireTransaction = db.transaction((now: number) => this.deleteExpiredRows(now));

    const totals = db.prepare<[], { n: number; bytes: number }>('SELECT count(*) AS n, total(bytes) AS bytes FROM outbox').get();
    this.count = totals?.n ?? 0;
    this.totalBytes = totals?.bytes ?? 0;
  }

  /** Rows queued, expired ones included until `expire` runs. */
  get size(): number {
    return this.count;
  }

  /** Body bytes queued. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Since this Outbox was constructed. */
  get counters(): Readonly<OutboxCounters> {
    return { ...this.tally };
  }

  /** Queues `input`; returns its id, or undefined when the byte budget is full of rows of higher priority (counted in `overflowed`). */
  add(input: OutboxInput<R>): number | undefined {
    if (input.kind !== 'status' && input.kind !== 'event') throw new RangeError(`outbox kind must be "status" or "event", got ${JSON.stringify(input.kind)}`);
    if (!Number.isInteger(input.priority) || input.priority < 0 || input.priority > 9) throw new RangeError(`outbox priority must be an integer 0-9, got ${input.priority}`);
    if (input.expires !== undefined && !Number.isFinite(input.expires)) throw new RangeError(`outbox expires must be a finite ms timestamp, got ${input.expires}`);
    const json = JSON.stringify(input.body);
    const bytes = Buffer.byteLength(json);
    if (bytes > this.maxBytes) {
      this.tally.overflowed++;
      return undefined;
    }
    let outcome: AddOutcome;
    try {
      outcome = this.addTransaction(input, json, bytes, this.now());
    } catch (error) {
      if (!(error instanceof DoesNotFit)) throw error;
      this.tally.overflowed++;
      return undefined;
    }
    this.count += 1 - outcome.replaced - outcome.expired - outcome.evicted;
    this.totalBytes += bytes - outcome.freedBytes;
    this.tally.added++;
    this.tally.replaced += outcome.replaced;
    this.tally.expired += outcome.expired;
    this.tally.overflowed += outcome.evicted;
    return outcome.id;
  }

  /**
   * Up to `limit` live rows in send order. With `maxBytes`, stops before the row that would take
   * the bodies past it, but always returns at least one row when there is one, so a row larger
   * than a frame's budget is still sent (on its own) instead of blocking the queue.
   */
  peek(limit: number, maxBytes = Number.POSITIVE_INFINITY): OutboxItem<R>[] {
    const items: OutboxItem<R>[] = [];
    if (limit <= 0) return items;
    let total = 0;
    for (const row of this.selectLive.iterate(this.now(), limit)) {
      if (items.length > 0 && total + row.bytes > maxBytes) break;
      total += row.bytes;
      items.push(toItem<R>(row));
    }
    return items;
  }

  /** Removes the rows with these ids (ids already gone are ignored); returns how many were removed. */
  remove(ids: readonly number[]): number {
    if (ids.length === 0) return 0;
    const { rows, bytes } = this.removeTransaction(ids);
    this.count -= rows;
    this.totalBytes -= bytes;
    this.tally.removed += rows;
    return rows;
  }

  /** Deletes every row whose `expires` is at or before `now`; returns how many. */
  expire(now = this.now()): number {
    const { rows, bytes } = this.expireTransaction(now);
    this.count -= rows;
    this.totalBytes -= bytes;
    this.tally.expired += rows;
    return rows;
  }

  private addInTransaction(input: OutboxInput<R>, json: string, bytes: number, now: number): AddOutcome {
    const outcome: AddOutcome = { id: 0, replaced: 0, expired: 0, evicted: 0, freedBytes: 0 };
    let created = now;
    const dedupe = input.dedupe ? input.dedupe : null;
    if (dedupe !== null) {
      const existing = this.selectByDedupe.get(dedupe);
      if (existing) {
        this.deleteById.run(existing.id);
        outcome.replaced = 1;
        outcome.freedBytes += existing.bytes;
        created = Math.min(existing.created, now);
      }
    }
    let excess = this.totalBytes - outcome.freedBytes + bytes - this.maxBytes;
    if (excess > 0) {
      const expired = this.deleteExpiredRows(now);
      outcome.expired = expired.rows;
      outcome.freedBytes += expired.bytes;
      excess -= expired.bytes;
    }
    while (excess > 0) {
      const victims = this.selectEvictable.all(input.priority, EVICTION_CHUNK);
      // Nothing of this priority or lower is left: the new row is the one that goes. The
      // throw rolls back the evictions made so far; they would have bought nothing.
      if (victims.length === 0) throw new DoesNotFit();
      for (const victim of victims) {
        if (excess <= 0) break;
        this.deleteById.run(victim.id);
        outcome.evicted++;
        outcome.freedBytes += victim.bytes;
        excess -= victim.bytes;
      }
    }
    outcome.id = Number(this.insertRow.run(input.kind, input.priority, created, input.expires ?? null, bytes, json, dedupe).lastInsertRowid);
    return outcome;
  }

  private deleteExpiredRows(now: number): { rows: number; bytes: number } {
    const freed = this.deleteExpired.all(now);
    return { rows: freed.length, bytes: freed.reduce((sum, bytes) => sum + bytes, 0) };
  }
}

interface AddOutcome {
  id: number;
  replaced: number;
  expired: number;
  evicted: number;
  freedBytes: number;
}

/** A row as its item: the body is what `add` stored for its kind. */
function toItem<R extends OutboxReport>(row: OutboxRow): OutboxItem<R> {
  const item = { id: row.id, kind: row.kind, priority: row.priority, created: row.created, bytes: row.bytes, body: JSON.parse(row.body) as unknown } as OutboxItem<R>;
  if (row.expires !== null) item.expires = row.expires;
  if (row.dedupe !== null) item.dedupe = row.dedupe;
  return item;
}

/** The agent's outbox: Pod status and events. */
export type UpstreamOutbox = Outbox<UpstreamReport>;
