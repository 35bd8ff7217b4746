/**
 * `SyncCache` on SQLite: the agent's cache of everything the hub sent, in `DIR/cache.db`, so
 * the agent starts and runs its pods with the hub out of reach.
 *
 * - A `sync` batch is one transaction; listeners hear about it after the commit.
 * - key -> rv lives in memory too (loaded at open), so `digest()`, `entries()` and `rvOf()`,
 *   which the link calls on every connect and every op, never touch SQL.
 * - Secret bodies are sealed with AES-256-GCM (secret-cipher.ts) before they reach the file.
 * - Every write takes the next value of a local change counter, `seq`, which the local API
 *   serves as resourceVersion; deletions leave tombstones so a local watch can resume.
 */
import type Database from 'better-sqlite3';
import { mapDigest, parseKey, type CacheEntry, type JsonObject, type SyncOp } from '../../protocol/index.js';
import type { Logger } from 'pino';
import { planApply, type ApplyPlan, type CacheView } from './apply-plan.js';
import { ChangeNotifier, type ChangeListener } from './change-notifier.js';
import { MetaTable } from './meta-table.js';
import { ReplacingPut } from './replacing-put.js';
import type { SecretCipher } from './secret-cipher.js';
import type { ApplyResult, SyncCache } from './sync-cache.js';

export interface CacheStoreOptions {
  cipher: SecretCipher;
  logger: Logger;
  /** Clock for `updated` and tombstones, ms since the epoch. */
  now?: () => number;
  /** How many deletions local watches can catch up on; older ones are compacted. Default 10,000. */
  tombstoneLimit?: number;
  /** Receives what an `onChange` listener threw. Default: logged at error level. */
  onListenerError?: (error: unknown) => void;
}

/** An object as the local API serves it: `seq` is its resourceVersion there. */
export interface StoredObject {
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

/** Meta keys the store keeps for itself; `setMeta` refuses them. */
const RESERVED_META_PREFIX = 'store.';
const META_SEQ = 'store.seq';
const META_COMPACTED = 'store.compacted';

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

/** What a committed batch leaves for memory to follow. */
interface BatchOutcome {
  plan: ApplyPlan;
  seq: number;
  compactedSeq: number;
  tombstoneCount: number;
}

type Statement<P extends unknown[] = unknown[], R = unknown> = Database.Statement<P, R>;

export class CacheStore implements SyncCache {
  /** key -> rv of every stored object. */
  private readonly index = new Map<string, string>();
  private readonly notifier: ChangeNotifier;
  private readonly meta: MetaTable;
  private readonly cipher: SecretCipher;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly tombstoneLimit: number;
  private digestMemo: string | undefined;
  private seq: number;
  private compactedSeq: number;
  private tombstoneCount: number;

  private readonly selectBody: Statement<[string], string | Buffer>;
  private readonly upsertObject: Statement<[string, string, string, string, string, string | Buffer, number, number]>;
  private readonly deleteObject: Statement<[string], string>;
  private readonly insertTombstone: Statement<[number, string, string, string, number]>;
  private readonly selectStored: Statement<[string], ObjectRow>;
  private readonly selectRange: Statement<[string, string], ObjectRow>;
  private readonly selectObjectsAfter: Statement<[number], ObjectRow & { kind: string }>;
  private readonly selectTombstonesAfter: Statement<[number], TombstoneRow & { kind: string }>;
  private readonly selectNthTombstone: Statement<[number], number>;
  private readonly deleteTombstonesUpTo: Statement<[number]>;
  private readonly transaction: (ops: readonly SyncOp[]) => BatchOutcome;

