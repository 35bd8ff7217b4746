/**
 * The cache file's schema, as an ordered list of migrations. `PRAGMA user_version` records the
 * last one applied; each runs in its own transaction together with the version bump, so a kill
 * -9 during an upgrade leaves the file at the old version or the new one, never in between.
 * Append new migrations; never edit one that has shipped.
 */
import type Database from 'better-sqlite3';

export interface Migration {
  /** 1, 2, 3, ... in list order. */
  version: number;
  description: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'objects with a local change counter, tombstones for local watches, the upstream outbox, meta',
    up(db) {
      db.exec(`
        -- Every object the hub sent. body is the object's JSON text, or for Secret/... keys a
        -- sealed blob (secret-cipher.ts); it is the last column so that reading the others
        -- never walks a large body's overflow pages. seq is the local change counter at the
        -- last write, which the local API serves as resourceVersion. Lists by kind and
        -- namespace are range scans of the primary key ("Kind/ns/name"), so no other index is
        -- needed for them.
        CREATE TABLE objects (
          key     TEXT PRIMARY KEY,
          kind    TEXT NOT NULL,
          ns      TEXT NOT NULL,
          name    TEXT NOT NULL,
          rv      TEXT NOT NULL,
          seq     INTEGER NOT NULL,
          updated INTEGER NOT NULL,
          body    BLOB NOT NULL
        );
        CREATE INDEX objects_by_seq ON objects (seq);

        -- Deletions, so a local watch can resume from a seq; the oldest are compacted away.
        CREATE TABLE tombstones (
          seq     INTEGER PRIMARY KEY,
          key     TEXT NOT NULL,
          kind    TEXT NOT NULL,
          rv      TEXT NOT NULL,
          deleted INTEGER NOT NULL
        );

        -- Reports waiting to go upstream. AUTOINCREMENT: an id is never reused, so a late ack
        -- for a removed row can never remove a newer one.
        CREATE TABLE outbox (
          id       INTEGER PRIMARY KEY AUTOINCREMENT,
          kind     TEXT NOT NULL CHECK (kind IN ('status', 'event')),
          priority INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 9),
          created  INTEGER NOT NULL,
          expires  INTEGER,
          bytes    INTEGER NOT NULL,
          body     TEXT NOT NULL,
          dedupe   TEXT
        );
        CREATE INDEX outbox_send_order ON outbox (priority DESC, created, id);
        CREATE INDEX outbox_evict_order ON outbox (priority, created, id);
        CREATE INDEX outbox_expiry ON outbox (expires) WHERE expires IS NOT NULL;
        CREATE UNIQUE INDEX outbox_dedupe ON outbox (dedupe) WHERE dedupe IS NOT NULL;

        CREATE TABLE meta (
          k TEXT PRIMARY KEY,
          v TEXT NOT NULL
        ) WITHOUT ROWID;
      `);
    },
  },
];

/** The file was written by a newer agent: this one cannot know what its tables mean. */
export class SchemaTooNewError extends Error {
  override readonly name = 'SchemaTooNewError';
}

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies every migration newer than the file's version. Returns the versions before and after. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): { from: number; to: number } {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`migration ${index} has version ${migration.version}, expected ${index + 1}`);
  });
  const latest = migrations.length;
  const from = schemaVersion(db);
  if (from > latest) throw new SchemaTooNewError(`schema version ${from} is newer than this agent knows (${latest})`);
  for (const migration of migrations.slice(from)) {
    db.transaction(() => {
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
  return { from, to: latest };
}
