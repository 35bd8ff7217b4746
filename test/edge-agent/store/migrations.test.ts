/** The schema is a list of migrations tracked by PRAGMA user_version; an older file is upgraded in place. */
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CACHE_FILE, MIGRATIONS, migrate, schemaVersion, type Migration } from '../../../edge-agent/store/index.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { configMap, put, StoreDir } from './helpers.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A later schema: what a real v2 would look like (a new column, back-filled, and an index on it). */
const v2: Migration = {
  version: 2,
  description: 'objects.bytes: body size, for a size-aware local API',
  up(db) {
    db.exec('ALTER TABLE objects ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0');
    db.exec('UPDATE objects SET bytes = length(body)');
    db.exec('CREATE INDEX objects_by_bytes ON objects (bytes)');
  },
};

describe('migrations', () => {
  it('a new file gets every migration, and the version of the last', () => {
    const tmp = makeTempDir();
    cleanups.push(tmp.remove);
    const db = new Database(path.join(tmp.path, 'x.db'));
    cleanups.unshift(() => db.close());
    expect(migrate(db)).toEqual({ from: 0, to: MIGRATIONS.length });
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    const tables = db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['meta', 'objects', 'outbox', 'tombstones']));
    expect(migrate(db)).toEqual({ from: MIGRATIONS.length, to: MIGRATIONS.length }); // idempotent
  });

  it('a cache written at an older user_version opens upgraded, with its objects, digest and seq', () => {
    const dir = new StoreDir();
    cleanups.push(() => dir.cleanup());
    dir.store.apply([put('ConfigMap/default/a', configMap('a', { k: 'v' })), put('ConfigMap/default/b', configMap('b', {}))]);
    const digest = dir.store.digest();
    const seq = dir.store.currentSeq();
    dir.store.close();

    const upgraded = dir.reopen({ migrations: [...MIGRATIONS, v2] });

    expect(schemaVersion(upgraded.db)).toBe(2);
    expect(upgraded.digest()).toBe(digest);
    expect(upgraded.currentSeq()).toBe(seq);
    expect(upgraded.get('ConfigMap/default/a')).toEqual(configMap('a', { k: 'v' }));
    const sizes = upgraded.db.prepare<[], { key: string; bytes: number }>('SELECT key, bytes FROM objects ORDER BY key').all();
    expect(sizes.map((row) => row.key)).toEqual(['ConfigMap/default/a', 'ConfigMap/default/b']);
    expect(sizes.every((row) => row.bytes > 20)).toBe(true);
    // and it keeps working on the new schema
    upgraded.apply([put('ConfigMap/default/c', configMap('c', {}))]);
    expect(dir.reopen({ migrations: [...MIGRATIONS, v2] }).size).toBe(3);
    expect(dir.log.lines.filter((line) => line.level >= 50)).toEqual([]);
  });

  it('a migration that fails leaves the file at its old version, untouched', () => {
    const tmp = makeTempDir();
    cleanups.push(tmp.remove);
    const db = new Database(path.join(tmp.path, CACHE_FILE));
    cleanups.unshift(() => db.close());
    migrate(db);
    const half: Migration = {
      version: 2,
      description: 'fails half way',
      up(inner) {
        inner.exec('CREATE TABLE half_done (x)');
        throw new Error('step two failed');
      },
    };
    expect(() => migrate(db, [...MIGRATIONS, half])).toThrow('step two failed');
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half_done'").get()).toEqual({ n: 0 });
  });

  it('refuses a list whose versions are not 1, 2, 3, ...', () => {
    const tmp = makeTempDir();
    cleanups.push(tmp.remove);
    const db = new Database(path.join(tmp.path, 'x.db'));
    cleanups.unshift(() => db.close());
    expect(() => migrate(db, [{ ...v2, version: 2 }])).toThrow(/expected 1/);
    expect(schemaVersion(db)).toBe(0);
  });
});
