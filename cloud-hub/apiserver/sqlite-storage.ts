/**
 * The embedded API's state: one SQLite file holding every object, the recent change history
 * that watches resume from, and the global resourceVersion counter.
 *
 * Writes are group-committed: commit() applies a write inside the open batch transaction (a
 * savepoint each, so a failed write leaves no trace) and flush() commits the batch. The caller
 * answers a write only after the flush that made it durable, and reads flush first, so nobody
 * ever sees state that a crash could take back; a batch holds whatever writes arrived in one
 * turn of the event loop, which turns one SQLite commit per write into one per turn. Object
 * rows, history rows and the counter always change together. The history is what makes a watch
 * from resourceVersion N work across a restart (client-node's ListWatch re-watches from the last
 * resourceVersion it saw, exactly as it would after kube-apiserver restarts); it is trimmed to
 * the newest `historyWindow` changes, and a watch from before the trimmed point gets 410 Gone.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import type { JsonObject } from '../../protocol/index.js';
import { metadataOf } from './objects.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ChangeInput {
  /** Storage key of the resource (`pods`, `leases.coordination.k8s.io`). */
  resource: string;
  namespace: string;
  name: string;
  type: ChangeType;
  /** The object after the change; for DELETED its last state. Its resourceVersion is set here. */
  object: JsonObject;
  /** The object before a MODIFIED change, so watches with selectors can tell an object entering or leaving them. */
  prev?: JsonObject;
  /** `prev` as stored (its JSON text), when the caller has it: saves serialising it again for the history. */
  prevBody?: string;
}

/** A change as committed: with its resourceVersion and the serialized object. */
export interface CommittedChange {
  rv: number;
  resource: string;
  namespace: string;
  name: string;
  type: ChangeType;
  object: JsonObject;
  body: string;
  prev?: JsonObject;
}

export interface StoredRow {
  namespace: string;
  name: string;
  rv: number;
  body: string;
}

interface HistoryRow {
  rv: number;
  resource: string;
  namespace: string;
  name: string;
  type: ChangeType;
  body: string;
  prev: string | null;
}

