/**
 * The hub's WebSocket endpoint against hostile peers, through a real `cloud-hub` process and
 * real sockets: malformed upgrades, oversize frames, connection floods with one token, silent
 * connections, a flooding node and a node that never reads. After every attack the hub must
 * still serve a well-behaved node, and its refusal counters must say why it acted.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, metricValue, type HubHandle } from '../helpers/hub.js';
import { TestNode } from '../helpers/protocol-client.js';
import { rawRequest, silentSocket, upgradeRequest } from '../helpers/raw-http.js';
import { waitFor } from '../helpers/wait.js';

const NS = 'hardening';
const HANDSHAKE_MS = 2_000;
const PER_ADDRESS = 12;
const FRAME_RATE = 100;

let hub: HubHandle;
let port: number;
const tokens = new Map<string, string>();
const open: TestNode[] = [];

function portOf(url: string): number {
  return Number(new URL(url.replace(/^ws/, 'http')).port);
}

async function connect(target: HubHandle, node: string, options: { autoAck?: boolean } = {}): Promise<TestNode> {
  const token = tokens.get(node);
  // A token just created reaches the hub through its Secret informer: retry the 401 until it has.
  const client = await waitFor(() => TestNode.connect(target.ws, node, { ...(token ? { token } : {}), ...options }), { what: `${node} accepted` });
  client.ws.on('error', () => undefined);
  open.push(client);
  return client;
}

async function synced(target: HubHandle, node: string): Promise<TestNode> {
  const client = await connect(target, node);
  client.hello([]);
  await client.waitForFrame((f) => f.t === 'synced', 15_000, 'synced');
  return client;
}

function refusals(target: HubHandle, reason: string): Promise<number> {
  return metricValue(target.metrics, 'edge_hub_refusals_total', { reason });
}

let probes = 0;
/** The hub is alive and serves a well-behaved node: it connects, resyncs and gets a new Pod. */
async function expectServes(target: HubHandle = hub): Promise<void> {
  expect(target.proc.running).toBe(true);
  expect((await fetch(`${target.ws.replace(/^ws/, 'http')}/healthz`)).status).toBe(200);
  const client = await synced(target, 'edge-ok');
  const name = `probe-${++probes}`;
  await target.client.create(`/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: { nodeName: 'edge-ok', containers: [{ name: 'c', image: 'busybox' }] } });
  await client.waitUntil(() => client.cache.has(`Pod/${NS}/${name}`), 15_000, `pod ${name}`);
  client.close();
}

async function startTestHub(args: string[]): Promise<HubHandle> {
  const started = await startHub({ args });
  await started.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  for (const node of ['edge-ok', 'edge-big', 'edge-many', 'edge-quiet', 'edge-rate', 'edge-other', 'edge-deaf', 'edge-busy']) tokens.set(node, await started.tokens.create(node));
  return started;
}

beforeAll(async () => {
  hub = await startTestHub([
    '--handshake-timeout',
    String(HANDSHAKE_MS),
    '--max-pending-per-address',
    String(PER_ADDRESS),
    '--node-frame-rate',
    String(FRAME_RATE),
    '--node-rate-burst',
    '1',
  ]);
  port = portOf(hub.ws);
  await expectServes();
});

afterAll(async () => {
  for (const client of open) client.close();
  await hub?.stop();
});

describe('hostile upgrades', () => {
  it('answers malformed, overlong and unknown paths with a coded 400 or 404, even with a valid token', async () => {
    const auth = { Authorization: `Bearer ${tokens.get('edge-ok')}` };
    const cases: [string, number][] = [
      ['/edge/v1/%', 400],
      ['/edge/v1/%E0%A4%A', 400],
      ['/edge/v1/%ZZ', 400],
      ['/edge/v1/%C0%AF', 400],
      [`/edge/v1/${'a'.repeat(254)}`, 400],
      ['/edge/v1/a%2Fb', 400],
      ['/edge/v1/..%2F..%2Fetc%2Fpasswd', 400],
      ['/edge/v1/', 400],
      ['/edge/v1/Edge-OK', 400],
      ['/edge/v1/edge-ok%00', 400],
      ['/', 404],
      ['/edge/v2/edge-ok', 404],
      ['/edge/v1', 404],
    ];
    const before = await refusals(hub, 'bad-path');
    for (const [path, status] of cases) {
      const answer = await rawRequest(port, upgradeRequest(path, auth));
      expect({ path, status: answer.status, code: answer.headers['edge-sync-error'] }).toEqual({ path, status, code: 'E_SHAPE' });
      expect(answer.body).toMatch(/^E_SHAPE: /);
    }
    expect(await refusals(hub, 'bad-path')).toBeGreaterThanOrEqual(before + cases.length);
    await expectServes();
  });

  it('survives random paths (fast-check), each answered with an HTTP error', async () => {
    const pathChars = fc.constantFrom(...'abz09-._~%/?#:@!$&\'()*+,;=[]E0A4FfZ\\"<>^`{|}'.split(''), '%', '%E0', '%A4', '%2F', '%00', '%FF', '\u00e9', '\u4e2d');
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(pathChars, { maxLength: 80 }), async (prefixed, chars) => {
        const path = `${prefixed ? '/edge/v1/' : '/'}${chars.join('')}`;
        const answer = await rawRequest(port, Buffer.from(upgradeRequest(path), 'utf8'));
        expect(answer.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 120 },
    );
    await expectServes();
  });

  it('answers bad headers and garbage requests with an error and stays up', async () => {
    const path = '/edge/v1/edge-ok';
    const token = tokens.get('edge-ok')!;
    const bearer = { Authorization: `Bearer ${token}` };
    const answers = {
      noToken: await rawRequest(port, upgradeRequest(path)),
      basic: await rawRequest(port, upgradeRequest(path, { Authorization: 'Basic ZWRnZS1vazpwYXNz' })),
      hugeToken: await rawRequest(port, upgradeRequest(path, { Authorization: `Bearer ${'x'.repeat(8_000)}` })),
      latin1Token: await rawRequest(port, Buffer.from(upgradeRequest(path, { Authorization: 'Bearer \u00ff\u00fe' }), 'latin1')),
      noKey: await rawRequest(port, upgradeRequest(path, { ...bearer, 'Sec-WebSocket-Key': '' })),
      badVersion: await rawRequest(port, upgradeRequest(path, { ...bearer, 'Sec-WebSocket-Version': '7' })),
      hugeHeader: await rawRequest(port, upgradeRequest(path, { ...bearer, 'X-Filler': 'y'.repeat(20_000) })),
      garbage: await rawRequest(port, 'GARBAGE \u0000\u0001\r\n\r\n'),
      tlsHello: await rawRequest(port, Buffer.from('16030100a5010000a10303', 'hex')),
    };
    expect(answers.noToken).toMatchObject({ status: 401, headers: { 'edge-sync-error': 'E_AUTH' } });
    expect(answers.basic).toMatchObject({ status: 401, headers: { 'edge-sync-error': 'E_AUTH' } });
    expect(answers.hugeToken).toMatchObject({ status: 401, headers: { 'edge-sync-error': 'E_AUTH' } });
    expect(answers.latin1Token).toMatchObject({ status: 401, headers: { 'edge-sync-error': 'E_AUTH' } });
    expect(answers.noKey.status).toBe(400);
    expect(answers.badVersion.status).toBe(400);
    expect(answers.hugeHeader.status).toBe(431);
    expect(answers.garbage.status).toBe(400);
    expect(answers.tlsHello.status).toBe(400);
    await expectServes();
  });
});

