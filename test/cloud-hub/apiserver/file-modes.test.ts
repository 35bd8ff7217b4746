/** The embedded API server keeps every Secret of its cluster in apiserver.db: 0600 in a 0700 folder, also when they were looser. */
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteObjectStorage } from '../../../cloud-hub/apiserver/sqlite-storage.js';
import { makeTempDir } from '../../helpers/tmp.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

const modeOf = (file: string): number => statSync(file).mode & 0o7777;

describe('embedded API storage file modes', () => {
  it('creates its folder 0700 and apiserver.db (with -wal and -shm) 0600 under a loose umask, and tightens them on the next open', () => {
    const tmp = makeTempDir('embedded-modes-');
    cleanups.push(() => tmp.remove());
    const dir = path.join(tmp.path, 'data');
    const file = path.join(dir, 'apiserver.db');
    const previous = process.umask(0o000);
    try {
      const storage = new SqliteObjectStorage({ path: file, historyWindow: 100 });
      expect(modeOf(dir)).toBe(0o700);
      const names = readdirSync(dir);
      expect(names).toEqual(expect.arrayContaining(['apiserver.db', 'apiserver.db-wal']));
      for (const name of names) expect(modeOf(path.join(dir, name)), name).toBe(0o600);
      storage.close();
    } finally {
      process.umask(previous);
    }
    chmodSync(dir, 0o755);
    chmodSync(file, 0o644);
    const again = new SqliteObjectStorage({ path: file, historyWindow: 100 });
    cleanups.push(() => again.close());
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(file)).toBe(0o600);
  });

  it('leaves a shared sticky folder as it is and still makes the file 0600', () => {
    const tmp = makeTempDir('embedded-modes-');
    cleanups.push(() => tmp.remove());
    const dir = path.join(tmp.path, 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o1777);
    const storage = new SqliteObjectStorage({ path: path.join(dir, 'apiserver.db'), historyWindow: 100 });
    cleanups.push(() => storage.close());
    expect(modeOf(dir)).toBe(0o1777);
    expect(modeOf(path.join(dir, 'apiserver.db'))).toBe(0o600);
  });
});