  /** Expects a migrated database; `openCacheStore` is the usual way in. */
  constructor(
    readonly db: Database.Database,
    options: CacheStoreOptions,
  ) {
    this.cipher = options.cipher;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.tombstoneLimit = options.tombstoneLimit ?? 10_000;
    this.notifier = new ChangeNotifier(options.onListenerError ?? ((err: unknown) => this.logger.error({ err }, 'cache change listener failed')));
    this.meta = new MetaTable(db);

    this.selectBody = db.prepare<[string], string | Buffer>('SELECT body FROM objects WHERE key = ?').pluck();
    this.upsertObject = db.prepare(
      `INSERT INTO objects (key, kind, ns, name, rv, body, seq, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET rv = excluded.rv, body = excluded.body, seq = excluded.seq, updated = excluded.updated`,
    );
    this.deleteObject = db.prepare<[string], string>('DELETE FROM objects WHERE key = ? RETURNING rv').pluck();
    this.insertTombstone = db.prepare('INSERT INTO tombstones (seq, key, kind, rv, deleted) VALUES (?, ?, ?, ?, ?)');
    this.selectStored = db.prepare<[string], ObjectRow>('SELECT key, rv, seq, body FROM objects WHERE key = ?');
    this.selectRange = db.prepare<[string, string], ObjectRow>('SELECT key, rv, seq, body FROM objects WHERE key >= ? AND key < ? ORDER BY key');
    this.selectObjectsAfter = db.prepare<[number], ObjectRow & { kind: string }>('SELECT key, kind, rv, seq, body FROM objects WHERE seq > ? ORDER BY seq');
    this.selectTombstonesAfter = db.prepare<[number], TombstoneRow & { kind: string }>('SELECT key, kind, rv, seq FROM tombstones WHERE seq > ? ORDER BY seq');
    this.selectNthTombstone = db.prepare<[number], number>('SELECT seq FROM tombstones ORDER BY seq LIMIT 1 OFFSET ?').pluck();
    this.deleteTombstonesUpTo = db.prepare<[number]>('DELETE FROM tombstones WHERE seq <= ?');
    this.transaction = db.transaction((ops: readonly SyncOp[]) => this.writeBatch(ops));

    for (const row of db.prepare<[], { key: string; rv: string }>('SELECT key, rv FROM objects').iterate()) this.index.set(row.key, row.rv);
    this.tombstoneCount = db.prepare<[], number>('SELECT count(*) FROM tombstones').pluck().get() ?? 0;

    const highest = db.prepare<[], number | null>('SELECT max(m) FROM (SELECT max(seq) AS m FROM objects UNION ALL SELECT max(seq) FROM tombstones)').pluck().get() ?? null;
    const stored = this.meta.get(META_SEQ);
    if (stored === undefined && highest === null) {
      // A new database starts counting at the clock, not at 0: a local watch client that
      // held a resourceVersion from a database since replaced (corrupt, moved aside) then
      // asks for a seq this one has not reached and gets 410 Gone, instead of changes
      // that happen to carry the same numbers.
      this.seq = this.now();
      this.compactedSeq = this.seq;
      db.transaction(() => {
        this.meta.set(META_SEQ, String(this.seq));
        this.meta.set(META_COMPACTED, String(this.compactedSeq));
      })();
    } else {
      this.seq = Math.max(Number(stored ?? 0), highest ?? 0);
      this.compactedSeq = Number(this.meta.get(META_COMPACTED) ?? 0);
    }
  }

  get size(): number {
    return this.index.size;
  }

  digest(): string {
    this.digestMemo ??= mapDigest(this.index);
    return this.digestMemo;
  }

  *entries(): Iterable<CacheEntry> {
    yield* this.index;
  }

  rvOf(key: string): string | undefined {
    return this.index.get(key);
  }

  /**
   * The stored object, decoded afresh. A row that no longer decodes (bytes damaged in a way
   * the page checks do not see, or a Secret sealed with another key) is dropped, so the
   * digest stops claiming it and the next resync fetches it again.
   */
  get(key: string): JsonObject | undefined {
    if (!this.index.has(key)) return undefined;
    try {
      return this.decode(key, this.selectBody.get(key));
    } catch (error) {
      this.dropUnreadable([key], error);
      return undefined;
    }
  }