describe('frames over the limit', () => {
  it('answers a frame just over the protocol limit with E_TOO_LARGE and stays up; a far larger one is closed with 1009 unread', async () => {
    const client = await synced(hub, 'edge-big');
    client.send('x'.repeat(4 * 1024 * 1024 + 10));
    const error = await client.waitForFrame((f) => f.t === 'error', 15_000, 'E_TOO_LARGE');
    expect(error).toMatchObject({ code: 'E_TOO_LARGE' });
    expect(client.closeCode).toBeUndefined();

    // Nine connections of the node, each announcing a 60 MiB frame (only its header is sent:
    // the hub must refuse on the length alone, before buffering a byte of it).
    const before = await refusals(hub, 'frame-too-large');
    const header = Buffer.alloc(14);
    header[0] = 0x81; // FIN, text
    header[1] = 0x80 | 127; // masked, 64-bit length
    header.writeBigUInt64BE(BigInt(60 * 1024 * 1024), 2);
    const big: TestNode[] = [];
    for (let i = 0; i < 9; i++) {
      const conn = await connect(hub, 'edge-big');
      conn.writeRaw(Buffer.concat([header, Buffer.alloc(4), Buffer.alloc(64 * 1024, 0x20)]));
      big.push(conn);
    }
    for (const conn of big) await conn.waitUntil(() => conn.closeCode, 15_000, 'close 1009');
    expect(big.map((conn) => conn.closeCode)).toEqual(Array(9).fill(1009));
    expect(await refusals(hub, 'frame-too-large')).toBeGreaterThanOrEqual(before + 9);
    // The first connection of the node was live and stays so.
    expect(client.closeCode).toBeUndefined();
    await expectServes();
  });
});

