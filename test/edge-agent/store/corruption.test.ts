/** A damaged cache file never stops the agent: it is moved aside, logged, and replaced by an empty cache. */
import Database from 'better-sqlite3';
import { closeSync, openSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EMPTY_DIGEST } from '../../../protocol/index.js';
import { CACHE_FILE, MIGRATIONS, type Migration } from '../../../edge-agent/store/index.js';
import { configMap, put, StoreDir } from './helpers.js';

const dirs: StoreDir[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.cleanup();
});

/** A closed store with enough rows to span many pages. */
function filledDir(): StoreDir {
  const dir = new StoreDir();
  dirs.push(dir);
  const ops = [];
  for (let i = 0; i < 600; i++) ops.push(put(`ConfigMap/default/c-${i}`, configMap(`c-${i}`, { payload: 'x'.repeat(300 + (i % 50)) })));
  dir.store.apply(ops);
  dir.store.close(); // checkpoints the WAL into cache.db
  return dir;
}

function expectMovedAsideAndFresh(dir: StoreDir, original: Buffer, reason: RegExp): void {
  const store = dir.open();
  dir.store = store;
  expect(store.size).toBe(0);
  expect(store.digest()).toBe(EMPTY_DIGEST);

  const aside = readdirSync(dir.path).filter((name) => /^cache\.db\.corrupt-\d{8}T\d{9}Z$/.test(name));
  expect(aside).toHaveLength(1);
  expect(readFileSync(path.join(dir.path, aside[0]!)).equals(original)).toBe(true);

  const errors = dir.log.lines.filter((line) => line.level === 50);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ path: path.join(dir.path, CACHE_FILE), movedTo: path.join(dir.path, aside[0]!) });
  expect(String(errors[0]!.reason)).toMatch(reason);
  expect(errors[0]!.msg).toMatch(/moved it aside/);

  // The fresh cache is a working one, and stays so across a reopen.
  store.apply([put('ConfigMap/default/new', configMap('new', {}))]);
  expect(dir.reopen().rvOf('ConfigMap/default/new')).toBeDefined();
  expect(dir.log.lines.filter((line) => line.level === 50)).toHaveLength(1);
}

describe('corrupt cache file', () => {
  it('garbage over the whole file: not a database', () => {
    const dir = filledDir();
    const file = path.join(dir.path, CACHE_FILE);
    writeFileSync(file, randomBytes(statSync(file).size));
    expectMovedAsideAndFresh(dir, readFileSync(file), /SQLITE_NOTADB/);
  });

  it('a file truncated to half its size', () => {
    const dir = filledDir();
    const file = path.join(dir.path, CACHE_FILE);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    expectMovedAsideAndFresh(dir, readFileSync(file), /quick_check|SQLITE_CORRUPT/);
  });

  it('one page in the middle overwritten', () => {
    const dir = filledDir();
    const file = path.join(dir.path, CACHE_FILE);
    const pageSize = 4096;
    const pages = statSync(file).size / pageSize;
    expect(pages).toBeGreaterThan(20);
    const fd = openSync(file, 'r+');
    writeSync(fd, randomBytes(pageSize), 0, pageSize, Math.floor(pages / 2) * pageSize);
    closeSync(fd);
    expectMovedAsideAndFresh(dir, readFileSync(file), /quick_check|SQLITE_CORRUPT/);
  });

  it('a zero-length file is moved aside and logged like any other damage, not reopened silently as an empty database', () => {
    const dir = filledDir();
    const file = path.join(dir.path, CACHE_FILE);
    truncateSync(file, 0);
    expectMovedAsideAndFresh(dir, Buffer.alloc(0), /empty \(0 bytes\)/);
    expect(dir.log.lines.find((line) => line.level === 50)).toMatchObject({ code: 'EMPTY' });
  });

  it('a zero-length file beside a leftover -wal takes the -wal with it', () => {
    const dir = new StoreDir();
    dirs.push(dir);
    dir.store.close();
    const file = path.join(dir.path, CACHE_FILE);
    truncateSync(file, 0);
    writeFileSync(`${file}-wal`, 'wal bytes');
    dir.store = dir.open();
    expect(dir.store.size).toBe(0);
    const moved = readdirSync(dir.path).find((name) => /^cache\.db\.corrupt-\d{8}T\d{9}Z$/.test(name));
    expect(moved).toBeDefined();
    expect(readFileSync(path.join(dir.path, `${moved}-wal`), 'utf8')).toBe('wal bytes');
    expect(dir.log.lines.filter((line) => line.level === 50)).toHaveLength(1);
  });

  it('moves the -wal and -shm along with the file', () => {
    const dir = new StoreDir();
    dirs.push(dir);
    dir.store.apply([put('ConfigMap/default/a', configMap('a', {}))]);
    // Leave the WAL behind as a crash would: a second connection keeps it from being removed on close.
    const file = path.join(dir.path, CACHE_FILE);
    const holder = new Database(file);
    dir.store.close();
    holder.close();
    writeFileSync(file, randomBytes(8192));
    writeFileSync(`${file}-wal`, 'wal bytes');
    writeFileSync(`${file}-shm`, 'shm bytes');
    dir.store = dir.open();
    const names = readdirSync(dir.path);
    const moved = names.find((name) => /^cache\.db\.corrupt-\d{8}T\d{9}Z$/.test(name));
    expect(moved).toBeDefined();
    expect(readFileSync(path.join(dir.path, `${moved}-wal`), 'utf8')).toBe('wal bytes');
    // SQLite rebuilds the -shm (an index of the WAL) on open, so only its presence is kept.
    expect(names).toContain(`${moved}-shm`);
    expect(dir.store.size).toBe(0);
  });

  it('a file from a newer schema is moved aside too', () => {
    const dir = new StoreDir();
    dirs.push(dir);
    dir.store.close();
    const file = path.join(dir.path, CACHE_FILE);
    const db = new Database(file);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    dir.store = dir.open();
    expect(dir.store.size).toBe(0);
    const error = dir.log.lines.find((line) => line.level === 50);
    expect(String(error?.reason)).toMatch(/schema version 2 is newer than this agent knows \(1\)/);
  });

  it('a failure that is not the file\'s fault is thrown, and the file stays where it is', () => {
    const dir = new StoreDir();
    dirs.push(dir);
    dir.store.apply([put('ConfigMap/default/a', configMap('a', {}))]);
    dir.store.close();
    const broken: Migration = { version: 2, description: 'fails', up: () => { throw new Error('disk on fire'); } };
    expect(() => dir.open({ migrations: [...MIGRATIONS, broken] })).toThrow('disk on fire');
    expect(readdirSync(dir.path).filter((name) => name.includes('corrupt'))).toEqual([]);
    dir.store = dir.open();
    expect(dir.store.size).toBe(1);
  });
});
