/**
 * The local API's view of the SQLite cache: a local change counter, `seq`, that every write
 * takes the next value of and that the local API serves as resourceVersion, and tombstones for
 * deletions, so a local watch can resume from any seq it was given. It reads what the local API
 * serves (`list`, `getStored`, `changesSince`, `currentSeq`); the sync cache (cache-store.ts)
 * writes through it inside each batch's transaction (`record`) and hands it the committed state.
 *
 * Reads never write. A row whose body no longer decodes is left out of the answer and reported
 * to the cache (`unreadable`), which drops it outside the read, so the drop's tombstone reaches
 * the watches like any other deletion.
 */
import type Database from 'better-sqlite3';
import type { JsonObject } from '../../protocol/index.js';
import type { ChangeListener } from './change-notifier.js';
import type { MetaTable } from './meta-table.js';
import type { CacheChange } from './sync-cache.js';

/** An object as the local API serves it: `seq` is its resourceVersion there. */
export interface LocalObject {
  key: string;
  rv: string;
  seq: number;
  obj: JsonObject;
}

export type LocalChange = { type: 'put'; key: string; rv: string; seq: number; obj: JsonObject } | { type: 'del'; key: string; rv: string; seq: number };

/**
 * The changes after a seq, oldest first: each key's latest put, and the deletions (a key deleted
 * and put again shows both, in that order). Or `gone` when they are no
 * longer known: the seq predates the oldest tombstone kept, or comes from another database
 * (after a corrupt file was replaced). A watch answers `gone` with 410 and the client relists.
 */
export type ChangesSince = { gone: false; seq: number; changes: LocalChange[] } | { gone: true; seq: number };

/** Where the counter stands: the latest seq, the compaction point, the tombstones kept. */
export interface LogPosition {
  seq: number;
  compactedSeq: number;
  tombstoneCount: number;
}

export const META_SEQ = 'store.seq';
export const META_COMPACTED = 'store.compacted';

export interface ChangeLogOptions {
  meta: MetaTable;
  /** Clock for tombstones and for the first seq of a new database, ms since the epoch. */
  now: () => number;
  /** How many deletions local watches can catch up on; older ones are compacted. */
  tombstoneLimit: number;
  /** The cache's decoding of a row's body (Secrets are sealed); throws when it cannot. */
  decode(key: string, body: string | Buffer | undefined): JsonObject;
  /** A read found this row unreadable (and left it out). */
  unreadable(key: string, error: unknown): void;
  /** The cache's change listeners: a watch is woken by the batches the cache commits. */
  subscribe(listener: ChangeListener): () => void;
}

interface ObjectRow {
  key: string;
  rv: string;
  seq: number;
  body: string | Buffer;
}

interface TombstoneRow {
  key: string;
  rv: string;
  seq: number;
}

type Statement<P extends unknown[] = unknown[], R = unknown> = Database.Statement<P, R>;

export class ChangeLog {
  private position: LogPosition;
  private readonly selectStored: Statement<[string], ObjectRow>;
  private readonly selectRange: Statement<[string, string], ObjectRow>;
  private readonly selectObjectsAfter: Statement<[number], ObjectRow & { kind: string }>;
  private readonly selectTombstonesAfter: Statement<[number], TombstoneRow & { kind: string }>;
  private readonly insertTombstone: Statement<[number, string, string, string, number]>;
  private readonly selectNthTombstone: Statement<[number], number>;
  private readonly deleteTombstonesUpTo: Statement<[number]>;

  /** Reads the counter from a migrated database (starting a new one at the clock). */
  constructor(
    db: Database.Database,
    private readonly options: ChangeLogOptions,
  ) {
    this.selectStored = db.prepare<[string], ObjectRow>('SELECT key, rv, seq, body FROM objects WHERE key = ?');
    this.selectRange = db.prepare<[string, string], ObjectRow>('SELECT key, rv, seq, body FROM objects WHERE key >= ? AND key < ? ORDER BY key');
    this.selectObjectsAfter = db.prepare<[number], ObjectRow & { kind: string }>('SELECT key, kind, rv, seq, body FROM objects WHERE seq > ? ORDER BY seq');
    this.selectTombstonesAfter = db.prepare<[number], TombstoneRow & { kind: string }>('SELECT key, kind, rv, seq FROM tombstones WHERE seq > ? ORDER BY seq');
    this.insertTombstone = db.prepare('INSERT INTO tombstones (seq, key, kind, rv, deleted) VALUES (?, ?, ?, ?, ?)');
    this.selectNthTombstone = db.prepare<[number], number>('SELECT seq FROM tombstones ORDER BY seq LIMIT 1 OFFSET ?').pluck();
    this.deleteTombstonesUpTo = db.prepare<[number]>('DELETE FROM tombstones WHERE seq <= ?');

    const { meta } = options;
    const tombstoneCount = db.prepare<[], number>('SELECT count(*) FROM tombstones').pluck().get() ?? 0;
    const highest = db.prepare<[], number | null>('SELECT max(m) FROM (SELECT max(seq) AS m FROM objects UNION ALL SELECT max(seq) FROM tombstones)').pluck().get() ?? null;
    const stored = meta.get(META_SEQ);
    if (stored === undefined && highest === null) {
      // A new database starts counting at the clock, not at 0: a local watch client that
      // held a resourceVersion from a database since replaced (corrupt, moved aside) then
      // asks for a seq this one has not reached and gets 410 Gone, instead of changes
      // that happen to carry the same numbers.
      const seq = options.now();
      this.position = { seq, compactedSeq: seq, tombstoneCount };
      db.transaction(() => {
        meta.set(META_SEQ, String(seq));
        meta.set(META_COMPACTED, String(seq));
      })();
    } else {
      this.position = { seq: Math.max(Number(stored ?? 0), highest ?? 0), compactedSeq: Number(meta.get(META_COMPACTED) ?? 0), tombstoneCount };
    }
  }

