/**
 * Notices when the key file no longer matches the cache (restored from another node, deleted
 * and recreated): a sealed probe value in `meta` opens only with the key that sealed the
 * Secrets. On a mismatch the cached Secrets can never be read again, so they are dropped at
 * open, and the resync fetches them again, instead of failing one read at a time later.
 */
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { MetaTable } from './meta-table.js';
import type { SecretCipher } from './secret-cipher.js';

const META_KEY_CHECK = 'store.secret_key_check';
const PROBE = 'edge-sync secret key check';

/** Returns the keys of cached Secrets sealed with another key (empty when the key matches), and records the current key's probe. */
export function secretsSealedWithAnotherKey(db: Database.Database, cipher: SecretCipher, logger: Logger): string[] {
  const meta = new MetaTable(db);
  const stored = meta.get(META_KEY_CHECK);
  if (stored !== undefined) {
    try {
      if (cipher.open(Buffer.from(stored, 'base64'), META_KEY_CHECK) === PROBE) return [];
    } catch {
      // a different key: handled below
    }
  }
  const keys = db.prepare<[], string>("SELECT key FROM objects WHERE kind = 'Secret'").pluck().all();
  if (stored !== undefined) {
    logger.error({ secrets: keys.length }, 'secret key file does not match the key that sealed the cached Secrets; dropping them so the resync fetches them again');
  }
  meta.set(META_KEY_CHECK, cipher.seal(PROBE, META_KEY_CHECK).toString('base64'));
  return keys;
}
