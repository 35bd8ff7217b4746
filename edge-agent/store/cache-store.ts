/**
 * `SyncCache` on SQLite: the agent's cache of everything the hub sent, in `DIR/cache.db`, so
 * the agent starts and runs its pods with the hub out of reach.
 *
 * - A `sync` batch is one transaction; listeners hear about it after the commit.
 * - key -> rv lives in memory too (loaded at open), so `digest()`, `entries()` and `rvOf()`,
 *   which the link calls on every connect and every op, never touch SQL.
 * - Secret bodies are sealed with AES-256-GCM (secret-cipher.ts) before they reach the file.
 * - Every write goes through the change log (change-log.ts): the local seq and tombstones the
 *   local API serves and resumes watches from. `list`, `getStored`, `currentSeq` and
 *   `changesSince` are the change log's, here so the cache is the local API's read model.
 * - Whether the cache is complete (cache-completeness.ts) is kept with it, and lost with rows.
 * - Reads never write. A row that no longer decodes (bytes damaged in a way the page checks do
 *   not see, or a Secret sealed with another key) reads as absent, and is dropped right after
 *   the read, outside it, so the digest stops claiming it and the next resync fetches it again.
 */
import type Database from 'better-sqlite3';
import { mapDigest, parseKey, type CacheEntry, type JsonObject, type SyncOp } from '../../protocol/index.js';
import type { Logger } from 'pino';
import { planApply, type ApplyPlan, type CacheView } from './apply-plan.js';
import { CacheCompleteness } from './cache-completeness.js';
import { ChangeLog, type ChangesSince, type LocalObject, type LogPosition } from './change-log.js';
import { ChangeNotifier, type ChangeListener } from './change-notifier.js';
import { MetaTable } from './meta-table.js';
import { ReplacingPut } from './replacing-put.js';
import type { SecretCipher } from './secret-cipher.js';
import type { ApplyResult, CacheChange, SyncCache } from './sync-cache.js';

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

/** Meta keys the store keeps for itself; `setMeta` refuses them. */
const RESERVED_META_PREFIX = 'store.';

type Statement<P extends unknown[] = unknown[], R = unknown> = Database.Statement<P, R>;

export class CacheStore implements SyncCache {
  /** key -> rv of every stored object. */
  private readonly index = new Map<string, string>();
  private readonly notifier: ChangeNotifier;
  private readonly meta: MetaTable;
  private readonly cipher: SecretCipher;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly completeness: CacheCompleteness;
  /** The local API's seq and tombstones. */
  readonly changeLog: ChangeLog;
  private digestMemo: string | undefined;
  /** Rows a read found unreadable, dropped once the read has returned. */
  private readonly unreadable = new Set<string>();
  private repairScheduled = false;

  private readonly selectBody: Statement<[string], string | Buffer>;
  private readonly upsertObject: Statement<[string, string, string, string, string, string | Buffer, number, number]>;
  private readonly deleteObject: Statement<[string], string>;
  private readonly transaction: (ops: readonly SyncOp[]) => { plan: ApplyPlan; position: LogPosition };

