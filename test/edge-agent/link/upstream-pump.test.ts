/** The upstream pump over a real SQLite outbox: order, batching, acks, at-least-once across reconnects. */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { EdgeFrame, EventFrame, StatusFrame } from '../../../protocol/index.js';
import { FullJitterBackoff } from '../../../edge-agent/link/backoff.js';
import { UpstreamPump } from '../../../edge-agent/link/upstream-pump.js';
import { openEdgeStore, type EdgeStore } from '../../../edge-agent/store/index.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function setup(options: { maxInflightFrames?: number; batchItems?: number; ackTimeoutMs?: number; retryBackoff?: FullJitterBackoff } = {}): { store: EdgeStore; pump: UpstreamPump; sent: EdgeFrame[] } {
  const dir = makeTempDir();
  const store = openEdgeStore({ dir: dir.path, logger: pino({ level: 'silent' }) });
  cleanups.push(() => dir.remove(), () => store.close());
  const pump = new UpstreamPump({ outbox: store.outbox, logger: pino({ level: 'silent' }), ...options });
  return { store, pump, sent: [] };
}

const status = (name: string, phase: string) => ({ kind: 'status' as const, priority: 7, dedupe: `status:Pod/ns/${name}`, body: { ns: 'ns', name, uid: 'u', status: { phase } } });
const event = (id: string, priority: number) => ({ kind: 'event' as const, priority, body: { id, ts: 1, source: 'pod', type: 'Normal', reason: 'Started', priority } });

describe('upstream pump', () => {
  it('sends again what the hub deferred (E_UNAVAILABLE / E_RATE_LIMITED), on the same connection, after the back-off', async () => {
    const { store, pump, sent } = setup({ maxInflightFrames: 1, retryBackoff: new FullJitterBackoff({ baseMs: 50, capMs: 50, random: () => 1 }) });
    for (let i = 0; i < 3; i++) store.outbox.add(event(`e${i}`, 5));
    pump.connected((frame) => sent.push(frame));
    expect(sent).toHaveLength(1);
    // The hub took e0 and refused the rest: the window stays full until they go again.
    pump.acked(['e0']);
    const refused = sent.length;
    pump.deferred('event', 'over this node\'s limit');
    pump.deferred('event', 'a second notice while waiting schedules nothing more');
    const started = Date.now();
    await waitFor(() => sent.length > refused, { what: 'the deferred events sent again' });
    // Not before the back-off's delay (50 ms with this random source).
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    const resent = sent.slice(refused).flatMap((f) => (f.t === 'event' ? f.events.map((e) => e.id) : []));
    expect(resent).toEqual(['e1', 'e2']);
    pump.acked(['e1', 'e2']);
    expect(store.outbox.size).toBe(0);
    pump.disconnected();
  });

  it('sends again a frame the hub left unacked for the ack timeout', async () => {
    const { store, pump, sent } = setup({ ackTimeoutMs: 200, retryBackoff: new FullJitterBackoff({ baseMs: 1, capMs: 1, random: () => 0 }) });
    store.outbox.add(status('a', 'Running'));
    pump.connected((frame) => sent.push(frame));
    expect(sent).toHaveLength(1);
    const started = Date.now();
    await waitFor(() => sent.length > 1, { what: 'the unacked status sent again' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    const again = sent[1] as StatusFrame;
    expect(again.t).toBe('status');
    expect(again.pods.map((p) => p.name)).toEqual(['a']);
    pump.acked([again.id]);
    expect(store.outbox.size).toBe(0);
    pump.disconnected();
  });

  it('sends nothing while disconnected and everything queued once connected, highest priority first', () => {
    const { store, pump, sent } = setup();
    store.outbox.add(event('low', 1));
    store.outbox.add(status('a', 'Running'));
    store.outbox.add(event('high', 9));
    pump.notify();
    expect(sent).toEqual([]);
    pump.connected((frame) => sent.push(frame));
    const events = sent.filter((f): f is EventFrame => f.t === 'event').flatMap((f) => f.events.map((e) => e.id));
    expect(events).toEqual(['high', 'low']);
    const statuses = sent.filter((f): f is StatusFrame => f.t === 'status');
    expect(statuses).toHaveLength(1);
    expect(statuses[0]!.pods.map((p) => p.name)).toEqual(['a']);
  });

  it('removes rows only when acked; unacked rows go again after a reconnect', () => {
    const { store, pump, sent } = setup();
    store.outbox.add(status('a', 'Running'));
    store.outbox.add(event('e1', 5));
    pump.connected((frame) => sent.push(frame));
    const statusFrame = sent.find((f): f is StatusFrame => f.t === 'status')!;
    pump.acked([statusFrame.id]);
    expect(store.outbox.size).toBe(1);
    pump.disconnected();
    const again: EdgeFrame[] = [];
    pump.connected((frame) => again.push(frame));
    expect(again.map((f) => f.t)).toEqual(['event']);
    pump.acked(['e1']);
    expect(store.outbox.size).toBe(0);
  });

  it('keeps only the latest status per Pod while waiting', () => {
    const { store, pump, sent } = setup();
    store.outbox.add(status('a', 'Pending'));
    store.outbox.add(status('a', 'Running'));
    pump.connected((frame) => sent.push(frame));
    const statuses = sent.filter((f): f is StatusFrame => f.t === 'status').flatMap((f) => f.pods);
    expect(statuses.map((p) => p.status.phase)).toEqual(['Running']);
  });

  it('bounds frames in flight and continues as acks arrive', async () => {
    const { store, pump, sent } = setup({ maxInflightFrames: 2, batchItems: 1 });
    for (let i = 0; i < 5; i++) store.outbox.add(event(`e${i}`, 5));
    pump.connected((frame) => sent.push(frame));
    expect(sent).toHaveLength(2);
    pump.acked(['e0']);
    expect(sent).toHaveLength(3);
    pump.acked(['e1', 'e2']);
    expect(sent).toHaveLength(5);
    pump.acked(['e3', 'e4']);
    expect(store.outbox.size).toBe(0);
    // New rows after everything drained go out on notify.
    store.outbox.add(event('late', 5));
    pump.notify();
    await waitFor(() => sent.length === 6, { what: 'late event sent' });
  });
});