  apply(ops: readonly SyncOp[]): ApplyResult {
    const { plan, seq, compactedSeq, tombstoneCount } = this.transaction(ops);
    // Committed: only now does memory follow, so a batch that threw left nothing behind.
    for (const [key, state] of plan.final) {
      if (state) this.index.set(key, state.rv);
      else this.index.delete(key);
    }
    if (plan.changes.length > 0) this.digestMemo = undefined;
    this.seq = seq;
    this.compactedSeq = compactedSeq;
    this.tombstoneCount = tombstoneCount;
    this.notifier.emit(plan.changes);
    return { changes: plan.changes, needs: plan.needs, skipped: plan.skipped, refused: plan.refused };
  }

  onChange(listener: ChangeListener): () => void {
    return this.notifier.add(listener);
  }

  /** One object with its seq (what the local API serves for a GET), or undefined. */
  getStored(key: string): StoredObject | undefined {
    if (!this.index.has(key)) return undefined;
    const row = this.selectStored.get(key);
    try {
      if (row === undefined) throw new Error('row is missing');
      return { key, rv: row.rv, seq: row.seq, obj: this.decode(key, row.body) };
    } catch (error) {
      this.dropUnreadable([key], error);
      return undefined;
    }
  }

  /** The objects of `kind` (in `namespace`, when given) ordered by key, and the seq they were read at. */
  list(kind: string, namespace?: string): { seq: number; items: StoredObject[] } {
    if (!/^[A-Z][A-Za-z0-9]*$/.test(kind)) throw new Error(`invalid kind ${JSON.stringify(kind)}`);
    if (namespace !== undefined && namespace.includes('/')) throw new Error(`invalid namespace ${JSON.stringify(namespace)}`);
    // Keys sort as "Kind/ns/name", so one kind (and namespace) is a range of the primary key;
    // '0' is the character after '/'.
    const prefix = namespace === undefined ? `${kind}/` : `${kind}/${namespace}/`;
    const items: StoredObject[] = [];
    const unreadable = new Map<string, unknown>();
    for (const row of this.selectRange.all(prefix, `${prefix.slice(0, -1)}0`)) {
      try {
        items.push({ key: row.key, rv: row.rv, seq: row.seq, obj: this.decode(row.key, row.body) });
      } catch (error) {
        unreadable.set(row.key, error);
      }
    }
    for (const [key, error] of unreadable) this.dropUnreadable([key], error);
    return { seq: this.seq, items };
  }

  /** The local change counter: the seq of the latest write. */
  currentSeq(): number {
    return this.seq;
  }

  /** What changed after `since` (a seq from `list`, `currentSeq` or an earlier change), optionally of one kind. */
  changesSince(since: number, kind?: string): ChangesSince {
    if (!Number.isSafeInteger(since) || since < this.compactedSeq || since > this.seq) return { gone: true, seq: this.seq };
    const changes: LocalChange[] = [];
    const unreadable = new Map<string, unknown>();
    for (const row of this.selectObjectsAfter.all(since)) {
      if (kind !== undefined && row.kind !== kind) continue;
      try {
        changes.push({ type: 'put', key: row.key, rv: row.rv, seq: row.seq, obj: this.decode(row.key, row.body) });
      } catch (error) {
        unreadable.set(row.key, error);
      }
    }
    for (const row of this.selectTombstonesAfter.all(since)) {
      if (kind !== undefined && row.kind !== kind) continue;
      changes.push({ type: 'del', key: row.key, rv: row.rv, seq: row.seq });
    }
    changes.sort((a, b) => a.seq - b.seq);
    if (unreadable.size > 0) {
      for (const [key, error] of unreadable) this.dropUnreadable([key], error);
      return this.changesSince(since, kind);
    }
    return { gone: false, seq: this.seq, changes };
  }

  getMeta(k: string): string | undefined {
    return this.meta.get(k);
  }

  /** Stores a small value with the cache (the link keeps the last hub id here). Names starting with "store." are the store's own. */
  setMeta(k: string, v: string): void {
    if (k.startsWith(RESERVED_META_PREFIX)) throw new Error(`meta key ${JSON.stringify(k)} is reserved for the store`);
    this.meta.set(k, v);
  }