  /** Expects a migrated database; `openCacheStore` is the usual way in. */
  constructor(
    readonly db: Database.Database,
    options: CacheStoreOptions,
  ) {
    this.cipher = options.cipher;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.notifier = new ChangeNotifier(options.onListenerError ?? ((err: unknown) => this.logger.error({ err }, 'cache change listener failed')));
    this.meta = new MetaTable(db);
    this.completeness = new CacheCompleteness(this.meta, this.logger);
    this.changeLog = new ChangeLog(db, {
      meta: this.meta,
      now: this.now,
      tombstoneLimit: options.tombstoneLimit ?? 10_000,
      decode: (key, body) => this.decode(key, body),
      unreadable: (key, error) => this.foundUnreadable(key, error),
      subscribe: (listener) => this.onChange(listener),
    });

    this.selectBody = db.prepare<[string], string | Buffer>('SELECT body FROM objects WHERE key = ?').pluck();
    this.upsertObject = db.prepare(
      `INSERT INTO objects (key, kind, ns, name, rv, body, seq, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET rv = excluded.rv, body = excluded.body, seq = excluded.seq, updated = excluded.updated`,
    );
    this.deleteObject = db.prepare<[string], string>('DELETE FROM objects WHERE key = ? RETURNING rv').pluck();
    this.transaction = db.transaction((ops: readonly SyncOp[]) => this.writeBatch(ops));

    for (const row of db.prepare<[], { key: string; rv: string }>('SELECT key, rv FROM objects').iterate()) this.index.set(row.key, row.rv);
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

  *keysOfKind(kind: string): Iterable<string> {
    const prefix = `${kind}/`;
    for (const key of this.index.keys()) if (key.startsWith(prefix)) yield key;
  }

  rvOf(key: string): string | undefined {
    return this.index.get(key);
  }

  /** The stored object, decoded afresh; undefined when absent or unreadable (then dropped after this read). */
  get(key: string): JsonObject | undefined {
    if (!this.index.has(key)) return undefined;
    // A failing read (a closed database, an I/O error) throws: only a body that does not decode is unreadable.
    const body = this.selectBody.get(key);
    try {
      return this.decode(key, body);
    } catch (error) {
      this.foundUnreadable(key, error);
      return undefined;
    }
  }

  apply(ops: readonly SyncOp[]): ApplyResult {
    const { plan, position } = this.transaction(ops);
    // Committed: only now does memory follow, so a batch that threw left nothing behind.
    for (const [key, state] of plan.final) {
      if (state) this.index.set(key, state.rv);
      else this.index.delete(key);
    }
    if (plan.changes.length > 0) this.digestMemo = undefined;
    this.changeLog.committed(position);
    this.notifier.emit(plan.changes);
    return { changes: plan.changes, needs: plan.needs, skipped: plan.skipped, refused: plan.refused };
  }

  onChange(listener: ChangeListener): () => void {
    return this.notifier.add(listener);
  }

  /** Whether the cache holds every object the hub wants here (cache-completeness.ts). */
  get complete(): boolean {
    return this.completeness.complete;
  }

  /** A resync ended in sync with the hub (a matching `synced`). Returns whether the cache was not complete before. */
  markComplete(): boolean {
    return this.completeness.confirm();
  }

  /**
   * Drops rows that cannot be read, so the digest stops claiming them and the next resync
   * fetches them again. The cache is not complete from then on (first on disk, then the rows
   * go): a Pod whose row was lost is unknown, not deleted.
   */
  dropUnreadable(keys: readonly string[]): void {
    const held = keys.filter((key) => this.index.has(key));
    if (held.length === 0) return;
    this.completeness.lose(true);
    this.apply(held.map((key) => ({ op: 'del', key })));
  }

  /** One object with its seq (what the local API serves for a GET), or undefined. */
  getStored(key: string): LocalObject | undefined {
    return this.index.has(key) ? this.changeLog.getStored(key) : undefined;
  }

  list(kind: string, namespace?: string): { seq: number; items: LocalObject[] } {
    return this.changeLog.list(kind, namespace);
  }

  currentSeq(): number {
    return this.changeLog.currentSeq();
  }

  changesSince(since: number, kind?: string): ChangesSince {
    return this.changeLog.changesSince(since, kind);
  }

  getMeta(k: string): string | undefined {
    return this.meta.get(k);
  }

  /** Stores a small value with the cache, in the same file. Names starting with "store." are the store's own. */
  setMeta(k: string, v: string): void {
    if (k.startsWith(RESERVED_META_PREFIX)) throw new Error(`meta key ${JSON.stringify(k)} is reserved for the store`);
    this.meta.set(k, v);
  }

  close(): void {
    this.unreadable.clear();
    this.db.close();
  }

  /** The body of one batch, inside the transaction. */
  private writeBatch(ops: readonly SyncOp[]): { plan: ApplyPlan; position: LogPosition } {
    const plan = planApply(ops, this.view);
    const now = this.now();
    const position = this.changeLog.record(plan.changes, now, (change, seq) => this.writeRow(change, seq, now));
    return { plan, position };
  }

  /** Stores a put's row at `seq`, or deletes a del's row and returns the rv it had. */
  private writeRow(change: CacheChange, seq: number, now: number): string | undefined {
    if (change.type === 'del') return this.deleteObject.get(change.key);
    const ref = parseKey(change.key);
    this.upsertObject.run(change.key, change.kind, ref.namespace, ref.name, change.rv as string, this.encode(change.key, change.obj as JsonObject), seq, now);
    return undefined;
  }

  /**
   * What the planner reads. Unlike `get`, it never reports an unreadable row (it runs inside the
   * batch's transaction): an unreadable patch base turns into a `need`, and the hub's answer
   * replaces the row.
   */
  private readonly view: CacheView = {
    rvOf: (key) => this.index.get(key),
    get: (key) => this.tryDecode(key, this.selectBody.get(key)),
    replacingPut: (key, kind, rv, obj) => new ReplacingPut(key, kind, rv, obj, this.selectBody.get(key), this.tryDecodeBound),
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

  /**
   * A read found `key` unreadable. The read itself writes nothing (it may run inside a change
   * listener, or between two reads that must see the same seq); the cache is not complete from
   * now on, and the row is dropped once the read has returned.
   */
  private foundUnreadable(key: string, error: unknown): void {
    if (!this.index.has(key) || this.unreadable.has(key)) return;
    this.logger.error({ keys: [key], err: error }, 'cached object is unreadable; dropping it so the next resync fetches it again');
    this.completeness.lose(false);
    this.unreadable.add(key);
    if (this.repairScheduled) return;
    this.repairScheduled = true;
    setImmediate(() => {
      this.repairScheduled = false;
      const keys = [...this.unreadable];
      this.unreadable.clear();
      if (!this.db.open) return;
      try {
        this.dropUnreadable(keys);
      } catch (err) {
        this.logger.error({ keys, err }, 'could not drop unreadable cached objects; the next read finds them again');
      }
    });
  }
}

/** Secrets are sealed whole: the body's data and stringData are the point, and its metadata is small. */
export function isSecretKey(key: string): boolean {
  return key.startsWith('Secret/');
}