describe('hostile frames', () => {
  it('survives random frames (fast-check): text, binary, and frame-like objects of every type, each answered or ignored', async () => {
    const client = await synced(hub, 'edge-big');
    const frameLike = fc
      .record({
        v: fc.constantFrom(1, 2, '1', null),
        t: fc.constantFrom('hello', 'ack', 'need', 'status', 'heartbeat', 'event', 'error', 'sync', 'welcome', 'toString', '__proto__'),
        extra: fc.dictionary(fc.constantFrom('seq', 'keys', 'ids', 'pods', 'events', 'node', 'ts', 'digest', 'have', 'info', 'code', 'msg'), fc.jsonValue({ maxDepth: 3 })),
      })
      .map(({ v, t, extra }) => JSON.stringify({ ...extra, v, t }));
    const frames = fc.sample(fc.oneof(frameLike, fc.json({ maxDepth: 4 }), fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes))), { numRuns: 150, seed: 14 });
    for (const frame of frames) client.send(frame);
    // Asked last: answered once the hub has read (and answered or ignored) everything before it.
    const before = client.of('sync').length;
    client.send({ v: 1, t: 'need', keys: ['Node//edge-big'] });
    await client.waitUntil(() => client.of('sync').length > before || client.closeCode !== undefined, 20_000, 'answer to need after the random frames');
    expect(client.closeCode).toBeUndefined();
    await expectServes();
  });
});

describe('connections per node', () => {
  it('keeps one live and one pending connection per node: older pending ones are closed as replaced, the last one at the handshake timeout', async () => {
    const live = await synced(hub, 'edge-many');
    const before = await refusals(hub, 'pending-replaced');
    const pending: TestNode[] = [];
    for (let i = 0; i < 19; i++) pending.push(await connect(hub, 'edge-many'));
    // Taken before the last one connects: the hub starts its timer after this (50 ms for clock rounding).
    const lastStarted = Date.now();
    pending.push(await connect(hub, 'edge-many'));
    const older = pending.slice(0, -1);
    for (const conn of older) await conn.waitUntil(() => conn.closeCode, 10_000, 'replaced pending connection');
    expect(older.map((conn) => conn.closeCode)).toEqual(Array(19).fill(4000));
    expect(await refusals(hub, 'pending-replaced')).toBeGreaterThanOrEqual(before + 19);
    const last = pending.at(-1)!;
    await last.waitUntil(() => last.closeCode, 10_000, 'silent connection closed');
    expect(last.closeCode).toBe(4003);
    expect(Date.now() - lastStarted).toBeGreaterThanOrEqual(HANDSHAKE_MS - 50);
    // The live session was never touched and still gets changes.
    expect(live.closeCode).toBeUndefined();
    await hub.client.create(`/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'many-1', namespace: NS }, spec: { nodeName: 'edge-many', containers: [{ name: 'c', image: 'busybox' }] } });
    await live.waitUntil(() => live.cache.has(`Pod/${NS}/many-1`), 10_000, 'pod on the live connection');
  });

  it('drops peers that never complete a handshake: no request, a request that never ends, a WebSocket that never speaks', async () => {
    const before = { timeout: await refusals(hub, 'handshake-timeout'), silent: await refusals(hub, 'silent') };
    const started = Date.now();
    const nothing = await silentSocket(port);
    const partial = await silentSocket(port);
    partial.write('GET /edge/v1/edge-quiet HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const quiet = await connect(hub, 'edge-quiet');
    const closedAt = (socket: typeof nothing) => new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    const [nothingClosed, partialClosed] = await Promise.all([closedAt(nothing), closedAt(partial)]);
    await quiet.waitUntil(() => quiet.closeCode, 10_000, 'quiet WebSocket closed');
    expect(quiet.closeCode).toBe(4003);
    expect(nothingClosed - started).toBeGreaterThanOrEqual(HANDSHAKE_MS - 50);
    expect(partialClosed - started).toBeGreaterThanOrEqual(HANDSHAKE_MS - 50);
    expect(await refusals(hub, 'handshake-timeout')).toBeGreaterThanOrEqual(before.timeout + 1);
    expect(await refusals(hub, 'silent')).toBeGreaterThanOrEqual(before.silent + 1);
    await waitFor(async () => (await metricValue(hub.metrics, 'edge_hub_pending_connections')) === 0, { what: 'no pending connections left' });
    await expectServes();
  });

  it('caps pending connections per remote address: over the cap a connection is closed at once', async () => {
    const before = await refusals(hub, 'pending-address');
    // Keep-alive sockets of earlier health checks count until the hub closes them.
    await waitFor(async () => (await metricValue(hub.metrics, 'edge_hub_pending_connections')) === 0, { what: 'no pending connections' });
    const held = [];
    for (let i = 0; i < PER_ADDRESS; i++) held.push(await silentSocket(port));
    await waitFor(async () => (await metricValue(hub.metrics, 'edge_hub_pending_connections')) === PER_ADDRESS, { what: 'all held sockets pending' });
    const over = await silentSocket(port);
    if (!over.destroyed) await new Promise<void>((resolve) => over.once('close', () => resolve()));
    // The held ones are still open: the newest was refused, not the oldest.
    expect(held.every((socket) => !socket.destroyed)).toBe(true);
    expect(await refusals(hub, 'pending-address')).toBeGreaterThanOrEqual(before + 1);
    for (const socket of held) socket.destroy();
    await waitFor(async () => (await metricValue(hub.metrics, 'edge_hub_pending_connections')) === 0, { what: 'pending connections released' });
    await expectServes();
  });
});

describe('inbound rate limits', () => {
  it('slows a node over its frame rate with E_RATE_LIMITED and loses none of its frames; another node is not affected', async () => {
    const flooder = await synced(hub, 'edge-rate');
    const other = await synced(hub, 'edge-other');
    const heartbeatsBefore = await metricValue(hub.metrics, 'edge_hub_frames_total', { type: 'heartbeat', direction: 'in' });
    const frames = 4 * FRAME_RATE;
    const started = Date.now();
    for (let i = 0; i < frames; i++) flooder.send({ v: 1, t: 'heartbeat', ts: Date.now() });
    // Asked last, answered only once the hub has read everything before it.
    flooder.send({ v: 1, t: 'need', keys: ['Node//edge-rate'] });
    const notice = await flooder.waitForFrame((f) => f.t === 'error', 10_000, 'E_RATE_LIMITED');
    expect(notice).toMatchObject({ code: 'E_RATE_LIMITED' });
    expect((notice as { msg: string }).msg).toContain(`${FRAME_RATE} frames/s`);

    await hub.client.create(`/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'other-1', namespace: NS }, spec: { nodeName: 'edge-other', containers: [{ name: 'c', image: 'busybox' }] } });
    await other.waitUntil(() => other.cache.has(`Pod/${NS}/other-1`), 15_000, 'pod for the other node');

    const syncsBefore = flooder.of('sync').length;
    await flooder.waitUntil(() => flooder.of('sync').length > syncsBefore && flooder.cache.has('Node//edge-rate'), 30_000, 'answer to need');
    // The burst is one second's worth; the rest came through at the rate, not faster.
    expect(Date.now() - started).toBeGreaterThanOrEqual(((frames - FRAME_RATE) / FRAME_RATE) * 1000 * 0.9);
    expect(await metricValue(hub.metrics, 'edge_hub_frames_total', { type: 'heartbeat', direction: 'in' })).toBeGreaterThanOrEqual(heartbeatsBefore + frames);
    expect(await refusals(hub, 'rate-frames')).toBeGreaterThanOrEqual(1);
    expect(other.of('error').filter((f) => f.code === 'E_RATE_LIMITED')).toEqual([]);
    expect(flooder.closeCode).toBeUndefined();
  });
});

