/** edge-agent/store: the agent's SQLite cache and upstream outbox, and the in-memory cache for the simulator. */
export type { ApplyResult, CacheChange, RefusedOp, SyncCache } from './sync-cache.js';
export { MAX_OBJECT_DEPTH, depthError, keyNameError, objectError } from './object-rules.js';
export { PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE } from './file-modes.js';
export type { ChangeListener } from './change-notifier.js';
export { planApply, type ApplyPlan, type CacheView, type FinalState } from './apply-plan.js';
export { MemoryCache, type MemoryCacheOptions } from './memory-cache.js';
export { CacheStore, isSecretKey, type CacheStoreOptions } from './cache-store.js';
export { ChangeLog, type ChangesSince, type LocalChange, type LocalObject } from './change-log.js';
export { CACHE_COMPLETE_META } from './cache-completeness.js';
export {
  Outbox,
  DEFAULT_OUTBOX_BYTES,
  type OutboxCounters,
  type OutboxInput,
  type OutboxItem,
  type OutboxKind,
  type OutboxOptions,
  type OutboxReport,
  type UntypedReport,
  type UpstreamOutbox,
  type UpstreamReport,
} from './outbox.js';
export { CACHE_FILE, SECRET_KEY_FILE, openCacheStore, openEdgeStore, type EdgeStore, type OpenCacheStoreOptions } from './open.js';
export { DEFAULT_SYNCHRONOUS, DatabaseCorruptError, configureConnection, openDatabase, type OpenDatabaseOptions, type Synchronous } from './open-database.js';
export { MIGRATIONS, SchemaTooNewError, migrate, schemaVersion, type Migration } from './migrations.js';
export { SecretCipher } from './secret-cipher.js';
export { SECRET_KEY_BYTES, SecretKeyFileError, loadOrCreateSecretKey } from './secret-key-file.js';
