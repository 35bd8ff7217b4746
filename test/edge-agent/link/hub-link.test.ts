/** The agent's link against a scripted hub over a real socket: protocol edge cases the real hub never produces. */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheDigest, type JsonObject } from '../../../protocol/index.js';
import { FullJitterBackoff } from '../../../edge-agent/link/backoff.js';
import { HubLink } from '../../../edge-agent/link/hub-link.js';
import { WsTransport } from '../../../edge-agent/link/ws-transport.js';
import { MemoryCache } from '../../../edge-agent/store/memory-cache.js';
import { BIN, startProcess } from '../../helpers/process.js';
import { ScriptedHub } from '../../helpers/scripted-hub.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const info = { arch: 'amd64', os: 'linux', capacity: { cpu: '1' }, labels: {} };

async function linkAgainst(hub: ScriptedHub, cache = new MemoryCache(), backoff = new FullJitterBackoff({ baseMs: 20, capMs: 50 })) {
  const link = new HubLink({
    node: 'edge-1',
    agentVersion: 'test',
    nodeInfo: () => info,
    cache,
    transport: new WsTransport({ hubUrl: hub.url, node: 'edge-1', token: 't' }),
    logger: pino({ level: 'silent' }),
    backoff,
  });
  link.start();
  cleanups.push(() => link.stop());
  await hub.waitUntil(() => hub.of('hello').length > 0, 10_000, 'hello');
  return { link, cache };
}

describe('full-jitter backoff', () => {
  it('draws from [0, min(cap, base * 2^n)) and resets', () => {
    const seen: number[] = [];
    const backoff = new FullJitterBackoff({ baseMs: 500, capMs: 30_000, random: () => 0.999999 });
    for (let i = 0; i < 10; i++) seen.push(backoff.next());
    expect(seen).toEqual([499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999, 29999]);
    backoff.reset();
    expect(backoff.next()).toBe(499);
    const low = new FullJitterBackoff({ random: () => 0 });
    expect(low.next()).toBe(0);
  });
});

