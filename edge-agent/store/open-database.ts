/**
 * Opening the cache file so that the agent always gets a usable database: configured (WAL,
 * synchronous), checked (`PRAGMA quick_check`), migrated, and loaded by the caller's `load`.
 * A file that fails any of that because it is corrupt, is not a database, or was written by a
 * newer schema is moved aside to `cache.db.corrupt-<timestamp>` (with its -wal and -shm) and
 * replaced by an empty one: the cache is a copy of what the hub holds, and the next resync
 * refills it, so starting empty beats not starting. A zero-length file is one too: SQLite would
 * open it as a new, empty database without a word, and the agent would lose its cache silently.
 * Other failures (permissions, a full disk, a lock held by another process) are not the file's
 * fault and are thrown as they are. The file is created 0600 before SQLite opens it, so its -wal
 * and -shm (which SQLite creates with the database file's mode) are 0600 too.
 */
import Database from 'better-sqlite3';
import { existsSync, renameSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { makePrivateFile, tightenIfPresent } from './file-modes.js';
import { migrate, SchemaTooNewError, type Migration } from './migrations.js';

/**
 * `synchronous` in WAL mode, by measurement: `npm run bench -- --only edge-store --ms 2000`,
 * five runs, node 20, 2-vCPU x64 VM shared with other work (load 2.5-5), ext4 on a virtio
 * disk, ~1.4 KB Pods and ConfigMaps:
 *
 *   synchronous   1,000-put batches                  1-op batches (the steady stream)
 *   NORMAL        38,000-46,000 ops/s, p50 16-20 ms   p50 0.05-0.07 ms, p99 0.2-0.8 ms, 6,300-8,600/s
 *   FULL          38,000-56,000 ops/s, p50 15-22 ms   p50 0.30-0.65 ms, p99 1.3-6.8 ms, 1,200-2,200/s
 *
 * FULL fsyncs the WAL at every commit, NORMAL only at checkpoints. For big batches the
 * difference drowns in the noise of the machine; for one-op frames, which is what a steady
 * stream mostly is, FULL costs a disk flush per frame: 5-10x the latency and a fifth of the
 * rate here, and far worse on SD cards and eMMC, the usual edge storage.
 *
 * NORMAL in WAL mode is safe against the failure that matters most, the process dying (kill
 * -9, OOM, a crash): a commit is in the WAL (in the OS page cache) when `apply` returns, and
 * the crash test kills a writer 20 times at random moments and reopens an intact cache each
 * time, every batch all or nothing. On power loss the last transactions before the next
 * checkpoint may be lost, but the file stays consistent (WAL frames are checksummed; recovery
 * stops at the first bad one): the cache then holds an older state with a matching digest,
 * which the next resync with the hub repairs. The outbox can lose its newest rows in that
 * case; a status report is superseded by the next one, and events are best effort. So: NORMAL.
 */
export const DEFAULT_SYNCHRONOUS = 'NORMAL';

export type Synchronous = 'NORMAL' | 'FULL';

export interface OpenDatabaseOptions {
  file: string;
  logger: Logger;
  synchronous?: Synchronous;
  migrations?: readonly Migration[];
  now?: () => number;
}

/** The database failed its integrity check. */
export class DatabaseCorruptError extends Error {
  override readonly name = 'DatabaseCorruptError';
}

/**
 * Opens `file` and runs `load` on it; both inside the corruption guard, so damage that only
 * shows while loading (reading every row) is handled the same way as a failed check.
 */
export function openDatabase<T>(options: OpenDatabaseOptions, load: (db: Database.Database) => T): T {
  try {
    const empty = zeroLength(options.file);
    if (empty) throw new MovedAside(empty, moveAside(options.file, (options.now ?? Date.now)()), 'EMPTY');
    return attempt(options, load, true);
  } catch (error) {
    if (!(error instanceof MovedAside)) throw error;
    options.logger.error(
      { path: options.file, movedTo: error.movedTo, reason: error.reason, code: error.code },
      'cache database is unusable; moved it aside and starting with an empty cache, which the hub resync refills',
    );
    return attempt(options, load, false);
  }
}

/** Why an existing `file` of zero bytes is no cache, or undefined (missing, or not empty). */
function zeroLength(file: string): string | undefined {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (size !== 0) return undefined;
  // A database in WAL mode has its header page on disk from its first statement on: an empty
  // file was truncated (a full disk, a restore gone wrong) or never written.
  return 'the file is empty (0 bytes): truncated, or never written';
}

/** The file was unusable and now lies at `movedTo`. */
class MovedAside extends Error {
  constructor(
    readonly reason: string,
    readonly movedTo: string,
    readonly code: string | undefined,
  ) {
    super(reason);
  }
}

function attempt<T>(options: OpenDatabaseOptions, load: (db: Database.Database) => T, moveIfUnusable: boolean): T {
  makePrivateFile(options.file, options.logger);
  for (const suffix of ['-wal', '-shm']) tightenIfPresent(options.file + suffix, options.logger);
  const db = new Database(options.file);
  try {
    configureConnection(db, options.synchronous ?? DEFAULT_SYNCHRONOUS);
    checkIntegrity(db);
    migrate(db, options.migrations);
    return load(db);
  } catch (error) {
    const reason = moveIfUnusable ? unusableReason(error) : undefined;
    // Rename while the connection is still open: closing it deletes the -wal and -shm (SQLite
    // does that even for a file it could not read), and they belong with the evidence.
    const movedTo = reason === undefined ? undefined : moveAside(options.file, (options.now ?? Date.now)());
    db.close();
    if (reason !== undefined && movedTo !== undefined) throw new MovedAside(reason, movedTo, (error as { code?: string }).code);
    throw error;
  }
}

/**
 * The connection settings every cache file gets (the bench's plain-upsert baseline uses them
 * too, so its comparison shows the store's own cost, not different file settings).
 */
export function configureConnection(db: Database.Database, synchronous: Synchronous): void {
  // 8 KiB pages, not 4: objects are 1-2 KB, and with 4 KiB pages the 1,000-page automatic
  // checkpoint fires every other 1,000-op batch; measured on the store bench, 8 KiB gives
  // ~+35% ops/s on 1,000-op batches (~45k -> ~60k plain upserts) with the same single-op
  // latency. Only takes effect when the file is created; an existing file keeps its size.
  db.pragma('page_size = 8192');
  // The first statement that reads the file header: where a file that is not a database fails.
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new Error(`cannot use WAL mode for ${db.name} (got ${String(mode)})`);
  db.pragma(`synchronous = ${synchronous}`);
  // After a checkpoint, give back WAL space beyond 16 MiB that a big resync made it grow to.
  db.pragma(`journal_size_limit = ${16 * 1024 * 1024}`);
  // A CLI or backup reading the file may hold a lock for a moment; wait for it instead of failing a batch.
  db.pragma('busy_timeout = 5000');
}

/**
 * `quick_check` verifies the b-tree structure of every page (not index contents, which a full
 * `integrity_check` also compares): the damage a torn or overwritten page causes. It reads the
 * whole file once, a few ms per MB, which an edge cache of a few thousand objects affords on
 * every start.
 */
function checkIntegrity(db: Database.Database): void {
  const problems = db.pragma('quick_check(5)', { simple: false }) as Array<Record<string, unknown>>;
  const messages = problems.map((row) => String(Object.values(row)[0]));
  if (messages.length === 1 && messages[0] === 'ok') return;
  throw new DatabaseCorruptError(`quick_check: ${messages.join('; ')}`);
}

/** Why `error` means the file itself is unusable, or undefined when it is some other failure. */
function unusableReason(error: unknown): string | undefined {
  if (error instanceof DatabaseCorruptError || error instanceof SchemaTooNewError) return error.message;
  if (error instanceof Database.SqliteError && /^SQLITE_(CORRUPT|NOTADB)/.test(error.code)) return `${error.code}: ${error.message}`;
  return undefined;
}

/** Renames `file` and its -wal and -shm to `<file>.corrupt-<timestamp>[-wal|-shm]`; returns the new name of `file`. */
function moveAside(file: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:.]/g, '');
  let target = `${file}.corrupt-${stamp}`;
  for (let n = 1; existsSync(target); n++) target = `${file}.corrupt-${stamp}-${n}`;
  if (existsSync(file)) renameSync(file, target);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(file + suffix)) renameSync(file + suffix, target + suffix);
  }
  return target;
}
