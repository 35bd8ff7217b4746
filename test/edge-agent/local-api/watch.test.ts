/**
 * Watches of the local API: woken by the cache's onChange, reading changesSince, so every
 * change after the start arrives once and in order; resume from an old resourceVersion; 410
 * after compaction; selectors; bookmarks; timeouts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import { waitFor } from '../../helpers/wait.js';
import { configMap, LocalApiFixture, nameOf, pod, rvOf } from './helpers.js';

const fixtures: LocalApiFixture[] = [];
function fixture(options: ConstructorParameters<typeof LocalApiFixture>[0] = {}): LocalApiFixture {
  const f = new LocalApiFixture(options);
  fixtures.push(f);
  return f;
}
afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.close();
});

describe('local API: watch', () => {
  it('sees ADDED, MODIFIED and DELETED in order for changes after it started, each at its local resourceVersion', async () => {
    const f = fixture();
    f.put(pod('web-0'));
    await f.startServer();
    const listed = await f.request('/api/v1/namespaces/default/pods');
    const from = String((listed.body.metadata as JsonObject).resourceVersion);
    const watch = f.watch(`/api/v1/namespaces/default/pods?watch=1&resourceVersion=${from}`);
    await waitFor(() => f.server.watchCount === 1, { what: 'the watch to register' });

    // One change at a time: changes that land between two reads of the watch are coalesced per
    // key (the next test covers that), so each step waits for its event.
    f.put(pod('web-1'));
    const added = f.cache.currentSeq();
    await watch.waitForEvents(1);
    f.put(pod('web-0', { image: 'registry.example/app:2.0' }));
    const modified = f.cache.currentSeq();
    await watch.waitForEvents(2);
    f.put(pod('other', { namespace: 'elsewhere' }), configMap('not-a-pod', {}));
    f.del('Pod/default/web-1');
    const deleted = f.cache.currentSeq();
    await watch.waitForEvents(3);
    expect(watch.statusCode).toBe(200);
    expect(watch.summary()).toEqual([`ADDED web-1@${added}`, `MODIFIED web-0@${modified}`, `DELETED web-1@${deleted}`]);
    expect(watch.events[1]?.object).toMatchObject({ kind: 'Pod', apiVersion: 'v1', spec: { containers: [{ image: 'registry.example/app:2.0' }] } });
    // DELETED carries the last state the client had (the cache keeps only a tombstone).
    expect(watch.events[2]?.object).toMatchObject({ kind: 'Pod', metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web-1' } }, spec: { nodeName: 'edge-1' } });

    // Nothing else arrives: the other namespace and the other kind never reach this watch.
    f.put(pod('web-2'));
    await watch.waitForEvents(4);
    expect(watch.summary().slice(3)).toEqual([`ADDED web-2@${f.cache.currentSeq()}`]);
  });

  it('with resourceVersion "" or "0" sends the current objects as ADDED first, then live changes', async () => {
    const f = fixture();
    f.put(pod('a'), pod('b'));
    await f.startServer();
    for (const rv of ['', '0']) {
      const watch = f.watch(`/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}`);
      await watch.waitForEvents(2);
      expect(watch.events.map((e) => `${e.type} ${nameOf(e.object)}`)).toEqual(['ADDED a', 'ADDED b']);
      watch.close();
    }
    const live = f.watch('/api/v1/namespaces/default/pods?watch=true');
    await live.waitForEvents(2);
    f.put(pod('c'));
    await live.waitForEvents(3);
    expect(live.events[2]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'c', resourceVersion: String(f.cache.currentSeq()) } } });
  });

  it('resumes from an old resourceVersion without loss or duplicates', async () => {
    const f = fixture();
    f.put(pod('keep'), pod('change'), pod('gone'), pod('flap'));
    await f.startServer();
    const from = f.cache.currentSeq();
    // While no one watches:
    f.put(pod('change', { image: 'registry.example/app:2.0' }));
    f.del('Pod/default/gone');
    f.put(pod('new'));
    f.del('Pod/default/flap');
    f.put(pod('flap', { image: 'registry.example/app:3.0' }));
    const seqAfter = f.cache.currentSeq();

    const watch = f.watch(`/api/v1/namespaces/default/pods?watch=1&resourceVersion=${from}`);
    await watch.waitForEvents(5);
    const types = watch.events.map((e) => `${e.type} ${nameOf(e.object)}`);
    // Each change after `from`, oldest first; "keep" (unchanged since) is not repeated. "flap"
    // was deleted and put again: the client hears both. Objects the watch cannot know the
    // client held at `from` arrive as MODIFIED.
    expect(types).toEqual(['MODIFIED change', 'DELETED gone', 'MODIFIED new', 'DELETED flap', 'ADDED flap']);
    const rvs = watch.events.map((e) => Number(rvOf(e.object)));
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
    expect(rvs.every((rv) => rv > from && rv <= seqAfter)).toBe(true);
    // The cache keeps only a tombstone of "gone", so a resumed watch can name it but not show its last body.
    expect(watch.events[1]?.object).toEqual({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'gone', namespace: 'default', resourceVersion: rvOf(watch.events[1]?.object ?? {}) } });

    // And it carries on live from there.
    f.del('Pod/default/keep');
    await watch.waitForEvents(6);
    expect(watch.summary()[5]).toBe(`DELETED keep@${f.cache.currentSeq()}`);
  });

  it('answers a resourceVersion older than the kept tombstones with a 410 Expired ERROR event', async () => {
    const f = fixture({ tombstoneLimit: 2 });
    f.put(pod('p-0'), pod('p-1'), pod('p-2'), pod('p-3'), pod('p-4'), pod('p-5'));
    await f.startServer();
    const old = f.cache.currentSeq();
    for (let i = 0; i < 6; i++) f.del(`Pod/default/p-${i}`);
    expect(f.cache.changesSince(old).gone).toBe(true);

    const watch = f.watch(`/api/v1/namespaces/default/pods?watch=1&resourceVersion=${old}`);
    await watch.waitForEvents(1);
    await watch.waitForEnd();
    expect(watch.statusCode).toBe(200);
    expect(watch.events).toEqual([
      {
        type: 'ERROR',
        object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${old} (${f.cache.currentSeq()})`, reason: 'Expired', code: 410 },
      },
    ]);
    // A relist and a watch from its resourceVersion work again.
    const relisted = await f.request('/api/v1/namespaces/default/pods');
    expect(relisted.body.items).toEqual([]);
    const again = f.watch(`/api/v1/namespaces/default/pods?watch=1&resourceVersion=${String((relisted.body.metadata as JsonObject).resourceVersion)}`);
    await waitFor(() => f.server.watchCount === 1, { what: 'the new watch to register' });
    f.put(pod('p-9'));
    await again.waitForEvents(1);
    expect(again.summary()).toEqual([`ADDED p-9@${f.cache.currentSeq()}`]);
    // A resourceVersion that is not a number is a 400.
    expect((await f.request('/api/v1/pods?watch=1&resourceVersion=abc')).status).toBe(400);
  });

  it('applies selectors: objects entering the selection are ADDED, objects leaving it DELETED', async () => {
    const f = fixture();
    f.put(pod('web-0', { labels: { app: 'web' } }), pod('db-0', { labels: { app: 'db' } }));
    await f.startServer();
    const watch = f.watch('/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3Dweb');
    await watch.waitForEvents(1);
    expect(watch.summary()[0]).toMatch(/^ADDED web-0@/);

    f.put(pod('db-0', { labels: { app: 'web' } })); // starts matching
    await watch.waitForEvents(2);
    f.put(pod('db-1', { labels: { app: 'db' } })); // never matches
    f.put(pod('web-0', { labels: { app: 'web-old' } })); // stops matching
    const left = f.cache.currentSeq();
    await watch.waitForEvents(3);
    f.del('Pod/default/db-1'); // never matched: nothing
    f.del('Pod/default/db-0'); // matched: DELETED
    await watch.waitForEvents(4);
    expect(watch.events.slice(1).map((e) => `${e.type} ${nameOf(e.object)}`)).toEqual(['ADDED db-0', 'DELETED web-0', 'DELETED db-0']);
    // Leaving the selection: the last state the client saw, at the change's resourceVersion (as kube-apiserver does).
    expect(watch.events[2]?.object).toMatchObject({ metadata: { labels: { app: 'web' }, resourceVersion: String(left) } });

    const byField = f.watch('/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Dedge-2');
    f.put(pod('moved', { nodeName: 'edge-2' }), pod('stays', { nodeName: 'edge-1' }));
    await byField.waitForEvents(1);
    f.put(pod('late', { nodeName: 'edge-2' }));
    await byField.waitForEvents(2);
    expect(byField.events.map((e) => nameOf(e.object))).toEqual(['moved', 'late']);
    expect((await f.request('/api/v1/pods?watch=1&labelSelector=a%20in%20(')).status).toBe(400);
  });

  it('watches one object on its own path', async () => {
    const f = fixture();
    f.put(pod('one'), pod('two'));
    await f.startServer();
    const watch = f.watch('/api/v1/namespaces/default/pods/one?watch=true');
    await watch.waitForEvents(1);
    f.put(pod('two', { image: 'x:2' }));
    f.put(pod('one', { image: 'x:2' }));
    await watch.waitForEvents(2);
    expect(watch.events.map((e) => `${e.type} ${nameOf(e.object)}`)).toEqual(['ADDED one', 'MODIFIED one']);
  });

  it("reads watch=True (what the Python client sends) as kube does: a watch, not a list", async () => {
    const f = fixture();
    f.put(pod('py'));
    await f.startServer();
    const watch = f.watch('/api/v1/namespaces/default/pods?watch=True&resourceVersion=0');
    await watch.waitForEvents(1);
    f.put(pod('py', { image: 'x:2' }));
    await watch.waitForEvents(2);
    expect(watch.events.map((e) => `${e.type} ${nameOf(e.object)}`)).toEqual(['ADDED py', 'MODIFIED py']);
    expect((await f.request('/api/v1/namespaces/default/pods?watch=FALSE')).body.kind).toBe('PodList');
  });

  it('sends nothing twice and misses nothing across many batches, coalescing per key what lands between two reads', async () => {
    const f = fixture();
    await f.startServer();
    const from = f.cache.currentSeq();
    const watch = f.watch(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${from}`);
    await waitFor(() => f.server.watchCount === 1, { what: 'the watch to register' });

    const replay = (): Map<string, string> => {
      const state = new Map<string, string>();
      for (const event of watch.events) {
        if (event.type === 'DELETED') state.delete(nameOf(event.object));
        else state.set(nameOf(event.object), rvOf(event.object));
      }
      return state;
    };
    const converged = (): boolean => {
      const { items } = f.cache.list('ConfigMap', 'default');
      const state = replay();
      return state.size === items.length && items.every((item) => state.get(item.key.split('/')[2] ?? '') === String(item.seq));
    };

    // Bursts of batches, some landing within one read of the watch, some between reads.
    for (let i = 0; i < 200; i++) {
      f.put(configMap(`cm-${i % 10}`, { round: String(Math.floor(i / 10)) }));
      if (i % 37 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(converged, { what: 'the watch to converge on the cache' });
    for (let i = 0; i < 10; i += 2) f.del(`ConfigMap/default/cm-${i}`);
    // Created and deleted between two reads: the client never had it, so it hears nothing of it.
    f.put(configMap('blink', {}));
    f.del('ConfigMap/default/blink');
    await waitFor(converged, { what: 'the watch to converge after deletions' });

    // Replaying the events gives exactly the cache's state; resourceVersions only grow, none twice.
    const rvs = watch.events.map((e) => Number(rvOf(e.object)));
    expect(new Set(rvs).size).toBe(rvs.length);
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
    expect(rvs.every((rv) => rv > from)).toBe(true);
    expect(watch.events.slice(-5).map((e) => `${e.type} ${nameOf(e.object)}`)).toEqual(['DELETED cm-0', 'DELETED cm-2', 'DELETED cm-4', 'DELETED cm-6', 'DELETED cm-8']);
    expect(watch.events.some((e) => nameOf(e.object) === 'blink')).toBe(false);
    // Far fewer events than the 200 puts: a key changed many times between reads is sent once.
    expect(watch.events.length).toBeLessThan(200);
  });

  it('sends BOOKMARKs with the newest resourceVersion when allowed, also after changes it filtered out', async () => {
    const f = fixture();
    f.put(pod('web-0'));
    await f.startServer({ bookmarkIntervalMs: 50 });
    const quiet = f.watch('/api/v1/namespaces/default/pods?watch=1&resourceVersion=0');
    const watch = f.watch('/api/v1/namespaces/default/pods?watch=1&resourceVersion=0&allowWatchBookmarks=true');
    await watch.waitForEvents(1);
    f.put(configMap('other-kind', {}));
    const target = String(f.cache.currentSeq());
    const bookmark = await waitFor(() => watch.events.find((e) => e.type === 'BOOKMARK' && rvOf(e.object) === target), { what: `a bookmark at ${target}` });
    expect(bookmark.object).toEqual({ kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: target } });
    expect(watch.events.filter((e) => e.type !== 'BOOKMARK').map((e) => e.type)).toEqual(['ADDED']);
    expect(quiet.events.some((e) => e.type === 'BOOKMARK')).toBe(false);
  });

  it('streaming list (sendInitialEvents=true) ends its initial events with an annotated BOOKMARK', async () => {
    const f = fixture();
    f.put(pod('a'), pod('b'));
    await f.startServer();
    const watch = f.watch('/api/v1/namespaces/default/pods?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true');
    await watch.waitForEvents(3);
    expect(watch.events.map((e) => e.type)).toEqual(['ADDED', 'ADDED', 'BOOKMARK']);
    expect(watch.events[2]?.object.metadata).toEqual({ resourceVersion: String(f.cache.currentSeq()), annotations: { 'k8s.io/initial-events-end': 'true' } });
  });

  it('ends the stream after timeoutSeconds, and every watch when the server closes', async () => {
    const f = fixture();
    await f.startServer();
    const timed = f.watch('/api/v1/pods?watch=1&timeoutSeconds=1');
    const open = f.watch('/api/v1/pods?watch=1');
    await waitFor(() => f.server.watchCount === 2, { what: 'both watches to register' });
    await timed.waitForEnd();
    expect(open.ended).toBe(false);
    expect(f.server.watchCount).toBe(1);
    await f.server.close();
    await open.waitForEnd();
    expect(f.server.watchCount).toBe(0);
  });

  it('sends one-row Tables for kubectl get -w, with the column definitions on the first event only', async () => {
    const f = fixture();
    f.put(pod('a'));
    await f.startServer();
    const watch = f.watch('/api/v1/namespaces/default/pods?watch=1', { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    await watch.waitForEvents(1);
    f.del('Pod/default/a');
    await watch.waitForEvents(2);
    const [first, second] = watch.events as [{ type: string; object: JsonObject }, { type: string; object: JsonObject }];
    expect(first.type).toBe('ADDED');
    expect(first.object).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    expect((first.object.columnDefinitions as unknown[]).length).toBeGreaterThan(0);
    expect(((first.object.rows as JsonObject[])[0]?.cells as unknown[])[0]).toBe('a');
    expect(second.type).toBe('DELETED');
    expect(second.object.columnDefinitions).toEqual([]);
    expect(second.object.metadata).toEqual({ resourceVersion: String(f.cache.currentSeq()) });
  });
});