describe('a node that does not read', () => {
  let generous: HubHandle;

  beforeAll(async () => {
    // Rates high enough that only the send buffer cap can stop the flood.
    generous = await startTestHub(['--node-frame-rate', '100000000', '--node-byte-rate', '1000000000', '--max-send-buffer', String(256 * 1024)]);
  });

  afterAll(async () => generous?.stop());

  it('is cut once its send buffer is over the cap, its memory freed, while another node keeps syncing', async () => {
    const deaf = await synced(generous, 'edge-deaf');
    const busy = await synced(generous, 'edge-busy');
    deaf.stopReading();
    // Every garbage frame makes the hub answer E_JSON, which the node never reads.
    let cut = 0;
    for (let round = 0; round < 1_000 && cut === 0; round++) {
      for (let i = 0; i < 1_000; i++) deaf.ws.send('x');
      await new Promise((resolve) => setImmediate(resolve));
      if (round % 10 === 9) cut = await refusals(generous, 'send-buffer');
      // Before the first look for the cut (round 9), so it is created whatever round the cut comes in.
      if (round === 5) {
        await generous.client.create(`/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'busy-1', namespace: NS }, spec: { nodeName: 'edge-busy', containers: [{ name: 'c', image: 'busybox' }] } });
      }
    }
    expect(cut).toBeGreaterThanOrEqual(1);
    // Deadlines, not windows: on a loaded machine the hub may still be working through the
    // garbage frames it read before the cut (seen taking over 20 s at load 20 on 2 cores; this
    // test sets the per-node rates out of the way, so nothing makes the deaf node yield sooner).
    await busy.waitUntil(() => busy.cache.has(`Pod/${NS}/busy-1`), 90_000, 'pod for the node that reads');
    await waitFor(async () => (await metricValue(generous.metrics, 'edge_hub_connected_nodes')) === 1, { what: 'the deaf node gone', timeoutMs: 90_000 });
    expect(busy.closeCode).toBeUndefined();
    await expectServes(generous);
  }, 240_000);
});