  close(): void {
    this.db.close();
  }

  /** The body of one batch, inside the transaction. */
  private writeBatch(ops: readonly SyncOp[]): BatchOutcome {
    const plan = planApply(ops, this.view);
    const unchanged = { plan, seq: this.seq, compactedSeq: this.compactedSeq, tombstoneCount: this.tombstoneCount };
    if (plan.changes.length === 0) return unchanged;
    const now = this.now();
    let seq = this.seq;
    let tombstoneCount = this.tombstoneCount;
    for (const change of plan.changes) {
      seq++;
      const ref = parseKey(change.key);
      if (change.type === 'put') {
        this.upsertObject.run(change.key, ref.kind, ref.namespace, ref.name, change.rv as string, this.encode(change.key, change.obj as JsonObject), seq, now);
      } else {
        const rv = this.deleteObject.get(change.key);
        if (rv === undefined) throw new Error(`cache row for ${change.key} vanished during a batch`);
        this.insertTombstone.run(seq, change.key, ref.kind, rv, now);
        tombstoneCount++;
      }
    }
    this.meta.set(META_SEQ, String(seq));
    const pruneTo = this.pruneTombstones(tombstoneCount);
    if (pruneTo === undefined) return { plan, seq, compactedSeq: this.compactedSeq, tombstoneCount };
    return { plan, seq, compactedSeq: pruneTo, tombstoneCount: this.tombstoneLimit };
  }

  /**
   * Keeps the newest `tombstoneLimit` tombstones once there are a tenth more (so the delete
   * runs once per many batches, not on every one); returns the new compaction point.
   */
  private pruneTombstones(count: number): number | undefined {
    if (count <= this.tombstoneLimit + Math.ceil(this.tombstoneLimit / 10)) return undefined;
    const pruneTo = this.selectNthTombstone.get(count - this.tombstoneLimit - 1);
    if (pruneTo === undefined) return undefined;
    this.deleteTombstonesUpTo.run(pruneTo);
    this.meta.set(META_COMPACTED, String(pruneTo));
    return pruneTo;
  }

  /**
   * What the planner reads. Unlike `get`, it never drops an unreadable row (it runs inside the
   * batch's transaction): an unreadable patch base turns into a `need`, and the hub's answer
   * replaces the row.
   */
  private readonly view: CacheView = {
    rvOf: (key) => this.index.get(key),
    get: (key) => this.tryDecode(key, this.selectBody.get(key)),
    replacingPut: (key, rv, obj) => new ReplacingPut(key, rv, obj, this.selectBody.get(key), this.tryDecodeBound),
  };

  private encode(key: string, obj: JsonObject): string | Buffer {
    const json = JSON.stringify(obj);
    return isSecretKey(key) ? this.cipher.seal(json, key) : json;
  }

  private decode(key: string, body: string | Buffer | undefined): JsonObject {
    if (body === undefined) throw new Error('row is missing');
    const json = typeof body === 'string' ? body : this.cipher.open(body, key);
    return JSON.parse(json) as JsonObject;
  }

  private readonly tryDecodeBound = (key: string, body: string | Buffer | undefined): JsonObject | undefined => this.tryDecode(key, body);

  private tryDecode(key: string, body: string | Buffer | undefined): JsonObject | undefined {
    try {
      return this.decode(key, body);
    } catch (error) {
      this.logger.error({ key, err: error }, 'cached object is unreadable');
      return undefined;
    }
  }

  private dropUnreadable(keys: readonly string[], error: unknown): void {
    this.logger.error({ keys, err: error }, 'cached object is unreadable; dropping it so the next resync fetches it again');
    const dels: SyncOp[] = keys.filter((key) => this.index.has(key)).map((key) => ({ op: 'del', key }));
    if (dels.length > 0) this.apply(dels);
  }
}

/** Secrets are sealed whole: the body's data and stringData are the point, and its metadata is small. */
export function isSecretKey(key: string): boolean {
  return key.startsWith('Secret/');
}
