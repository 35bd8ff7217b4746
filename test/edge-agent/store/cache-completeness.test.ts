/**
 * "Cache complete" belongs to the store: set by a resync that ended in sync with the hub, kept
 * across a restart, and lost with the rows it vouched for (a row that no longer reads, Secrets
 * sealed with another key, a replaced database), so a row lost to damage is never taken for a
 * deletion. And reads never write: damage found by a read is dropped after it.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CACHE_COMPLETE_META, CACHE_FILE, SECRET_KEY_FILE, type CacheChange } from '../../../edge-agent/store/index.js';
import { waitFor } from '../../helpers/wait.js';
import { configMap, pod, put, secret, StoreDir } from './helpers.js';

const dirs: StoreDir[] = [];
function storeDir(): StoreDir {
  const dir = new StoreDir();
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.cleanup();
});

const damage = (dir: StoreDir, key: string) => dir.store.db.prepare('UPDATE objects SET body = ? WHERE key = ?').run('{not json', key);

describe('cache completeness', () => {
  it('starts incomplete, is set once by a matching resync, and survives a reopen', () => {
    const dir = storeDir();
    expect(dir.store.complete).toBe(false);
    expect(dir.store.markComplete()).toBe(true);
    expect(dir.store.markComplete()).toBe(false);
    expect(dir.store.complete).toBe(true);
    expect(dir.log.lines.filter((line) => line.msg === 'cache complete after a resync with the hub: pods it does not hold will be stopped')).toHaveLength(1);
    expect(dir.reopen().complete).toBe(true);
    expect(dir.store.getMeta(CACHE_COMPLETE_META)).toBeDefined();
  });

  it('is lost, in memory at once and on disk with the drop, when a read finds a row it cannot decode', async () => {
    const dir = storeDir();
    dir.store.apply([put('Pod/default/web', pod('web')), put('ConfigMap/default/a', configMap('a', {}))]);
    dir.store.markComplete();
    damage(dir, 'Pod/default/web');

    expect(dir.store.get('Pod/default/web')).toBeUndefined();
    // Whoever reads next in the same pass (the reconciler) already sees it.
    expect(dir.store.complete).toBe(false);
    await waitFor(() => dir.store.rvOf('Pod/default/web') === undefined, { what: 'the row dropped' });
    expect(dir.store.getMeta(CACHE_COMPLETE_META)).toBeUndefined();
    const reopened = dir.reopen();
    expect(reopened.complete).toBe(false);
    expect(reopened.rvOf('ConfigMap/default/a')).toBeDefined();
    // The next complete resync sets it again.
    expect(reopened.markComplete()).toBe(true);
  });

  it('is lost when Secrets sealed with another key are dropped at open', () => {
    const dir = storeDir();
    dir.store.apply([put('Secret/default/s', secret('s', { k: 'v' })), put('Pod/default/web', pod('web'))]);
    dir.store.markComplete();
    dir.store.close();
    writeFileSync(path.join(dir.path, SECRET_KEY_FILE), randomBytes(32), { mode: 0o600 });
    const store = dir.reopen();
    expect(store.rvOf('Secret/default/s')).toBeUndefined();
    expect(store.complete).toBe(false);
  });

  it('is not carried over to a database that replaced a damaged one', () => {
    const dir = storeDir();
    dir.store.markComplete();
    dir.store.close();
    writeFileSync(path.join(dir.path, CACHE_FILE), 'this is not a database '.repeat(200));
    expect(dir.reopen().complete).toBe(false);
  });
});

describe('reads never write', () => {
  it('list, getStored, changesSince and get leave a damaged row out and keep the seq; the drop follows as a deletion watches see', async () => {
    const dir = storeDir();
    dir.store.apply([put('ConfigMap/default/a', configMap('a', { v: '1' })), put('ConfigMap/default/b', configMap('b', {}))]);
    const mark = dir.store.currentSeq() - 2;
    damage(dir, 'ConfigMap/default/a');
    const heard: CacheChange[] = [];
    dir.store.onChange((changes) => heard.push(...changes));
    const seq = dir.store.currentSeq();

    const listed = dir.store.list('ConfigMap');
    expect(listed.items.map((item) => item.key)).toEqual(['ConfigMap/default/b']);
    expect(listed.seq).toBe(seq);
    expect(dir.store.getStored('ConfigMap/default/a')).toBeUndefined();
    const since = dir.store.changesSince(mark);
    expect(since.gone === false && since.changes.map((change) => change.key)).toEqual(['ConfigMap/default/b']);
    expect(dir.store.changeLog.getStored('ConfigMap/default/a')).toBeUndefined();
    expect(dir.store.get('ConfigMap/default/a')).toBeUndefined();
    // Nothing was written by any of those reads, inside them.
    expect(dir.store.currentSeq()).toBe(seq);
    expect(heard).toEqual([]);
    expect(dir.log.lines.filter((line) => line.level === 50 && /unreadable; dropping it/.test(line.msg))).toHaveLength(1);

    await waitFor(() => heard.length > 0, { what: 'the drop' });
    expect(heard.map((change) => [change.type, change.kind, change.key])).toEqual([['del', 'ConfigMap', 'ConfigMap/default/a']]);
    const after = dir.store.changesSince(seq);
    expect(after.gone === false && after.changes.map((change) => [change.type, change.key, change.seq])).toEqual([['del', 'ConfigMap/default/a', seq + 1]]);
  });

  it('a failing read throws instead of passing for damage: nothing is dropped', () => {
    const dir = storeDir();
    dir.store.apply([put('ConfigMap/default/a', configMap('a', {}))]);
    dir.store.markComplete();
    dir.store.close();
    expect(() => dir.store.get('ConfigMap/default/a')).toThrow(/not open/);
    expect(dir.reopen().rvOf('ConfigMap/default/a')).toBeDefined();
    expect(dir.store.complete).toBe(true);
  });
});
