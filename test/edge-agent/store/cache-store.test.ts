/** What only the SQLite cache does: persistence, transactions in the file, local seq and watch support, meta. */
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheDigest, contentVersion, type JsonObject, type SyncOp } from '../../../protocol/index.js';
import { CACHE_FILE, type CacheChange } from '../../../edge-agent/store/index.js';
import { waitFor } from '../../helpers/wait.js';
import { configMap, keyFor, pod, put, secret, StoreDir } from './helpers.js';

const dirs: StoreDir[] = [];
function storeDir(options: ConstructorParameters<typeof StoreDir>[0] = {}): StoreDir {
  const dir = new StoreDir(options);
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.cleanup();
});

function objects(n: number): JsonObject[] {
  const list: JsonObject[] = [];
  for (let i = 0; i < n; i++) list.push(i % 3 === 0 ? pod(`p-${i}`) : i % 3 === 1 ? configMap(`c-${i}`, { i: String(i) }, i % 2 ? 'default' : 'other') : secret(`s-${i}`, { token: `t-${i}` }));
  return list;
}

describe('CacheStore', () => {
  it('keeps objects, rvs and the digest across a reopen', () => {
    const dir = storeDir();
    const all = objects(30);
    dir.store.apply(all.map((obj) => put(keyFor(obj), obj)));
    dir.store.apply([{ op: 'del', key: keyFor(all[0]!) }]);
    const digest = dir.store.digest();
    const entries = [...dir.store.entries()];

    const reopened = dir.reopen();
    expect(reopened.size).toBe(29);
    expect(reopened.digest()).toBe(digest);
    expect(reopened.digest()).toBe(cacheDigest(reopened.entries()));
    expect(new Map(reopened.entries())).toEqual(new Map(entries));
    for (const obj of all.slice(1)) expect(reopened.get(keyFor(obj))).toEqual(obj);
    expect(reopened.get(keyFor(all[0]!))).toBeUndefined();
  });

  it('a body that cannot be encoded rolls back the whole batch, in the file too', () => {
    const dir = storeDir();
    const cm = configMap('a', { x: '1' });
    dir.store.apply([put('ConfigMap/default/a', cm)]);
    const heard: unknown[] = [];
    dir.store.onChange((changes) => heard.push(changes));
    const unencodable = { ...configMap('b', {}), big: 1n } as unknown as JsonObject; // JSON.stringify throws on BigInt

    expect(() =>
      dir.store.apply([put('Pod/default/p', pod('p')), { op: 'del', key: 'ConfigMap/default/a' }, { op: 'put', key: 'ConfigMap/default/b', rv: 'rvOfB00000000000', obj: unencodable }]),
    ).toThrow(/BigInt/);

    expect(heard).toEqual([]);
    expect(Object.fromEntries(dir.store.entries())).toEqual({ 'ConfigMap/default/a': contentVersion(cm) });
    const seqBefore = dir.store.currentSeq();
    const reopened = dir.reopen();
    expect(Object.fromEntries(reopened.entries())).toEqual({ 'ConfigMap/default/a': contentVersion(cm) });
    expect(reopened.get('ConfigMap/default/a')).toEqual(cm);
    expect(reopened.currentSeq()).toBe(seqBefore);
  });

  it('listeners run after the commit: another connection already sees the batch', () => {
    const dir = storeDir();
    const other = new Database(path.join(dir.path, CACHE_FILE), { readonly: true });
    try {
      const seenByOther: Array<string | undefined> = [];
      dir.store.onChange((changes) => {
        for (const change of changes) seenByOther.push(other.prepare<[string], string>('SELECT rv FROM objects WHERE key = ?').pluck().get(change.key));
      });
      const cm = configMap('a', { x: '1' });
      dir.store.apply([put('ConfigMap/default/a', cm)]);
      expect(seenByOther).toEqual([contentVersion(cm)]);
    } finally {
      other.close();
    }
  });

  it('serves digest, entries and rvOf from memory, without SQL', () => {
    const dir = storeDir();
    const cm = configMap('a', { x: '1' });
    dir.store.apply([put('ConfigMap/default/a', cm)]);
    const digest = dir.store.digest();
    dir.store.close(); // any SQL now throws "The database connection is not open"
    expect(dir.store.digest()).toBe(digest);
    expect([...dir.store.entries()]).toEqual([['ConfigMap/default/a', contentVersion(cm)]]);
    expect(dir.store.rvOf('ConfigMap/default/a')).toBe(contentVersion(cm));
    expect(dir.store.size).toBe(1);
    expect(() => dir.store.get('ConfigMap/default/a')).toThrow(/not open/);
  });

  it('previous of a replaced object decodes on demand, from the body read before the write', () => {
    const dir = storeDir();
    const a = secret('s', { k: 'one' });
    const b = secret('s', { k: 'two' });
    dir.store.apply([put('Secret/default/s', a)]);
    const [change] = dir.store.apply([put('Secret/default/s', b)]).changes as [CacheChange];
    dir.store.apply([{ op: 'del', key: 'Secret/default/s' }]); // the row is gone; previous must not need it
    expect(change.previous).toEqual(a);
    expect(change.obj).toEqual(b);
    expect(JSON.parse(JSON.stringify(change))).toEqual({ type: 'put', kind: 'Secret', key: 'Secret/default/s', rv: contentVersion(b), obj: b, previous: a });
  });

  it('lists a kind, or a kind in a namespace, with each object\'s seq', () => {
    const dir = storeDir();
    dir.store.apply([
      put('ConfigMap/default/b', configMap('b', {})),
      put('ConfigMap/default/a', configMap('a', {})),
      put('ConfigMap/other/c', configMap('c', {}, 'other')),
      put('ConfigMap/default0/d', configMap('d', {}, 'default0')),
      put('ConfigMapX/default/e', { ...configMap('e', {}), kind: 'ConfigMapX' }),
      put('Pod/default/p', pod('p')),
    ]);
    const start = dir.store.currentSeq() - 6;
    const all = dir.store.list('ConfigMap');
    expect(all.items.map((item) => item.key)).toEqual(['ConfigMap/default/a', 'ConfigMap/default/b', 'ConfigMap/default0/d', 'ConfigMap/other/c']);
    expect(all.seq).toBe(dir.store.currentSeq());
    const inDefault = dir.store.list('ConfigMap', 'default');
    expect(inDefault.items.map((item) => [item.key, item.seq])).toEqual([
      ['ConfigMap/default/a', start + 2],
      ['ConfigMap/default/b', start + 1],
    ]);
    expect(inDefault.items[0]?.obj).toEqual(configMap('a', {}));
    expect(dir.store.list('Node').items).toEqual([]);
    expect(dir.store.getStored('ConfigMap/default/a')).toEqual(inDefault.items[0]);
    expect(dir.store.getStored('ConfigMap/default/zzz')).toBeUndefined();
    expect(() => dir.store.list('not a kind')).toThrow(/invalid kind/);
  });

  it('seq only grows: per change, persisted, and resumable with changesSince', () => {
    const dir = storeDir();
    const s0 = dir.store.currentSeq();
    dir.store.apply([put('ConfigMap/default/a', configMap('a', { v: '1' })), put('Pod/default/p', pod('p'))]);
    expect(dir.store.currentSeq()).toBe(s0 + 2);
    dir.store.apply([put('ConfigMap/default/a', configMap('a', { v: '1' }))]); // duplicate: no seq
    expect(dir.store.currentSeq()).toBe(s0 + 2);
    const mark = dir.store.currentSeq();
    dir.store.apply([{ op: 'del', key: 'Pod/default/p' }, put('ConfigMap/default/a', configMap('a', { v: '2' })), put('Pod/default/p', pod('p', 'img:2'))]);

    const since = dir.store.changesSince(mark);
    expect(since).toEqual({
      gone: false,
      seq: mark + 3,
      changes: [
        { type: 'del', key: 'Pod/default/p', rv: contentVersion(pod('p')), seq: mark + 1 },
        { type: 'put', key: 'ConfigMap/default/a', rv: contentVersion(configMap('a', { v: '2' })), seq: mark + 2, obj: configMap('a', { v: '2' }) },
        { type: 'put', key: 'Pod/default/p', rv: contentVersion(pod('p', 'img:2')), seq: mark + 3, obj: pod('p', 'img:2') },
      ],
    });
    const podsOnly = dir.store.changesSince(mark, 'Pod');
    expect(podsOnly.gone === false && podsOnly.changes.map((c) => c.type)).toEqual(['del', 'put']);
    expect(dir.store.changesSince(dir.store.currentSeq())).toEqual({ gone: false, seq: dir.store.currentSeq(), changes: [] });

    const reopened = dir.reopen();
    expect(reopened.currentSeq()).toBe(mark + 3);
    expect(reopened.changesSince(mark)).toEqual(since);
  });

  it('a seq from before the kept tombstones, or from the future, is gone', () => {
    const dir = storeDir({ tombstoneLimit: 10 });
    const s0 = dir.store.currentSeq();
    expect(dir.store.changesSince(s0 - 1).gone).toBe(true); // before this database existed
    expect(dir.store.changesSince(s0 + 1).gone).toBe(true); // a seq this database never handed out
    for (let i = 0; i < 20; i++) dir.store.apply([put(`ConfigMap/default/c${i}`, configMap(`c${i}`, {}))]);
    const afterPuts = dir.store.currentSeq();
    for (let i = 0; i < 12; i++) dir.store.apply([{ op: 'del', key: `ConfigMap/default/c${i}` }]);
    // 12 tombstones exceed 10 + 10%: the oldest 2 are compacted.
    expect(dir.store.changesSince(afterPuts).gone).toBe(true);
    const stillKnown = dir.store.changesSince(afterPuts + 2);
    expect(stillKnown.gone).toBe(false);
    expect(stillKnown.gone === false && stillKnown.changes.map((c) => c.key)).toEqual(Array.from({ length: 10 }, (_, i) => `ConfigMap/default/c${i + 2}`));
    expect(dir.reopen().changesSince(afterPuts).gone).toBe(true);
  });

  it('a new database starts its seq at the clock, so a replaced file never reuses resourceVersions', () => {
    const dir = storeDir({ now: () => 1_800_000_000_000 });
    expect(dir.store.currentSeq()).toBe(1_800_000_000_000);
  });

  it('keeps meta values across a reopen and reserves the store\'s own names', () => {
    const dir = storeDir();
    expect(dir.store.getMeta('link.hub')).toBeUndefined();
    dir.store.setMeta('link.hub', 'hub-a');
    dir.store.setMeta('link.hub', 'hub-b');
    expect(dir.reopen().getMeta('link.hub')).toBe('hub-b');
    expect(() => dir.store.setMeta('store.seq', '1')).toThrow(/reserved/);
  });

  it('drops a row whose body no longer decodes, so the digest stops claiming it', async () => {
    const dir = storeDir();
    dir.store.apply([put('ConfigMap/default/a', configMap('a', {})), put('ConfigMap/default/b', configMap('b', {}))]);
    dir.store.db.prepare("UPDATE objects SET body = '{not json' WHERE key = 'ConfigMap/default/a'").run();
    const heard: CacheChange[] = [];
    dir.store.onChange((changes) => heard.push(...changes));

    expect(dir.store.get('ConfigMap/default/a')).toBeUndefined();
    // The read wrote nothing; the row is dropped right after it.
    expect(heard).toEqual([]);
    await waitFor(() => heard.length > 0, { what: 'the unreadable row dropped' });

    expect(dir.store.rvOf('ConfigMap/default/a')).toBeUndefined();
    expect(Object.keys(Object.fromEntries(dir.store.entries()))).toEqual(['ConfigMap/default/b']);
    expect(heard.map((c) => [c.type, c.key])).toEqual([['del', 'ConfigMap/default/a']]);
    expect(dir.log.lines.some((line) => line.level === 50 && /unreadable/.test(line.msg))).toBe(true);
    expect(dir.reopen().rvOf('ConfigMap/default/a')).toBeUndefined();
  });

  it('a patch on an unreadable base is a need, not a crash', () => {
    const dir = storeDir();
    const a = configMap('a', { v: '1' });
    const b = configMap('a', { v: '2' });
    dir.store.apply([put('ConfigMap/default/a', a)]);
    dir.store.db.prepare("UPDATE objects SET body = 'garbage' WHERE key = 'ConfigMap/default/a'").run();
    const op: SyncOp = { op: 'patch', key: 'ConfigMap/default/a', baseRv: contentVersion(a), rv: contentVersion(b), patch: { data: { v: '2' } } };
    expect(dir.store.apply([op])).toEqual({ changes: [], needs: ['ConfigMap/default/a'], skipped: 0, refused: [] });
    dir.store.apply([put('ConfigMap/default/a', b)]);
    expect(dir.store.get('ConfigMap/default/a')).toEqual(b);
  });
});
