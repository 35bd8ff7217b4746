/**
 * The way in: `openCacheStore(DIR)` gives the agent its cache in `DIR/cache.db`, creating the
 * directory (0700), the secret key and the schema on first start, making the directory and the
 * database files private and checking and if need be replacing a damaged file on every start. `openEdgeStore` adds the outbox on the same database.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { CacheStore } from './cache-store.js';
import { makePrivateDirectory } from './file-modes.js';
import type { Migration } from './migrations.js';
import { openDatabase, type Synchronous } from './open-database.js';
import { Outbox, type OutboxOptions, type UpstreamOutbox, type UpstreamReport } from './outbox.js';
import { SecretCipher } from './secret-cipher.js';
import { secretsSealedWithAnotherKey } from './secret-key-check.js';
import { loadOrCreateSecretKey } from './secret-key-file.js';

export const CACHE_FILE = 'cache.db';
export const SECRET_KEY_FILE = 'secret.key';

export interface OpenCacheStoreOptions {
  /** The agent's data directory; created 0700 when missing, tightened to 0700 (with a log line) when looser. */
  dir: string;
  logger: Logger;
  /** Default NORMAL; see open-database.ts for why. */
  synchronous?: Synchronous;
  now?: () => number;
  tombstoneLimit?: number;
  onListenerError?: (error: unknown) => void;
  /** The schema; tests pass their own to exercise upgrades. */
  migrations?: readonly Migration[];
}

/** Throws `SecretKeyFileError` when `DIR/secret.key` is readable by others or malformed. */
export function openCacheStore(options: OpenCacheStoreOptions): CacheStore {
  makePrivateDirectory(options.dir, options.logger);
  // The key first: a bad key file stops the start before the database is touched.
  const cipher = new SecretCipher(loadOrCreateSecretKey(path.join(options.dir, SECRET_KEY_FILE)));
  const { logger, now } = options;
  return openDatabase(
    { file: path.join(options.dir, CACHE_FILE), logger, synchronous: options.synchronous, migrations: options.migrations, now },
    (db) => {
      const store = new CacheStore(db, { cipher, logger, now, tombstoneLimit: options.tombstoneLimit, onListenerError: options.onListenerError });
      const unreadable = secretsSealedWithAnotherKey(db, cipher, logger);
      store.dropUnreadable(unreadable);
      return store;
    },
  );
}

export interface EdgeStore {
  cache: CacheStore;
  outbox: UpstreamOutbox;
  /** Closes the database both use. */
  close(): void;
}

export function openEdgeStore(options: OpenCacheStoreOptions & { outbox?: OutboxOptions }): EdgeStore {
  const cache = openCacheStore(options);
  const outbox = new Outbox<UpstreamReport>(cache.db, { now: options.now, ...options.outbox });
  return { cache, outbox, close: () => cache.close() };
}
