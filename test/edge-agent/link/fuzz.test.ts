/**
 * Property: whatever frames a hub sends (random and mutated `sync`, `welcome`, `synced`, `ack`,
 * `error`, and bytes that are no frame at all), the agent's real HubLink over a real socket with
 * a real SQLite cache never throws, answers every frame it cannot decode with a coded `error`,
 * keeps a cache whose every object is what its key says and whose digest is its content (also
 * on disk, after a reopen), and still applies and acks a good `sync` afterwards. A case may
 * make the link reconnect (a `synced` with a wrong digest must): the harness then says welcome
 * again. Bounded run count: the file takes a few seconds (FUZZ_RUNS=500 for a longer hunt); a
 * failure prints the seed and the shrunk frames.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOUD_FRAME_TYPES, cacheDigest, contentVersion, decode, ProtocolError, type JsonObject, type SyncOp } from '../../../protocol/index.js';
import { FullJitterBackoff } from '../../../edge-agent/link/backoff.js';
import { HubLink } from '../../../edge-agent/link/hub-link.js';
import { WsTransport } from '../../../edge-agent/link/ws-transport.js';
import { objectError, openCacheStore, type CacheStore } from '../../../edge-agent/store/index.js';
import { ScriptedHub } from '../../helpers/scripted-hub.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { captureLog } from '../store/helpers.js';

const tmp = makeTempDir('edge-link-fuzz-');
const log = captureLog();
let hub: ScriptedHub;
let cache: CacheStore;
let link: HubLink;
let marker = 1_000_000;

beforeAll(async () => {
  hub = await new ScriptedHub().start();
  cache = openCacheStore({ dir: tmp.path, logger: log.logger });
  link = new HubLink({
    node: 'edge-1',
    agentVersion: 'fuzz',
    nodeInfo: () => ({ arch: 'amd64', os: 'linux', capacity: { cpu: '1' }, labels: {} }),
    cache,
    transport: new WsTransport({ hubUrl: hub.url, node: 'edge-1', token: 't' }),
    logger: log.logger,
    backoff: new FullJitterBackoff({ baseMs: 5, capMs: 20 }),
  });
  link.start();
  await hub.waitUntil(() => hub.of('hello').length > 0, 10_000, 'hello');
  welcome();
});

afterAll(async () => {
  link?.stop();
  await hub?.close();
  cache?.close();
  tmp.remove();
});

function welcome(): void {
  hub.send({ v: 1, t: 'welcome', hub: 'fuzz', hb: 60_000, max: 4 << 20, ts: Date.now() });
}

// ---- arbitraries -----------------------------------------------------------------------------

const name = fc.oneof(fc.constantFrom('a', 'b', 'web-0', 'cfg.v1', 'x'), fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,10}[a-z0-9])?$/));
const badName = fc.constantFrom('..', '.', 'A', 'a_b', '-a', 'a%2f', '', 'x'.repeat(300), 'é', '../../etc');
const namespace = fc.constantFrom('ns', 'default', 'kube-system');
const kind = fc.constantFrom('ConfigMap', 'Secret', 'Pod');
const data = fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 20 }), { maxKeys: 4 });

/** A put that the cache must accept. */
const goodPut = fc.tuple(kind, namespace, name, data).map(([k, ns, n, d]): SyncOp => {
  const obj: JsonObject = { apiVersion: 'v1', kind: k, metadata: { name: n, namespace: ns }, data: d };
  return { op: 'put', key: `${k}/${ns}/${n}`, rv: contentVersion(obj), obj };
});