export interface SqliteObjectStorageOptions {
  /** Path of the SQLite file. */
  path: string;
  /** How many of the newest changes are kept for watches to resume from. */
  historyWindow: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS objects (
  resource  TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name      TEXT NOT NULL,
  rv        INTEGER NOT NULL,
  body      TEXT NOT NULL,
  PRIMARY KEY (resource, namespace, name)
) WITHOUT ROWID;
-- The keys alone, for a paged list's remainingItemCount: counting the rest of the table walked
-- every body (a 20,000-Pod list in pages of 250 spent ~5 s in counts, 59 ms a page; 5 ms with
-- this). Updates leave it alone (they change rv and body only); creates and deletes write it.
CREATE INDEX IF NOT EXISTS objects_keys ON objects (resource, namespace, name);
CREATE TABLE IF NOT EXISTS changes (
  rv        INTEGER PRIMARY KEY,
  resource  TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name      TEXT NOT NULL,
  type      TEXT NOT NULL,
  body      TEXT NOT NULL,
  prev      TEXT
);
CREATE TABLE IF NOT EXISTS meta (
  k TEXT PRIMARY KEY,
  v TEXT NOT NULL
) WITHOUT ROWID;
`;

export class SqliteObjectStorage {
  private readonly db: Database.Database;
  /** Newest resourceVersion handed out, committed or in the open batch. */
  private rv: number;
  private compacted: number;
  /** The same two as of the last successful flush. */
  private committedRv: number;
  private committedCompacted: number;
  private readonly historyWindow: number;
  /** Trim in steps of this many changes so a large window does not pay a DELETE per write. */
  private readonly trimStep: number;
  private readonly statements;

  constructor(options: SqliteObjectStorageOptions) {
    if (!Number.isInteger(options.historyWindow) || options.historyWindow < 1) throw new Error(`historyWindow must be a positive integer, got ${options.historyWindow}`);
    this.historyWindow = options.historyWindow;
    this.trimStep = Math.max(1, Math.floor(options.historyWindow / 100));
    makePrivate(options.path);
    this.db = new Database(options.path);
    // One process owns the file: a second server on the same data dir would hand out the same
    // resourceVersions. EXCLUSIVE makes it fail on open instead; the OS drops the lock on kill -9.
    this.db.pragma('locking_mode = EXCLUSIVE');
    this.db.pragma('journal_mode = WAL');
    // synchronous=NORMAL in WAL mode: a commit is in the WAL (the OS page cache) before it
    // returns, so it survives the process being killed (kill -9, a crash, OOM) at any moment;
    // only an OS crash or power loss can lose the last commits, which is acceptable for a
    // development/single-site API and saves an fsync per write (FULL would cap writes at the
    // disk's fsync rate). The WAL is fsynced at checkpoints, so the file is never corrupt.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 1000');
    // Checkpoint (and fsync) every ~16 MiB of WAL instead of SQLite's 4 MiB: a quarter of the fsyncs on the write path.
    this.db.pragma('wal_autocheckpoint = 4000');
    this.db.exec(SCHEMA);
    this.statements = {
      getMeta: this.db.prepare<[string], { v: string }>('SELECT v FROM meta WHERE k = ?'),
      setMeta: this.db.prepare<[string, string]>('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v'),
      get: this.db.prepare<[string, string, string], { rv: number; body: string }>('SELECT rv, body FROM objects WHERE resource = ? AND namespace = ? AND name = ?'),
      exists: this.db.prepare<[string, string, string], { x: number }>('SELECT 1 AS x FROM objects WHERE resource = ? AND namespace = ? AND name = ?'),
      upsert: this.db.prepare<[string, string, string, number, string]>(
        'INSERT INTO objects (resource, namespace, name, rv, body) VALUES (?, ?, ?, ?, ?) ON CONFLICT (resource, namespace, name) DO UPDATE SET rv = excluded.rv, body = excluded.body',
      ),
      remove: this.db.prepare<[string, string, string]>('DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?'),
      appendChange: this.db.prepare<[number, string, string, string, string, string, string | null]>(
        'INSERT INTO changes (rv, resource, namespace, name, type, body, prev) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      trim: this.db.prepare<[number]>('DELETE FROM changes WHERE rv <= ?'),
      begin: this.db.prepare('BEGIN'),
      commitBatch: this.db.prepare('COMMIT'),
      rollbackBatch: this.db.prepare('ROLLBACK'),
      savepoint: this.db.prepare('SAVEPOINT write'),
      release: this.db.prepare('RELEASE write'),
      rollbackToSavepoint: this.db.prepare('ROLLBACK TO write'),
      listAll: this.db.prepare<[string, string, string, number], StoredRow>(
        'SELECT namespace, name, rv, body FROM objects WHERE resource = ? AND (namespace, name) > (?, ?) ORDER BY namespace, name LIMIT ?',
      ),
      listNamespace: this.db.prepare<[string, string, string, number], StoredRow>(
        'SELECT namespace, name, rv, body FROM objects WHERE resource = ? AND namespace = ? AND name > ? ORDER BY name LIMIT ?',
      ),
      countNamespace: this.db.prepare<[string, string], { n: number }>('SELECT count(*) AS n FROM objects WHERE resource = ? AND namespace = ?'),
      countAllAfter: this.db.prepare<[string, string, string], { n: number }>('SELECT count(*) AS n FROM objects WHERE resource = ? AND (namespace, name) > (?, ?)'),
      countNamespaceAfter: this.db.prepare<[string, string, string], { n: number }>('SELECT count(*) AS n FROM objects WHERE resource = ? AND namespace = ? AND name > ?'),
      // No index on resource: replay reads the (bounded) tail of the history by rv and skips
      // other resources, which costs less than one more B-tree page written per change.
      changesSince: this.db.prepare<[number, string], HistoryRow>('SELECT rv, resource, namespace, name, type, body, prev FROM changes WHERE rv > ? AND resource = ? ORDER BY rv'),
      newestChange: this.db.prepare<[], { rv: number | null }>('SELECT max(rv) AS rv FROM changes'),
    };
    // The counter is the newest change's resourceVersion: the history always keeps the newest
    // change, so no counter row has to be written per commit. meta.rv covers an empty history.
    this.rv = Math.max(Number(this.statements.getMeta.get('rv')?.v ?? '0'), this.statements.newestChange.get()?.rv ?? 0);
    this.compacted = Number(this.statements.getMeta.get('compacted')?.v ?? '0');
    this.committedRv = this.rv;
    this.committedCompacted = this.compacted;
  }

  /** The newest committed resourceVersion; it only grows, across restarts too. */
  get currentRv(): number {
    return this.committedRv;
  }

  /** Changes up to and including this resourceVersion are no longer kept (as committed). */
  get compactedThrough(): number {
    return this.committedCompacted;
  }

  /** True while writes wait in the open batch for flush(). */
  get hasPending(): boolean {
    return this.db.inTransaction;
  }

  get(resource: string, namespace: string, name: string): { rv: number; body: string } | undefined {
    return this.statements.get.get(resource, namespace, name);
  }

  exists(resource: string, namespace: string, name: string): boolean {
    return this.statements.exists.get(resource, namespace, name) !== undefined;
  }

  /**
   * Objects of a resource in (namespace, name) order, after `after` (exclusive), at most
   * `limit`. `namespace` undefined lists every namespace.
   */
  list(resource: string, namespace: string | undefined, after?: { namespace: string; name: string }, limit = Number.MAX_SAFE_INTEGER): StoredRow[] {
    // Names are never empty, so ('', '') sorts before every stored row.
    if (namespace === undefined) return this.statements.listAll.all(resource, after?.namespace ?? '', after?.name ?? '', limit);
    return this.statements.listNamespace.all(resource, namespace, after?.name ?? '', limit);
  }

  /** How many objects list() would still return after `after` (a paged list's remainingItemCount). */
  countAfter(resource: string, namespace: string | undefined, after: { namespace: string; name: string }): number {
    if (namespace === undefined) return this.statements.countAllAfter.get(resource, after.namespace, after.name)?.n ?? 0;
    return this.statements.countNamespaceAfter.get(resource, namespace, after.name)?.n ?? 0;
  }

  countInNamespace(resource: string, namespace: string): number {
    return this.statements.countNamespace.get(resource, namespace)?.n ?? 0;
  }

  /** Changes of `resource` with resourceVersion > `rv`, oldest first. Check compactedThrough first. */
  changesSince(resource: string, rv: number): CommittedChange[] {
    return this.statements.changesSince.all(rv, resource).map((row) => {
      const change: CommittedChange = {
        rv: row.rv,
        resource: row.resource,
        namespace: row.namespace,
        name: row.name,
        type: row.type,
        object: JSON.parse(row.body) as JsonObject,
        body: row.body,
      };
      if (row.prev !== null) change.prev = JSON.parse(row.prev) as JsonObject;
      return change;
    });
  }

  /**
   * Applies the changes, each with the next resourceVersion, inside the open batch (opening one
   * if needed) and returns them as they will be committed by the next flush(). All or none of
   * `changes` are applied. The objects' metadata.resourceVersion is set in place.
   */
  commit(changes: ChangeInput[]): CommittedChange[] {
    if (!this.db.inTransaction) this.statements.begin.run();
    this.statements.savepoint.run();
    const committed: CommittedChange[] = [];
    let rv = this.rv;
    let compacted = this.compacted;
    try {
      for (const change of changes) {
        rv++;
        metadataOf(change.object).resourceVersion = String(rv);
        const body = JSON.stringify(change.object);
        if (change.type === 'DELETED') this.statements.remove.run(change.resource, change.namespace, change.name);
        else this.statements.upsert.run(change.resource, change.namespace, change.name, rv, body);
        this.statements.appendChange.run(rv, change.resource, change.namespace, change.name, change.type, body, change.prev ? (change.prevBody ?? JSON.stringify(change.prev)) : null);
        const out: CommittedChange = { rv, resource: change.resource, namespace: change.namespace, name: change.name, type: change.type, object: change.object, body };
        if (change.prev !== undefined) out.prev = change.prev;
        committed.push(out);
      }
      if (rv - this.historyWindow - compacted >= this.trimStep) {
        compacted = rv - this.historyWindow;
        this.statements.trim.run(compacted);
        this.statements.setMeta.run('compacted', String(compacted));
        this.statements.setMeta.run('rv', String(rv));
      }
      this.statements.release.run();
    } catch (err) {
      this.statements.rollbackToSavepoint.run();
      this.statements.release.run();
      // The objects carry resourceVersions that were never written.
      for (const change of changes) delete metadataOf(change.object).resourceVersion;
      throw err;
    }
    this.rv = rv;
    this.compacted = compacted;
    return committed;
  }

  /**
   * Commits the open batch. On failure the batch is rolled back, the counter goes back to the
   * last committed value, and the error is thrown: none of the batch's writes happened.
   */
  flush(): void {
    if (!this.db.inTransaction) return;
    try {
      this.statements.commitBatch.run();
    } catch (err) {
      if (this.db.inTransaction) this.statements.rollbackBatch.run();
      this.rv = this.committedRv;
      this.compacted = this.committedCompacted;
      throw err;
    }
    this.committedRv = this.rv;
    this.committedCompacted = this.compacted;
  }

  /** Commits what is pending and closes the file. */
  close(): void {
    if (!this.db.open) return;
    this.flush();
    this.db.close();
  }
}

/**
 * The database holds every Secret of the embedded cluster in plain text: its folder is made
 * 0700 and the file 0600 (created so before SQLite opens it, which gives its -wal and -shm the
 * same mode), tightening what an older version or a loose umask left behind.
 */
function makePrivate(file: string): void {
  if (file === '' || file === ':memory:') return;
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dirMode = statSync(dir).mode;
  // A sticky folder (/tmp) is shared by design; only a folder of its own is made private.
  if ((dirMode & 0o077) !== 0 && (dirMode & 0o1000) === 0) chmodSync(dir, 0o700);
  closeSync(openSync(file, 'a', 0o600));
  for (const name of [file, `${file}-wal`, `${file}-shm`]) {
    let mode: number;
    try {
      mode = statSync(name).mode;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    if ((mode & 0o077) !== 0) chmodSync(name, 0o600);
  }
}
