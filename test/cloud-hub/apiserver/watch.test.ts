/** Watch streams: start points, selector transitions, bookmarks, timeouts, 410 Gone, Tables. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMap, pod, startInProcess, type Json, type KubeHttp } from './kube-http.js';

let api: Awaited<ReturnType<typeof startInProcess>>;
let http: KubeHttp;

beforeAll(async () => {
  api = await startInProcess({ historyWindow: 20, bookmarkIntervalMs: 50 });
  http = api.http;
  await http.post('/api/v1/namespaces', { metadata: { name: 'w' } });
});

afterAll(async () => {
  await api?.stop();
});

const CMS = '/api/v1/namespaces/w/configmaps';

function summary(events: { type: string; object: Json }[]): string[] {
  return events.map((event) => `${event.type} ${event.object.metadata?.name ?? ''}`);
}

describe('watch', () => {
  it('resourceVersion "" starts with the current objects as ADDED, then streams changes in order', async () => {
    await http.post(CMS, configMap('first'));
    const watch = await http.watch(CMS);
    expect(watch.status).toBe(200);
    expect(watch.res.headers['content-type']).toBe('application/json');
    await watch.waitForCount(1);
    await http.post(CMS, configMap('second'));
    const updated = await http.patch(`${CMS}/first`, { data: { key: 'v2' } });
    await http.delete(`${CMS}/second`);
    const events = await watch.waitForCount(4);
    expect(summary(events)).toEqual(['ADDED first', 'ADDED second', 'MODIFIED first', 'DELETED second']);
    expect(events[2]!.object.metadata.resourceVersion).toBe(updated.json.metadata.resourceVersion);
    expect(events[2]!.object.kind).toBe('ConfigMap');
    const rvs = events.slice(1).map((event) => Number(event.object.metadata.resourceVersion));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    watch.close();
  });

  it('resourceVersion N replays exactly the changes after N, then continues live', async () => {
    const list = await http.get(CMS);
    const from = list.json.metadata.resourceVersion as string;
    await http.post(CMS, configMap('after-1'));
    await http.patch(`${CMS}/after-1`, { data: { key: 'x' } });
    const watch = await http.watch(`${CMS}?resourceVersion=${from}`);
    await watch.waitForCount(2);
    await http.delete(`${CMS}/after-1`);
    expect(summary(await watch.waitForCount(3))).toEqual(['ADDED after-1', 'MODIFIED after-1', 'DELETED after-1']);
    watch.close();
  });

  it('label selectors: objects entering arrive as ADDED, leaving as DELETED', async () => {
    await http.post(CMS, { ...configMap('flip'), metadata: { name: 'flip', labels: { pick: 'no' } } });
    const watch = await http.watch(`${CMS}?labelSelector=pick%3Dyes`);
    await http.patch(`${CMS}/flip`, { metadata: { labels: { pick: 'yes' } } });
    await http.patch(`${CMS}/flip`, { data: { more: '1' } });
    await http.patch(`${CMS}/flip`, { metadata: { labels: { pick: 'no' } } });
    await http.patch(`${CMS}/flip`, { data: { more: '2' } });
    await http.post(CMS, { ...configMap('marker'), metadata: { name: 'marker', labels: { pick: 'yes' } } });
    const events = await watch.waitForCount(4);
    expect(summary(events)).toEqual(['ADDED flip', 'MODIFIED flip', 'DELETED flip', 'ADDED marker']);
    // kube's watch cache: the DELETED of an object leaving the selector carries its previous
    // state (the one that matched) with the new resourceVersion.
    const left = (await http.get(`${CMS}/flip`)).json;
    const deleted = events[2]?.object as { metadata: { labels: Record<string, string>; resourceVersion: string }; data: Record<string, string> };
    expect(deleted.metadata.labels.pick).toBe('yes');
    expect(deleted.data.more).toBe('1');
    expect(Number(deleted.metadata.resourceVersion)).toBeGreaterThan(Number((events[1]?.object as { metadata: { resourceVersion: string } }).metadata.resourceVersion));
    expect(Number(deleted.metadata.resourceVersion)).toBeLessThan(Number(left.metadata.resourceVersion));
    watch.close();
  });

  it('field selectors narrow watches across namespaces (/api/v1/pods)', async () => {
    const watch = await http.watch('/api/v1/pods?fieldSelector=spec.nodeName%3Dedge-w');
    await http.post('/api/v1/namespaces/w/pods', pod('elsewhere', { nodeName: 'edge-other' }));
    await http.post('/api/v1/namespaces/w/pods', pod('mine', { nodeName: 'edge-w' }));
    await http.post('/api/v1/namespaces/default/pods', pod('mine-too', { nodeName: 'edge-w' }));
    const events = await watch.waitForCount(2);
    expect(summary(events)).toEqual(['ADDED mine', 'ADDED mine-too']);
    watch.close();
  });

  it('a watch on one object follows only it', async () => {
    await http.post(CMS, configMap('solo'));
    const watch = await http.watch(`${CMS}/solo`);
    await watch.waitForCount(1);
    await http.post(CMS, configMap('noise'));
    await http.patch(`${CMS}/solo`, { data: { key: 'solo-2' } });
    expect(summary(await watch.waitForCount(2))).toEqual(['ADDED solo', 'MODIFIED solo']);
    watch.close();
  });

  it('sends BOOKMARKs with the newest resourceVersion when allowed, none otherwise', async () => {
    const withBookmarks = await http.watch(`${CMS}?resourceVersion=${(await http.get(CMS)).json.metadata.resourceVersion}&allowWatchBookmarks=true`);
    const without = await http.watch(`${CMS}?resourceVersion=${(await http.get(CMS)).json.metadata.resourceVersion}`);
    await withBookmarks.waitForCount(2);
    const bookmark = withBookmarks.events[0]!;
    expect(bookmark.type).toBe('BOOKMARK');
    expect(bookmark.object).toEqual({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: expect.stringMatching(/^\d+$/) } });
    await http.post(CMS, configMap('after-bookmark'));
    await without.waitForCount(1);
    expect(summary(without.events)).toEqual(['ADDED after-bookmark']);
    withBookmarks.close();
    without.close();
  });

  it('timeoutSeconds ends the stream', async () => {
    const started = Date.now();
    const watch = await http.watch(`${CMS}?timeoutSeconds=1&resourceVersion=${(await http.get(CMS)).json.metadata.resourceVersion}`);
    await watch.waitForEnd(5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('a resourceVersion older than the history window gets an ERROR event with a 410 Expired Status, then the end', async () => {
    const old = (await http.get(CMS)).json.metadata.resourceVersion as string;
    for (let i = 0; i < 25; i++) await http.post(CMS, configMap(`churn-${i}`));
    const watch = await http.watch(`${CMS}?resourceVersion=${old}`);
    expect(watch.status).toBe(200);
    await watch.waitForEnd();
    expect(watch.events).toHaveLength(1);
    expect(watch.events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 } });
    expect(watch.events[0]!.object.message).toMatch(new RegExp(`^too old resource version: ${old} \\(\\d+\\)$`));
    // A resourceVersion inside the window still works.
    const recent = Number((await http.get(CMS)).json.metadata.resourceVersion) - 5;
    const ok = await http.watch(`${CMS}?resourceVersion=${recent}`);
    await ok.waitForCount(5);
    expect(ok.events.every((event) => event.type === 'ADDED')).toBe(true);
    ok.close();
  });

  it('as=Table watches carry Tables, with column definitions on the first event only', async () => {
    const watch = await http.watch('/api/v1/namespaces/w/pods?resourceVersion=0', { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    const existing = (await http.get('/api/v1/namespaces/w/pods')).json.items.length as number;
    expect(existing).toBeGreaterThan(0);
    await http.post('/api/v1/namespaces/w/pods', pod('tabled'));
    const events = await watch.waitForCount(existing + 1);
    expect(events.every((event) => event.object.kind === 'Table' && event.object.apiVersion === 'meta.k8s.io/v1')).toBe(true);
    expect(events[0]!.object.columnDefinitions.map((c: Json) => c.name)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates']);
    expect(events.slice(1).every((event) => event.object.columnDefinitions.length === 0)).toBe(true);
    const last = events.at(-1)!.object.rows[0];
    expect(last.cells.slice(0, 4)).toEqual(['tabled', '0/1', 'Pending', '0']);
    expect(last.object).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'tabled' } });
    watch.close();
  });
});
