/**
 * Damage to a stopped agent's cache file, the way disks and power cuts damage files: garbage
 * over the header (the file no longer says it is a database), or over one page of a table or
 * index (a torn or misdirected write). The store must notice on the next open, move the file
 * aside and start empty, and the hub's resync must fill it again.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { SeededRandom } from '../random/seeded-random.js';

/** Garbage over the file header, or over one of the file's b-tree pages. */
export type Corruption = 'header' | 'page';

/** Page types of b-tree pages (interior/leaf, index/table): pages that hold data. */
const BTREE_PAGE_TYPES = new Set([0x02, 0x05, 0x0a, 0x0d]);

/** Writes garbage into `file`; returns what was overwritten, for the fault timeline. */
export function corruptCacheFile(file: string, how: Corruption, seed: number): string {
  const random = new SeededRandom(seed);
  const fd = openSync(file, 'r+');
  try {
    const size = fstatSync(fd).size;
    if (how === 'page') {
      const header = Buffer.alloc(100);
      readSync(fd, header, 0, 100, 0);
      const raw = header.readUInt16BE(16);
      const pageSize = raw === 1 ? 65_536 : raw;
      const pages = pageSize >= 512 ? Math.floor(size / pageSize) : 0;
      const candidates: number[] = [];
      const type = Buffer.alloc(1);
      // Page 1 holds the schema behind the file header; pages 2.. are tables and indexes.
      for (let page = 2; page <= pages; page++) {
        readSync(fd, type, 0, 1, (page - 1) * pageSize);
        if (BTREE_PAGE_TYPES.has(type[0]!)) candidates.push(page);
      }
      if (candidates.length > 0) {
        const page = random.pick(candidates);
        writeSync(fd, garbage(random, pageSize), 0, pageSize, (page - 1) * pageSize);
        return `page ${page} of ${pages} (${pageSize} B) overwritten`;
      }
      // A file too small to have a data page of its own: the header it is.
    }
    const bytes = Math.min(100, Math.max(1, size));
    writeSync(fd, garbage(random, bytes), 0, bytes, 0);
    return `header (${bytes} B) overwritten`;
  } finally {
    closeSync(fd);
  }
}

function garbage(random: SeededRandom, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random.next() * 256);
  return bytes;
}
