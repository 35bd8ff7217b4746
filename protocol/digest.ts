/**
 * The cache digest: SHA-256 over the sorted lines `key@rv\n`, base64url. Both ends compute it
 * over what the node holds, so an equal digest proves equal caches without listing them.
 */
import { createHash } from 'node:crypto';

export type CacheEntry = readonly [key: string, rv: string];

/** Digest of a set of `[key, rv]` pairs; the order of `entries` does not matter. */
export function cacheDigest(entries: Iterable<CacheEntry>): string {
  const lines: string[] = [];
  for (const [key, rv] of entries) lines.push(`${key}@${rv}\n`);
  return digestOfLines(lines);
}

/** Digest of a map from key to rv. */
export function mapDigest(map: ReadonlyMap<string, string>): string {
  const lines: string[] = [];
  for (const [key, rv] of map) lines.push(`${key}@${rv}\n`);
  return digestOfLines(lines);
}

function digestOfLines(lines: string[]): string {
  // Plain code-unit order: deterministic, locale-free, and the same in every JavaScript engine.
  // The trailing newline sorts below every character a key may hold, so it does not change the order.
  lines.sort();
  return createHash('sha256').update(lines.join('')).digest('base64url');
}

/** The digest of an empty cache. */
export const EMPTY_DIGEST = cacheDigest([]);
