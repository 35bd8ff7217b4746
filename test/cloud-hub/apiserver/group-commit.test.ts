/**
 * Group commit on a real SQLite file: one commit per event-loop turn, but a batch that has been
 * open for maxBatchMs commits right after the write that noticed, so the first request of a long
 * turn is not answered only after all the others.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCommit } from '../../../cloud-hub/apiserver/group-commit.js';
import { SqliteObjectStorage, type ChangeInput } from '../../../cloud-hub/apiserver/sqlite-storage.js';
import { WatchFanout } from '../../../cloud-hub/apiserver/watch-fanout.js';
import { makeTempDir } from '../../helpers/tmp.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** A GroupCommit over a fresh database, and every batch its watches were told of, as names. */
function batchFor(maxBatchMs: number): { batch: GroupCommit; published: string[][] } {
  const tmp = makeTempDir('group-commit-');
  const storage = new SqliteObjectStorage({ path: path.join(tmp.path, 'apiserver.db'), historyWindow: 100 });
  cleanups.push(() => tmp.remove(), () => storage.close());
  const fanout = new WatchFanout();
  const published: string[][] = [];
  fanout.subscribe('configmaps', (changes) => published.push(changes.map((c) => c.name)));
  return { batch: new GroupCommit(storage, fanout, maxBatchMs), published };
}

function change(name: string): ChangeInput {
  return { resource: 'configmaps', namespace: 'default', name, type: 'ADDED', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' } } };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('commits a young batch once, at the end of the turn, with every write of the turn', async () => {
    const { batch, published } = batchFor(60_000);
    batch.write([change('a')]);
    batch.write([change('b')]);
    const durable = batch.whenDurable();
    await Promise.resolve();
    expect(published).toEqual([]);
    await nextTurn();
    await durable;
    expect(published).toEqual([['a', 'b']]);
  });

  it('commits a batch open for maxBatchMs right after the write that noticed, in one commit with the rest of its synchronous chain', async () => {
    const { batch, published } = batchFor(5);
    batch.write([change('a')]);
    // The rest of a long turn: other requests' work (a lower bound of time, not a wait).
    const started = performance.now();
    while (performance.now() - started < 6) {
      /* busy */
    }
    batch.write([change('b')]);
    batch.write([change('c')]);
    let answered = false;
    void batch.whenDurable().then(() => (answered = true));
    expect(published).toEqual([]);
    await Promise.resolve();
    await Promise.resolve();
    // Before the end of the turn (no setImmediate has run): committed, published, writers answered.
    expect(published).toEqual([['a', 'b', 'c']]);
    expect(answered).toBe(true);
    // The next write opens a new batch, committed on its own.
    batch.write([change('d')]);
    await nextTurn();
    expect(published).toEqual([['a', 'b', 'c'], ['d']]);
  });
});