describe('hub link against a scripted hub', () => {
  it('sends hello with the cache digest and full have-list', async () => {
    const hub = await new ScriptedHub().start();
    cleanups.push(() => hub.close());
    const cache = new MemoryCache();
    cache.apply([{ op: 'put', key: 'ConfigMap/ns/a', rv: 'r1', obj: { metadata: { name: 'a', namespace: 'ns' } } }]);
    await linkAgainst(hub, cache);
    const hello = hub.of('hello')[0]!;
    expect(hello).toMatchObject({ node: 'edge-1', digest: cacheDigest([['ConfigMap/ns/a', 'r1']]), have: [['ConfigMap/ns/a', 'r1']] });
  });

  it('applies a patch only on the right base; otherwise applies nothing and sends need', async () => {
    const hub = await new ScriptedHub().start();
    cleanups.push(() => hub.close());
    const { cache } = await linkAgainst(hub);
    hub.welcome();
    hub.send({ v: 1, t: 'sync', seq: 1, ops: [{ op: 'put', key: 'ConfigMap/ns/a', rv: 'r1', obj: { metadata: { name: 'a', namespace: 'ns' }, data: { x: '1' } } }] });
    await hub.waitUntil(() => hub.of('ack').some((a) => a.seq === 1), 10_000, 'ack 1');
    hub.send({ v: 1, t: 'sync', seq: 2, ops: [{ op: 'patch', key: 'ConfigMap/ns/a', rv: 'r3', baseRv: 'r2', patch: { data: { x: '3' } } }] });
    const need = await hub.waitUntil(() => hub.of('need')[0], 10_000, 'need');
    expect(need.keys).toEqual(['ConfigMap/ns/a']);
    expect(cache.rvOf('ConfigMap/ns/a')).toBe('r1');
    hub.send({ v: 1, t: 'sync', seq: 3, ops: [{ op: 'patch', key: 'ConfigMap/ns/a', rv: 'r2', baseRv: 'r1', patch: { data: { x: '2' } } }] });
    await hub.waitUntil(() => hub.of('ack').some((a) => a.seq === 3), 10_000, 'ack 3');
    expect((cache.get('ConfigMap/ns/a')!.data as JsonObject).x).toBe('2');
  });

  it('answers invalid frames with error codes and keeps the connection', async () => {
    const hub = await new ScriptedHub().start();
    cleanups.push(() => hub.close());
    const { cache, link } = await linkAgainst(hub);
    hub.welcome();
    hub.send('garbage');
    hub.send('{"v":1,"t":"hello"}');
    hub.send('{"v":1,"t":"sync","seq":1}');
    hub.send('{"v":3,"t":"sync"}');
    await hub.waitUntil(() => hub.of('error').length >= 4, 10_000, 'four errors');
    expect(hub.of('error').map((e) => e.code)).toEqual(['E_JSON', 'E_TYPE', 'E_SHAPE', 'E_VERSION']);
    hub.send({ v: 1, t: 'sync', seq: 1, ops: [{ op: 'put', key: 'Pod/ns/p', rv: 'r', obj: { metadata: { name: 'p', namespace: 'ns' } } }] });
    await hub.waitUntil(() => hub.of('ack').length > 0, 10_000, 'ack');
    expect(cache.rvOf('Pod/ns/p')).toBe('r');
    expect(hub.connections).toHaveLength(1);
    expect(link.connected).toBe(true);
  });

  it('reconnects and resyncs when the digest after resync differs from the hub\'s', async () => {
    const hub = await new ScriptedHub().start();
    cleanups.push(() => hub.close());
    const { link } = await linkAgainst(hub);
    hub.welcome();
    hub.send({ v: 1, t: 'synced', seq: 0, digest: 'not-the-digest', n: 1 });
    await hub.waitUntil(() => hub.of('hello').length >= 2, 10_000, 'second hello');
    expect(hub.connections.length).toBe(2);
    hub.welcome();
    hub.send({ v: 1, t: 'synced', seq: 0, digest: cacheDigest([]), n: 0 });
    await waitFor(() => link.status === 'synced', { what: 'link in sync' });
  });

  it('treats a silent hub as dead after two heartbeat intervals and reconnects', async () => {
    const hub = await new ScriptedHub().start();
    cleanups.push(() => hub.close());
    await linkAgainst(hub);
    hub.welcome(300);
    // The scripted hub never pings: the link gives up on it and says hello again.
    await hub.waitUntil(() => hub.of('hello').length >= 2, 10_000, 'hello after silence');
    expect(hub.of('heartbeat').length).toBeGreaterThanOrEqual(1);
  });

  it('repeats an unanswered hello on the same connection, waiting twice as long each time', async () => {
    const hub = await new ScriptedHub().start();
    cleanups.push(() => hub.close());
    // When the link's repeat timers fired, from its own log. The times the hub sees each hello
    // add that hello's delivery, which a loaded machine varies: a late third hello shortened the
    // next gap below 400 ms.
    const repeatedAt: number[] = [];
    const logger = pino({ level: 'info' }, {
      write: (line: string) => {
        const entry = JSON.parse(line) as { msg: string; time: number };
        if (entry.msg === 'no welcome yet; saying hello again') repeatedAt.push(entry.time);
      },
    });
    const link = new HubLink({
      node: 'edge-1',
      agentVersion: 'test',
      nodeInfo: () => info,
      cache: new MemoryCache(),
      transport: new WsTransport({ hubUrl: hub.url, node: 'edge-1', token: 't' }),
      logger,
      helloRetryMs: 100,
    });
    link.start();
    cleanups.push(() => link.stop());
    await hub.waitUntil(() => hub.of('hello').length >= 4, 10_000, 'hello 4');
    const gaps = repeatedAt.slice(1, 3).map((at, i) => at - repeatedAt[i]!);
    // Lower bounds only: a loaded machine stretches the gaps between timers, it never shortens them.
    expect(gaps[0]).toBeGreaterThanOrEqual(190);
    expect(gaps[1]).toBeGreaterThanOrEqual(390);
    expect(hub.connections).toHaveLength(1);
    const sids = hub.of('hello').map((hello) => hello.sid);
    expect(new Set(sids).size).toBe(sids.length);
  });

  it('the agent process survives invalid frames and still applies valid ones', async () => {
    const hub = await new ScriptedHub().start();
    cleanups.push(() => hub.close());
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const agent = await startProcess(BIN.edgeAgent, ['--node', 'edge-1', '--hub', hub.url, '--data', dir.path, '--local-api', '127.0.0.1:0']);
    cleanups.push(() => agent.stop());
    await hub.waitUntil(() => hub.of('hello')[0], 10_000, 'hello');
    hub.welcome();
    hub.send('\u0000\u0001binary?');
    hub.send(`{"v":1,"t":"sync","seq":1,"ops":[{"op":"put","key":"Pod/ns/p","rv":"r","obj":${'['.repeat(10)}`);
    hub.send({ v: 1, t: 'sync', seq: 1, ops: [{ op: 'put', key: 'ConfigMap/ns/ok', rv: 'r', obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ok', namespace: 'ns' }, data: { a: '1' } } }] });
    await hub.waitUntil(() => hub.of('ack').length > 0, 10_000, 'ack');
    expect(hub.of('error').map((e) => e.code)).toEqual(['E_JSON', 'E_JSON']);
    const localApi = agent.logs.find((line) => line.msg === 'ready')!.localApi as string;
    const cm = (await (await fetch(`${localApi}/api/v1/namespaces/ns/configmaps/ok`)).json()) as JsonObject;
    expect((cm.data as JsonObject).a).toBe('1');
    expect(agent.running).toBe(true);
  });
});