/** A JSON value that nests `depth` levels, as text. */
const deepText = fc.integer({ min: 90, max: 20_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);

/** Ops as JSON text: good ones, and ones mutated to lie about themselves. */
const opText = fc.oneof(
  { weight: 4, arbitrary: goodPut.map((op) => JSON.stringify(op)) },
  // body renamed, moved or re-kinded
  {
    weight: 3,
    arbitrary: fc.tuple(goodPut, fc.constantFrom('name', 'namespace', 'kind', 'metadata'), fc.oneof(badName, name, fc.jsonValue({ maxDepth: 2 }))).map(([op, member, value]) => {
      const obj = structuredClone((op as { obj: JsonObject }).obj);
      if (member === 'kind') obj.kind = value as never;
      else if (member === 'metadata') obj.metadata = value as never;
      else (obj.metadata as JsonObject)[member] = value as never;
      return JSON.stringify({ ...op, obj });
    }),
  },
  // a key with names that must never reach a path
  { weight: 2, arbitrary: fc.tuple(kind, fc.oneof(namespace, badName), badName).map(([k, ns, n]) => JSON.stringify({ op: 'put', key: `${k}/${ns}/${n}`, rv: 'r', obj: { kind: k, metadata: { name: n, namespace: ns } } })) },
  // deep nesting in a body or a patch
  { weight: 1, arbitrary: fc.tuple(namespace, name, deepText).map(([ns, n, deep]) => `{"op":"put","key":"ConfigMap/${ns}/${n}","rv":"deep","obj":{"metadata":{"name":"${n}","namespace":"${ns}"},"data":${deep}}}`) },
  { weight: 1, arbitrary: fc.tuple(namespace, name, deepText).map(([ns, n, deep]) => `{"op":"patch","key":"ConfigMap/${ns}/${n}","rv":"p","baseRv":"any","patch":{"data":${deep}}}`) },
  // patches and deletes of keys that may or may not be there
  { weight: 2, arbitrary: fc.tuple(kind, namespace, name, fc.jsonValue({ maxDepth: 3 })).map(([k, ns, n, patch]) => JSON.stringify({ op: 'patch', key: `${k}/${ns}/${n}`, rv: 'pr', baseRv: 'whatever', patch: { metadata: patch } })) },
  { weight: 2, arbitrary: fc.tuple(kind, namespace, name).map(([k, ns, n]) => JSON.stringify({ op: 'del', key: `${k}/${ns}/${n}` })) },
  // any JSON at all where an op should be
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)) },
);

const seq = fc.oneof(fc.integer({ min: 1, max: 1_000 }), fc.constantFrom(0, -1, 1.5, 2 ** 53, 1e300));
const syncFrame = fc.tuple(seq, fc.array(opText, { minLength: 0, maxLength: 6 })).map(([s, ops]) => `{"v":1,"t":"sync","seq":${s},"ops":[${ops.join(',')}]}`);
const number = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 31 - 1, Number.MAX_SAFE_INTEGER, 1e300, 0.5));
const welcomeFrame = fc.record({ hub: fc.string({ maxLength: 10 }), hb: number, max: number, ts: number, sid: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }) }).map((w) => JSON.stringify({ v: 1, t: 'welcome', ...w }));
const syncedFrame = fc
  .record({ seq: number, digest: fc.oneof(fc.string({ maxLength: 44 }), fc.constant('current')), n: number })
  .map((s) => JSON.stringify({ v: 1, t: 'synced', ...s, digest: s.digest === 'current' ? cache.digest() : s.digest }));
const otherFrame = fc.oneof(
  fc.record({ ids: fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 }) }).map((a) => JSON.stringify({ v: 1, t: 'ack', ...a })),
  fc.record({ code: fc.constantFrom('E_STATE', 'E_HELLO', 'E_SHAPE', 'E_AUTH', 'X'), msg: fc.string({ maxLength: 30 }), ref: fc.constantFrom(undefined, 'hello', 'status', 'heartbeat') }).map((e) => JSON.stringify({ v: 1, t: 'error', ...e })),
  fc.constantFrom('{"v":1,"t":"hello"}', '{"v":2,"t":"sync"}', '{"t":"sync"}', 'null', '[]', '{}', '"str"', ''),
  fc.string({ maxLength: 100 }),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  deepText,
);
/** A valid frame with one member replaced by any JSON value. */
const mutated = fc.tuple(fc.oneof(syncFrame, welcomeFrame, syncedFrame), fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 })).map(([text, member, value]) => {
  try {
    const frame = JSON.parse(text) as Record<string, unknown>;
    const names = Object.keys(frame);
    frame[names[member.length % names.length] ?? member] = value;
    return JSON.stringify(frame);
  } catch {
    return text;
  }
});
const frame = fc.oneof({ weight: 4, arbitrary: syncFrame }, { weight: 1, arbitrary: welcomeFrame }, { weight: 2, arbitrary: syncedFrame }, { weight: 2, arbitrary: otherFrame }, { weight: 2, arbitrary: mutated });

