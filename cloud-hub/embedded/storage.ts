/**
 * The embedded API's state: one SQLite file holding every object, the recent change history
 * that watches resume from, and the global resourceVersion counter.
 *
 * Every write is one transaction that bumps the counter, writes the object row and appends the
 * change to the history, so after any crash the three agree. The history is what makes a watch
 * from resourceVersion N work across a restart (client-node's ListWatch re-watches from the last
 * resourceVersion it saw, exactly as it would after kube-apiserver restarts); it is trimmed to
 * the newest `historyWindow` changes, and a watch from before the trimmed point gets 410 Gone.
 */
import Database from 'better-sqlite3';
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

export interface ObjectStorageOptions {
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

export class ObjectStorage {
  private readonly db: Database.Database;
  private rv: number;
  private compacted: number;
  private readonly historyWindow: number;
  /** Trim in steps of this many changes so a large window does not pay a DELETE per write. */
  private readonly trimStep: number;
  private readonly statements;

  constructor(options: ObjectStorageOptions) {
    if (!Number.isInteger(options.historyWindow) || options.historyWindow < 1) throw new Error(`historyWindow must be a positive integer, got ${options.historyWindow}`);
    this.historyWindow = options.historyWindow;
    this.trimStep = Math.max(1, Math.floor(options.historyWindow / 100));
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
      listAll: this.db.prepare<[string, string, string, number], StoredRow>(
        'SELECT namespace, name, rv, body FROM objects WHERE resource = ? AND (namespace, name) > (?, ?) ORDER BY namespace, name LIMIT ?',
      ),
      listNamespace: this.db.prepare<[string, string, string, number], StoredRow>(
        'SELECT namespace, name, rv, body FROM objects WHERE resource = ? AND namespace = ? AND name > ? ORDER BY name LIMIT ?',
      ),
      countNamespace: this.db.prepare<[string, string], { n: number }>('SELECT count(*) AS n FROM objects WHERE resource = ? AND namespace = ?'),
      // No index on resource: replay reads the (bounded) tail of the history by rv and skips
      // other resources, which costs less than one more B-tree page written per change.
      changesSince: this.db.prepare<[number, string], HistoryRow>('SELECT rv, resource, namespace, name, type, body, prev FROM changes WHERE rv > ? AND resource = ? ORDER BY rv'),
      newestChange: this.db.prepare<[], { rv: number | null }>('SELECT max(rv) AS rv FROM changes'),
    };
    // The counter is the newest change's resourceVersion: the history always keeps the newest
    // change, so no counter row has to be written per commit. meta.rv covers an empty history.
    this.rv = Math.max(Number(this.statements.getMeta.get('rv')?.v ?? '0'), this.statements.newestChange.get()?.rv ?? 0);
    this.compacted = Number(this.statements.getMeta.get('compacted')?.v ?? '0');
  }

  /** The newest resourceVersion handed out; it only grows, across restarts too. */
  get currentRv(): number {
    return this.rv;
  }

  /** Changes up to and including this resourceVersion are no longer kept. */
  get compactedThrough(): number {
    return this.compacted;
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
   * Applies the changes in one transaction, each with the next resourceVersion, and returns them
   * as committed. The objects' metadata.resourceVersion is set in place.
   */
  commit(changes: ChangeInput[]): CommittedChange[] {
    const committed: CommittedChange[] = [];
    const run = this.db.transaction(() => {
      let rv = this.rv;
      for (const change of changes) {
        rv++;
        metadataOf(change.object).resourceVersion = String(rv);
        const body = JSON.stringify(change.object);
        if (change.type === 'DELETED') this.statements.remove.run(change.resource, change.namespace, change.name);
        else this.statements.upsert.run(change.resource, change.namespace, change.name, rv, body);
        this.statements.appendChange.run(rv, change.resource, change.namespace, change.name, change.type, body, change.prev ? JSON.stringify(change.prev) : null);
        const out: CommittedChange = { rv, resource: change.resource, namespace: change.namespace, name: change.name, type: change.type, object: change.object, body };
        if (change.prev !== undefined) out.prev = change.prev;
        committed.push(out);
      }
      let compacted = this.compacted;
      if (rv - this.historyWindow - compacted >= this.trimStep) {
        compacted = rv - this.historyWindow;
        this.statements.trim.run(compacted);
        this.statements.setMeta.run('compacted', String(compacted));
        this.statements.setMeta.run('rv', String(rv));
      }
      return { rv, compacted };
    });
    try {
      const { rv, compacted } = run();
      this.rv = rv;
      this.compacted = compacted;
    } catch (err) {
      // The transaction rolled back; the objects carry resourceVersions that were never committed.
      for (const change of changes) delete metadataOf(change.object).resourceVersion;
      throw err;
    }
    return committed;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
