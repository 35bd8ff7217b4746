/**
 * Whether the cache holds everything the hub wants on this node. Once a resync has ended with a
 * matching `synced`, a Pod missing from the cache was deleted by the hub; before, it may only be
 * unknown (a fresh cache, or one replaced after corruption), and the reconciler keeps it running.
 *
 * Kept in `meta`, so it survives a restart, and lost with the rows it vouched for: a replaced
 * database starts without it, and the store takes it back whenever it drops rows it could not
 * read, so a row lost to damage is never taken for a deletion. The next complete resync sets it
 * again.
 */
import type { Logger } from 'pino';
import type { MetaTable } from './meta-table.js';

/** The meta key (its name predates the store owning it; kept so an upgraded agent keeps its state). */
export const CACHE_COMPLETE_META = 'reconcile.cacheComplete';

export class CacheCompleteness {
  private value: boolean;

  constructor(
    private readonly meta: MetaTable,
    private readonly logger: Logger,
  ) {
    this.value = meta.get(CACHE_COMPLETE_META) !== undefined;
  }

  get complete(): boolean {
    return this.value;
  }

  /** A resync ended in sync with the hub. Returns whether the cache was not complete before. */
  confirm(): boolean {
    if (this.value) return false;
    this.value = true;
    try {
      this.meta.set(CACHE_COMPLETE_META, new Date().toISOString());
    } catch (err) {
      // Known for this run; the next start waits for a resync again, which is the safe side.
      this.logger.error({ err: (err as Error).message }, 'could not record that the cache is complete');
    }
    this.logger.info('cache complete after a resync with the hub: pods it does not hold will be stopped');
    return true;
  }

  /** Rows are about to be lost (or a read found them unreadable): not complete from now on. With `persist`, on disk too. */
  lose(persist: boolean): void {
    if (this.value) this.logger.warn('cache no longer complete: it lost rows it could not read; pods it does not hold are kept until the next resync with the hub');
    this.value = false;
    if (persist) this.meta.delete(CACHE_COMPLETE_META);
  }
}