  /**
   * Inside a batch's transaction: gives each change the next seq and has `write` store its row
   * with it (a put) or delete the row and return the rv it had (a del), keeps a tombstone per
   * deletion, and compacts the oldest tombstones past the limit. Returns the position to adopt
   * with `committed` once the transaction has committed.
   */
  record(changes: readonly CacheChange[], now: number, write: (change: CacheChange, seq: number) => string | undefined): LogPosition {
    if (changes.length === 0) return this.position;
    let { seq, tombstoneCount } = this.position;
    for (const change of changes) {
      seq++;
      const removedRv = write(change, seq);
      if (change.type === 'del') {
        if (removedRv === undefined) throw new Error(`cache row for ${change.key} vanished during a batch`);
        this.insertTombstone.run(seq, change.key, change.kind, removedRv, now);
        tombstoneCount++;
      }
    }
    this.options.meta.set(META_SEQ, String(seq));
    const pruneTo = this.pruneTombstones(tombstoneCount);
    if (pruneTo === undefined) return { seq, compactedSeq: this.position.compactedSeq, tombstoneCount };
    return { seq, compactedSeq: pruneTo, tombstoneCount: this.options.tombstoneLimit };
  }

  /** The batch that `record` numbered has committed. */
  committed(position: LogPosition): void {
    this.position = position;
  }

  /** The seq of the latest committed change. */
  currentSeq(): number {
    return this.position.seq;
  }

  /** One object with its seq (what the local API serves for a GET), or undefined. A missing row is reported like an unreadable one; the cache ignores keys it does not hold. */
  getStored(key: string): LocalObject | undefined {
    const row = this.selectStored.get(key);
    try {
      if (row === undefined) throw new Error('row is missing');
      return { key, rv: row.rv, seq: row.seq, obj: this.options.decode(key, row.body) };
    } catch (error) {
      this.options.unreadable(key, error);
      return undefined;
    }
  }

  /** The objects of `kind` (in `namespace`, when given) ordered by key, and the seq they were read at. */
  list(kind: string, namespace?: string): { seq: number; items: LocalObject[] } {
    if (!/^[A-Z][A-Za-z0-9]*$/.test(kind)) throw new Error(`invalid kind ${JSON.stringify(kind)}`);
    if (namespace !== undefined && namespace.includes('/')) throw new Error(`invalid namespace ${JSON.stringify(namespace)}`);
    // Keys sort as "Kind/ns/name", so one kind (and namespace) is a range of the primary key;
    // '0' is the character after '/'.
    const prefix = namespace === undefined ? `${kind}/` : `${kind}/${namespace}/`;
    const items: LocalObject[] = [];
    for (const row of this.selectRange.all(prefix, `${prefix.slice(0, -1)}0`)) {
      const obj = this.tryDecode(row);
      if (obj) items.push({ key: row.key, rv: row.rv, seq: row.seq, obj });
    }
    return { seq: this.position.seq, items };
  }

  /** What changed after `since` (a seq from `list`, `currentSeq` or an earlier change), optionally of one kind. */
  changesSince(since: number, kind?: string): ChangesSince {
    const { seq, compactedSeq } = this.position;
    if (!Number.isSafeInteger(since) || since < compactedSeq || since > seq) return { gone: true, seq };
    const changes: LocalChange[] = [];
    for (const row of this.selectObjectsAfter.all(since)) {
      if (kind !== undefined && row.kind !== kind) continue;
      const obj = this.tryDecode(row);
      if (obj) changes.push({ type: 'put', key: row.key, rv: row.rv, seq: row.seq, obj });
    }
    for (const row of this.selectTombstonesAfter.all(since)) {
      if (kind !== undefined && row.kind !== kind) continue;
      changes.push({ type: 'del', key: row.key, rv: row.rv, seq: row.seq });
    }
    changes.sort((a, b) => a.seq - b.seq);
    return { gone: false, seq, changes };
  }

  /** Called after each committed batch; returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    return this.options.subscribe(listener);
  }

  private tryDecode(row: ObjectRow): JsonObject | undefined {
    try {
      return this.options.decode(row.key, row.body);
    } catch (error) {
      this.options.unreadable(row.key, error);
      return undefined;
    }
  }

  /**
   * Keeps the newest `tombstoneLimit` tombstones once there are a tenth more (so the delete
   * runs once per many batches, not on every one); returns the new compaction point.
   */
  private pruneTombstones(count: number): number | undefined {
    const limit = this.options.tombstoneLimit;
    if (count <= limit + Math.ceil(limit / 10)) return undefined;
    const pruneTo = this.selectNthTombstone.get(count - limit - 1);
    if (pruneTo === undefined) return undefined;
    this.deleteTombstonesUpTo.run(pruneTo);
    this.options.meta.set(META_COMPACTED, String(pruneTo));
    return pruneTo;
  }
}
