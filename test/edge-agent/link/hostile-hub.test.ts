/**
 * The agent's link against a hub that lies: absurd timer values in `welcome`, ops whose body is
 * not what their key says, names that would become paths, JSON nested to blow the stack, frames
 * at the wrong time, and a cache that fails. Each class is tried with several members, through a
 * real HubLink, a real SQLite CacheStore and a real socket to a scripted hub; the agent answers
 * with coded errors, keeps its connection, keeps its cache consistent, and still applies good ops.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheDigest, contentVersion, type CacheEntry, type JsonObject, type PutOp, type SyncOp, type WelcomeFrame } from '../../../protocol/index.js';
import { FullJitterBackoff } from '../../../edge-agent/link/backoff.js';
import { clampWelcome, HEARTBEAT_RANGE_MS, MAX_FRAME_RANGE_BYTES } from '../../../edge-agent/link/hub-limits.js';
import { HubLink, type HubLinkObserver } from '../../../edge-agent/link/hub-link.js';
import { UpstreamPump } from '../../../edge-agent/link/upstream-pump.js';
import { WsTransport } from '../../../edge-agent/link/ws-transport.js';
import { objectError, openEdgeStore, type ApplyResult, type EdgeStore, type SyncCache } from '../../../edge-agent/store/index.js';
import { BIN, startProcess } from '../../helpers/process.js';
import { ScriptedHub } from '../../helpers/scripted-hub.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { captureLog } from '../store/helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const info = { arch: 'amd64', os: 'linux', capacity: { cpu: '1' }, labels: {} };

function configMap(name: string, namespace = 'ns', data: Record<string, string> = { k: name }): JsonObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

function put(key: string, obj: JsonObject): PutOp {
  return { op: 'put', key, rv: contentVersion(obj), obj };
}

/** A put op as JSON text whose object nests `depth` arrays deep: text, since JSON.stringify of it would overflow the stack itself. */
function deepPutText(key: string, depth: number): string {
  const [, namespace, name] = key.split('/');
  return `{"op":"put","key":"${key}","rv":"deep-${depth}","obj":{"metadata":{"name":"${name}","namespace":"${namespace}"},"data":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
}

/** A sync frame as text from op texts. */
function syncText(seq: number, opTexts: string[]): string {
  return `{"v":1,"t":"sync","seq":${seq},"ops":[${opTexts.join(',')}]}`;
}

interface Setup {
  hub: ScriptedHub;
  link: HubLink;
  store: EdgeStore;
  log: ReturnType<typeof captureLog>;
  welcomes: WelcomeFrame[];
}

async function setup(options: { cache?: (store: EdgeStore) => SyncCache; observer?: HubLinkObserver; upstream?: boolean } = {}): Promise<Setup> {
  const hub = await new ScriptedHub().start();
  cleanups.push(() => hub.close());
  const dir = makeTempDir();
  const log = captureLog();
  const store = openEdgeStore({ dir: dir.path, logger: log.logger });
  cleanups.push(() => dir.remove(), () => store.close());
  const welcomes: WelcomeFrame[] = [];
  const link = new HubLink({
    node: 'edge-1',
    agentVersion: 'test',
    nodeInfo: () => info,
    cache: options.cache ? options.cache(store) : store.cache,
    transport: new WsTransport({ hubUrl: hub.url, node: 'edge-1', token: 't' }),
    logger: log.logger,
    backoff: new FullJitterBackoff({ baseMs: 20, capMs: 50 }),
    observer: { connected: (welcome) => welcomes.push(welcome), ...options.observer },
    ...(options.upstream ? { upstream: new UpstreamPump({ outbox: store.outbox, logger: log.logger }) } : {}),
  });
  link.start();
  cleanups.push(() => link.stop());
  await hub.waitUntil(() => hub.of('hello').length > 0, 10_000, 'hello');
  return { hub, link, store, log, welcomes };
}

function welcome(hub: ScriptedHub, members: Partial<Record<'hb' | 'max' | 'ts', number>> = {}): void {
  hub.send(JSON.stringify({ v: 1, t: 'welcome', hub: 'scripted', hb: 5_000, max: 4 * 1024 * 1024, ts: Date.now(), ...members }));
}

describe('welcome values are clamped', () => {
  it('clampWelcome keeps hb in 1 s..10 min, max in 64 KiB..64 MiB and ts in the Date range', () => {
    const base: WelcomeFrame = { v: 1, t: 'welcome', hub: 'h', hb: 10_000, max: 4 << 20, ts: 1_700_000_000_000 };
    expect(clampWelcome(base)).toEqual({ welcome: base, clamped: {} });
    for (const hb of [2 ** 31, 2 ** 31 - 1, Number.MAX_SAFE_INTEGER, 1e300]) expect(clampWelcome({ ...base, hb }).welcome.hb).toBe(HEARTBEAT_RANGE_MS.max);
    for (const hb of [1, 10, 999]) expect(clampWelcome({ ...base, hb }).welcome.hb).toBe(HEARTBEAT_RANGE_MS.min);
    for (const max of [1, 1024]) expect(clampWelcome({ ...base, max }).welcome.max).toBe(MAX_FRAME_RANGE_BYTES.min);
    expect(clampWelcome({ ...base, max: 2 ** 40 }).welcome.max).toBe(MAX_FRAME_RANGE_BYTES.max);
    expect(clampWelcome({ ...base, ts: 1e300 }).welcome.ts).toBe(8.64e15);
    expect(clampWelcome({ ...base, ts: -5 }).welcome.ts).toBe(0);
    expect(clampWelcome({ ...base, hb: 2 ** 31 }).clamped).toEqual({ hb: { asked: 2 ** 31, used: 600_000 } });
  });

  it('a welcome.hb past the timer range does not make the agent heartbeat every millisecond', async () => {
    for (const hb of [2 ** 31, Number.MAX_SAFE_INTEGER]) {
      const { hub, link, log, welcomes } = await setup();
      welcome(hub, { hb });
      await waitFor(() => link.connected, { what: 'link resyncing' });
      expect(welcomes[0]!.hb).toBe(600_000);
      expect(log.lines.find((line) => line.msg.startsWith('hub asked for values out of range'))).toMatchObject({ clamped: { hb: { asked: hb, used: 600_000 } } });
      // A sync round trip later, the old overflow (a 1 ms interval) would have sent many heartbeats.
      hub.send({ v: 1, t: 'sync', seq: 1, ops: [put('ConfigMap/ns/a', configMap('a'))] });
      await hub.waitUntil(() => hub.of('ack')[0], 10_000, 'ack');
      expect(hub.of('heartbeat')).toHaveLength(0);
    }
  });

  it('a tiny welcome.hb is raised to 1 s: heartbeats come at least ~1 s apart', async () => {
    for (const hb of [1, 0.5 as number, 999]) {
      const { hub, welcomes } = await setup();
      const sentAt = Date.now();
      welcome(hub, { hb });
      if (!Number.isInteger(hb)) {
        // Not an integer: the frame itself is refused, and the link waits for a valid welcome.
        await hub.waitUntil(() => hub.of('error')[0], 10_000, 'error');
        expect(hub.of('error')[0]).toMatchObject({ code: 'E_SHAPE', msg: expect.stringContaining('hb') });
        continue;
      }
      // The scripted hub pings, as a real one does, so a slow machine never sees a silent hub.
      const pinger = setInterval(() => hub.current?.ping(), 250);
      cleanups.push(() => clearInterval(pinger));
      const seenAt: number[] = [];
      for (let n = 1; n <= 2; n++) {
        await hub.waitUntil(() => hub.of('heartbeat').length >= n, 10_000, `heartbeat ${n}`);
        seenAt.push(Date.now());
      }
      expect(welcomes[0]!.hb).toBe(1_000);
      // Lower bounds only (a loaded machine stretches them); unclamped, both would be ~1 ms.
      expect(seenAt[0]! - sentAt).toBeGreaterThanOrEqual(950);
      expect(seenAt[1]! - seenAt[0]!).toBeGreaterThanOrEqual(500);
    }
  });

  it('a tiny welcome.max is raised to 64 KiB and the upstream pump splits its frames to fit', async () => {
    const { hub, store } = await setup({ upstream: true });
    for (let i = 0; i < 12; i++) store.outbox.add({ kind: 'status', priority: 5, body: { ns: 'ns', name: `p-${i}`, uid: `u-${i}`, status: { message: 'x'.repeat(10_000) } } });
    welcome(hub, { max: 1 });
    await hub.waitUntil(() => hub.of('status').flatMap((frame) => frame.pods).length >= 4, 10_000, 'status frames');
    // The pump keeps 4 frames in flight; each holds at most 32 KiB of bodies (half of 64 KiB).
    for (const frame of hub.of('status')) {
      expect(Buffer.byteLength(JSON.stringify(frame))).toBeLessThanOrEqual(64 * 1024);
      expect(frame.pods.length).toBeLessThanOrEqual(3);
    }
  });
});

describe('ops whose object breaks the cache rules are refused alone', () => {
  const bad: Array<[string, string, string]> = [
    ...(
      [
        ['name differs', put('ConfigMap/ns/a', configMap('b'))],
        ['namespace differs', put('ConfigMap/ns/a', configMap('a', 'kube-system'))],
        ['namespace missing', put('ConfigMap/ns/a', { kind: 'ConfigMap', metadata: { name: 'a' } })],
        ['kind differs', put('ConfigMap/ns/a', { ...configMap('a'), kind: 'Secret' })],
        ['no metadata', put('ConfigMap/ns/a', { kind: 'ConfigMap' })],
        ['namespace ..', put('Pod/../x', { kind: 'Pod', metadata: { name: 'x', namespace: '..' } })],
        ['namespace with upper case', put('Pod/Default/x', { kind: 'Pod', metadata: { name: 'x', namespace: 'Default' } })],
        ['name ..', put('Pod/ns/..', { kind: 'Pod', metadata: { name: '..', namespace: 'ns' } })],
        ['name with %', put('ConfigMap/ns/a%2f..', { kind: 'ConfigMap', metadata: { name: 'a%2f..', namespace: 'ns' } })],
        ['name too long', put(`ConfigMap/ns/${'a'.repeat(254)}`, { kind: 'ConfigMap', metadata: { name: 'a'.repeat(254), namespace: 'ns' } })],
        ['Node in a namespace', put('Node/ns/n1', { kind: 'Node', metadata: { name: 'n1', namespace: 'ns' } })],
        ['Pod without a namespace', put('Pod//p', { kind: 'Pod', metadata: { name: 'p' } })],
      ] as Array<[string, PutOp]>
    ).map(([why, op]): [string, string, string] => [why, op.key, JSON.stringify(op)]),
    ['JSON nested 101 deep', 'ConfigMap/ns/deep', deepPutText('ConfigMap/ns/deep', 100)],
    ['JSON nested 100,000 deep', 'ConfigMap/ns/deep', deepPutText('ConfigMap/ns/deep', 100_000)],
  ];

  it('refuses each bad put with E_SHAPE naming its op, applies the good ops of the same frame, acks the frame', async () => {
    const { hub, link, store } = await setup();
    welcome(hub);
    let seq = 0;
    for (const [why, key, opText] of bad) {
      seq++;
      const good = put(`ConfigMap/ns/good-${seq}`, configMap(`good-${seq}`));
      hub.send(syncText(seq, [JSON.stringify(good), opText]));
      await hub.waitUntil(() => hub.of('ack').some((ack) => ack.seq === seq), 10_000, `ack ${seq} (${why})`);
      const error = hub.of('error').find((frame) => frame.seq === seq);
      expect(error, why).toMatchObject({ code: 'E_SHAPE', ref: 'sync' });
      expect(error!.msg, why).toMatch(/^refused 1 of 2 ops, the others applied: ops\.1 \(put /);
      expect(store.cache.rvOf(good.key), why).toBe(good.rv);
      expect(store.cache.rvOf(key), why).toBeUndefined();
    }
    expect(hub.connections).toHaveLength(1);
    expect(link.connected).toBe(true);
    // Everything stored is what its key says.
    for (const [key] of store.cache.entries()) expect(objectError(key, store.cache.get(key)!)).toBeUndefined();
  });

  it('refuses a patch that is nested too deep or that renames or moves the object; the cached object stays', async () => {
    const { hub, store } = await setup();
    welcome(hub);
    const original = configMap('a');
    hub.send({ v: 1, t: 'sync', seq: 1, ops: [put('ConfigMap/ns/a', original)] });
    await hub.waitUntil(() => hub.of('ack').some((ack) => ack.seq === 1), 10_000, 'ack 1');
    const base = contentVersion(original);
    const patches: JsonObject[] = [
      { metadata: { name: 'b' } },
      { metadata: { namespace: 'kube-system' } },
      { metadata: null },
      { kind: 'Secret' },
      JSON.parse(`{"data":${'{"x":'.repeat(200)}1${'}'.repeat(200)}}`) as JsonObject,
    ];
    const deepPatchText = `{"data":${'{"x":'.repeat(50_000)}1${'}'.repeat(50_000)}}`;
    let seq = 1;
    for (const patch of [...patches.map((patch) => JSON.stringify(patch)), deepPatchText]) {
      seq++;
      hub.send(syncText(seq, [`{"op":"patch","key":"ConfigMap/ns/a","baseRv":"${base}","rv":"r${seq}","patch":${patch}}`]));
      await hub.waitUntil(() => hub.of('ack').some((ack) => ack.seq === seq), 10_000, `ack ${seq}`);
      expect(hub.of('error').find((frame) => frame.seq === seq)).toMatchObject({ code: 'E_SHAPE', ref: 'sync', msg: expect.stringMatching(/ops\.0 \(patch ConfigMap\/ns\/a\)/) });
      expect(store.cache.rvOf('ConfigMap/ns/a')).toBe(base);
      expect(store.cache.get('ConfigMap/ns/a')).toEqual(original);
    }
    // A good patch on the same base still applies.
    seq++;
    hub.send({ v: 1, t: 'sync', seq, ops: [{ op: 'patch', key: 'ConfigMap/ns/a', baseRv: base, rv: 'good', patch: { data: { k: 'patched' } } }] });
    await hub.waitUntil(() => hub.of('ack').some((ack) => ack.seq === seq), 10_000, 'ack good patch');
    expect((store.cache.get('ConfigMap/ns/a')!.data as JsonObject).k).toBe('patched');
  });

  it('is in sync after a resync whose only difference is what it refused, instead of reconnecting forever; any other difference still reconnects', async () => {
    const { hub, link, log } = await setup();
    welcome(hub);
    const good = put('ConfigMap/ns/good', configMap('good'));
    const lie = put('ConfigMap/ns/lie', configMap('other'));
    hub.send({ v: 1, t: 'sync', seq: 1, ops: [good, lie] });
    await hub.waitUntil(() => hub.of('ack')[0], 10_000, 'ack');
    // The hub believes the node holds both.
    const hubView: CacheEntry[] = [[good.key, good.rv], [lie.key, lie.rv]];
    hub.send({ v: 1, t: 'synced', seq: 1, digest: cacheDigest(hubView), n: 2 });
    await waitFor(() => link.status === 'synced', { what: 'link in sync' });
    expect(hub.connections).toHaveLength(1);
    expect(log.lines.find((line) => line.msg.startsWith('in sync with the hub except for objects this agent refused'))).toMatchObject({ refused: 1, keys: ['ConfigMap/ns/lie'] });

    // Next session: a digest that the refusals do not explain is a real mismatch.
    link.reconnect('test');
    await hub.waitUntil(() => hub.of('hello').length >= 2, 10_000, 'second hello');
    welcome(hub);
    hub.send({ v: 1, t: 'sync', seq: 1, ops: [lie] });
    await hub.waitUntil(() => hub.of('ack').length >= 2, 10_000, 'ack 2');
    hub.send({ v: 1, t: 'synced', seq: 1, digest: cacheDigest([...hubView, ['ConfigMap/ns/other', 'r']]), n: 3 });
    await hub.waitUntil(() => hub.of('hello').length >= 3, 10_000, 'hello after a mismatch');
  });
});

describe('frames at the wrong time and failures while handling', () => {
  it('answers a synced outside a resync and a second welcome with E_STATE, and keeps the connection', async () => {
    const { hub, link } = await setup();
    welcome(hub);
    hub.send({ v: 1, t: 'synced', seq: 0, digest: cacheDigest([]), n: 0 });
    await waitFor(() => link.status === 'synced', { what: 'in sync' });
    hub.send({ v: 1, t: 'synced', seq: 0, digest: 'whatever', n: 7 });
    welcome(hub);
    await hub.waitUntil(() => hub.of('error').length >= 2, 10_000, 'two errors');
    expect(hub.of('error').map((error) => [error.code, error.ref])).toEqual([
      ['E_STATE', 'synced'],
      ['E_STATE', 'welcome'],
    ]);
    expect(link.status).toBe('synced');
    expect(hub.connections).toHaveLength(1);
  });

  it('answers a sync the cache fails to write with E_INTERNAL, acks nothing, and resyncs on a new connection', async () => {
    const failing = (store: EdgeStore): SyncCache => {
      const cache = store.cache;
      return Object.assign(Object.create(cache) as SyncCache, {
        apply(ops: readonly SyncOp[]): ApplyResult {
          if (ops.some((op) => op.key === 'ConfigMap/ns/boom')) throw new Error('SQLITE_FULL: database or disk is full');
          return cache.apply(ops);
        },
        digest: () => cache.digest(),
        entries: () => cache.entries(),
      });
    };
    const { hub } = await setup({ cache: failing });
    welcome(hub);
    hub.send({ v: 1, t: 'sync', seq: 1, ops: [put('ConfigMap/ns/boom', configMap('boom'))] });
    await hub.waitUntil(() => hub.of('error')[0], 10_000, 'error');
    expect(hub.of('error')[0]).toMatchObject({ code: 'E_INTERNAL', seq: 1, ref: 'sync', msg: expect.stringContaining('disk is full') });
    expect(hub.of('ack')).toHaveLength(0);
    await hub.waitUntil(() => hub.of('hello').length >= 2, 10_000, 'hello on a new connection');
    expect(hub.connections.length).toBe(2);
    welcome(hub);
    hub.send({ v: 1, t: 'sync', seq: 1, ops: [put('ConfigMap/ns/fine', configMap('fine'))] });
    await hub.waitUntil(() => hub.of('ack')[0], 10_000, 'ack on the new connection');
  });

  it('answers a frame whose handling throws with E_INTERNAL and goes on with the next frame', async () => {
    let armed = false;
    const flaky = (store: EdgeStore): SyncCache =>
      Object.assign(Object.create(store.cache) as SyncCache, {
        digest: () => {
          if (armed) {
            armed = false;
            throw new Error('digest exploded');
          }
          return store.cache.digest();
        },
        entries: () => store.cache.entries(),
        apply: (ops: readonly SyncOp[]) => store.cache.apply(ops),
      });
    const { hub, link } = await setup({ cache: flaky });
    // The hello has read the digest; the next read (checking synced) throws, once.
    armed = true;
    welcome(hub);
    hub.send({ v: 1, t: 'synced', seq: 0, digest: cacheDigest([]), n: 0 });
    await hub.waitUntil(() => hub.of('error')[0], 10_000, 'error');
    expect(hub.of('error')[0]).toMatchObject({ code: 'E_INTERNAL', ref: 'synced', seq: 0, msg: expect.stringContaining('digest exploded') });
    hub.send({ v: 1, t: 'synced', seq: 0, digest: cacheDigest([]), n: 0 });
    await waitFor(() => link.status === 'synced', { what: 'in sync after the failure' });
    expect(hub.connections).toHaveLength(1);
  });

  it('the agent process stays up through hostile frames, answers each, and serves a good sync', async () => {
    const hub = await new ScriptedHub().start();
    cleanups.push(() => hub.close());
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const agent = await startProcess(BIN.edgeAgent, ['--node', 'edge-1', '--hub', hub.url, '--data', dir.path, '--local-api', '127.0.0.1:0']);
    cleanups.push(() => agent.stop());
    await hub.waitUntil(() => hub.of('hello')[0], 10_000, 'hello');
    welcome(hub, { hb: 2 ** 31 + 5, max: 0.5 as unknown as number });
    welcome(hub, { hb: 2 ** 31 + 5 });
    hub.send(syncText(1, [JSON.stringify(put('Pod/ns/p', { kind: 'Pod', metadata: { name: 'p', namespace: '../../etc' } })), deepPutText('ConfigMap/ns/deep', 1_000_000)]));
    hub.send(`{"v":1,"t":"sync","seq":2,"ops":[{"op":"put","key":"ConfigMap/ns/x","rv":"r","obj":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}]}`);
    hub.send({ v: 1, t: 'synced', seq: 99, digest: 'nope', n: -1 } as never);
    hub.send({ v: 1, t: 'sync', seq: 3, ops: [put('ConfigMap/ns/ok', configMap('ok', 'ns', { a: '1' }))] });
    await hub.waitUntil(() => hub.of('ack').some((ack) => ack.seq === 3), 10_000, 'ack 3');
    expect(hub.of('error').map((error) => error.code)).toEqual(['E_SHAPE', 'E_SHAPE', 'E_SHAPE', 'E_SHAPE']);
    // Frames are answered as they are handled, not in arrival order (a slow refusal may come later).
    expect(hub.of('error').filter((error) => /^refused 2 of 2 ops/.test(error.msg ?? ''))).toHaveLength(1);
    const ready = agent.logs.find((line) => line.msg === 'ready')!;
    const cm = (await (await fetch(`${String(ready.localApi)}/api/v1/namespaces/ns/configmaps/ok`)).json()) as JsonObject;
    expect(cm.data).toEqual({ a: '1' });
    expect((await fetch(`${String(ready.localApi)}/api/v1/namespaces/ns/configmaps/deep`)).status).toBe(404);
    expect(agent.logs.find((line) => String(line.msg).startsWith('hub asked for values out of range'))).toMatchObject({ clamped: { hb: { used: 600_000 } } });
    expect(hub.of('heartbeat')).toHaveLength(0);
    expect(agent.running).toBe(true);
  });
});