// ---- the property ------------------------------------------------------------------------------

function undecodable(text: string): boolean {
  try {
    decode(text, { accept: CLOUD_FRAME_TYPES });
    return false;
  } catch (err) {
    if (err instanceof ProtocolError) return true;
    throw err;
  }
}

/** Sends a good sync and waits for its ack; says welcome again whenever the link started a new session meanwhile. */
async function goodSyncApplies(): Promise<string> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const hellos = hub.of('hello').length;
    const seqNow = ++marker;
    const obj: JsonObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `marker-${seqNow}`, namespace: 'fuzz' }, data: { n: String(seqNow) } };
    const key = `ConfigMap/fuzz/marker-${seqNow}`;
    hub.send({ v: 1, t: 'sync', seq: seqNow, ops: [{ op: 'put', key, rv: contentVersion(obj), obj }] });
    const outcome = await hub.waitUntil(() => (hub.of('ack').some((ack) => ack.seq === seqNow) ? 'acked' : hub.of('hello').length > hellos ? 'new session' : undefined), 10_000, `ack of marker ${seqNow}`);
    if (outcome === 'acked') {
      expect(cache.rvOf(key)).toBe(contentVersion(obj));
      return key;
    }
    // The case ended the session (a wrong digest, E_HELLO): the hub welcomes the new hello.
    welcome();
  }
  throw new Error('the link never settled into a session');
}

function expectConsistent(): void {
  const entries = [...cache.entries()];
  expect(cache.digest()).toBe(cacheDigest(entries));
  for (const [key] of entries) {
    const obj = cache.get(key);
    expect(obj, key).toBeDefined();
    expect(objectError(key, obj!), key).toBeUndefined();
  }
}

describe('hub frames fuzz', () => {
  it('the link survives random and mutated frames, answers what it cannot decode, keeps the cache consistent and still applies a good sync', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 8 }), async (frames) => {
        const errorsBefore = hub.of('error').length;
        const hellosBefore = hub.of('hello').length;
        for (const text of frames) hub.send(text);
        const sessionKept = (await goodSyncApplies()) && hub.of('hello').length === hellosBefore;
        const errors = hub.of('error').slice(errorsBefore);
        // On a session that lasted, every frame the codec refuses got a coded error (more come
        // from valid frames refused later). A frame sent after the link dropped a session is
        // rightly never read.
        if (sessionKept) expect(errors.length).toBeGreaterThanOrEqual(frames.filter(undecodable).length);
        for (const error of errors) expect(error.code).toMatch(/^E_[A-Z_]+$/);
        expectConsistent();
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 60) },
    );
    // Memory and disk agree: the same digest after a reopen.
    const digest = cache.digest();
    link.stop();
    cache.close();
    cache = openCacheStore({ dir: tmp.path, logger: log.logger });
    expect(cache.digest()).toBe(digest);
    expectConsistent();
    // Nothing escaped as an unhandled failure: no error-level line but the expected kinds.
    const errorLines = log.lines.filter((line) => line.level >= 50).map((line) => line.msg);
    for (const msg of errorLines) expect(msg).not.toMatch(/failed to handle a frame|could not apply a sync batch/);
  }, 300_000);
});
