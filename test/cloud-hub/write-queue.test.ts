/**
 * The upstream write queue's fairness: the heartbeat lane never waits behind bulk writes, and
 * one node's backlog delays another node's write by one turn, not by its length.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApiError } from '../../cloud-hub/kube/kube-client.js';
import { WriteQueue, type WriteLane, type WriteResult } from '../../cloud-hub/upstream/write-queue.js';
import { waitFor } from '../helpers/wait.js';

const logger = pino({ level: 'silent' });
const queues: WriteQueue[] = [];
afterEach(() => {
  for (const queue of queues.splice(0)) queue.close();
});

function queue(options: { concurrency: number; qps?: number; burst?: number }): WriteQueue {
  // With one slot, nothing is reserved for the heartbeat lane.
  const q = new WriteQueue({ qps: options.qps ?? 100_000, burst: options.burst ?? 100_000, concurrency: options.concurrency, logger });
  queues.push(q);
  return q;
}

/** Writes whose completion the test controls, recording the order they started in. */
class Writes {
  readonly started: string[] = [];
  private readonly release = new Map<string, () => void>();

  run(key: string, hold: boolean): () => Promise<void> {
    return () => {
      this.started.push(key);
      if (!hold) return Promise.resolve();
      return new Promise<void>((resolve) => this.release.set(key, resolve));
    };
  }

  submit(q: WriteQueue, node: string, key: string, lane: WriteLane, hold = false, settled?: (result: WriteResult) => void): void {
    q.submit({ key, kind: 'Test', node, lane, run: this.run(key, hold), ...(settled ? { settled } : {}) });
  }

  finish(key: string): void {
    this.release.get(key)?.();
    this.release.delete(key);
  }

  finishAll(): void {
    for (const key of [...this.release.keys()]) this.finish(key);
  }
}

describe('upstream write queue', () => {
  it('serves nodes round-robin: a node with 5,000 writes waiting delays another node\'s write by one turn', async () => {
    const q = queue({ concurrency: 1 });
    const writes = new Writes();
    // The first write holds the only slot, so everything after it queues.
    writes.submit(q, 'flood', 'flood-0', 'bulk', true);
    for (let i = 1; i <= 5_000; i++) writes.submit(q, 'flood', `flood-${i}`, 'bulk');
    writes.submit(q, 'quiet-a', 'quiet-a-0', 'bulk');
    writes.submit(q, 'quiet-b', 'quiet-b-0', 'bulk');
    writes.finish('flood-0');
    await waitFor(() => writes.started.length === 5_003, { what: 'every write run' });
    // After the write in flight: flood, quiet-a, quiet-b take turns (the ring's order), then the flood's backlog.
    expect(writes.started.indexOf('quiet-a-0')).toBeLessThanOrEqual(3);
    expect(writes.started.indexOf('quiet-b-0')).toBeLessThanOrEqual(3);
    // Each node's own writes keep their order.
    const flood = writes.started.filter((key) => key.startsWith('flood-'));
    expect(flood).toEqual(Array.from({ length: 5_001 }, (_, i) => `flood-${i}`));
  });

  it('runs heartbeat-lane writes at once while every bulk slot is held by slow writes', async () => {
    const q = queue({ concurrency: 8 });
    const writes = new Writes();
    for (let i = 0; i < 100; i++) writes.submit(q, `node-${i % 3}`, `bulk-${i}`, 'bulk', true);
    const before = writes.started.length;
    // Bulk writes use at most 6 of the 8 slots; two stay for Leases and Node status.
    expect(before).toBe(6);
    for (const node of ['node-0', 'node-7']) writes.submit(q, node, `Lease/${node}`, 'heartbeat', true);
    expect(writes.started.slice(before)).toEqual(['Lease/node-0', 'Lease/node-7']);
    writes.finishAll();
  });

  it('lets no node hold more than half of the bulk slots, so a node with slow writes cannot block the others', async () => {
    const q = queue({ concurrency: 8 });
    const writes = new Writes();
    for (let i = 0; i < 50; i++) writes.submit(q, 'slow', `slow-${i}`, 'bulk', true);
    expect(writes.started).toHaveLength(3);
    writes.submit(q, 'other', 'other-0', 'bulk', true);
    writes.submit(q, 'third', 'third-0', 'bulk', true);
    expect(writes.started).toContain('other-0');
    expect(writes.started).toContain('third-0');
    writes.finishAll();
  });

  it('serves the heartbeat lane first when the rate limit leaves one write at a time', async () => {
    const q = queue({ concurrency: 4, qps: 50, burst: 1 });
    const writes = new Writes();
    for (let i = 0; i < 20; i++) writes.submit(q, 'flood', `flood-${i}`, 'bulk');
    writes.submit(q, 'edge-1', 'Lease/edge-1', 'heartbeat');
    await waitFor(() => writes.started.includes('Lease/edge-1'), { what: 'the Lease write' });
    // The burst allowed one write before the Lease arrived; the Lease was the next one.
    expect(writes.started.indexOf('Lease/edge-1')).toBeLessThanOrEqual(1);
  });

  it('replaces a waiting write for the same key in place and settles every caller once', async () => {
    const q = queue({ concurrency: 1 });
    const writes = new Writes();
    const results: string[] = [];
    writes.submit(q, 'a', 'hold', 'bulk', true);
    writes.submit(q, 'a', 'status-x', 'bulk', false, (r) => results.push(`first:${r}`));
    writes.submit(q, 'a', 'status-y', 'bulk', false);
    writes.submit(q, 'a', 'status-x', 'bulk', false, (r) => results.push(`second:${r}`));
    writes.finish('hold');
    await waitFor(() => results.length === 2, { what: 'both callers settled' });
    expect(writes.started).toEqual(['hold', 'status-x', 'status-y']);
    expect(results).toEqual(['first:ok', 'second:ok']);
    expect(q.size).toBe(0);
  });

  it('retries a failed write without holding a slot, and gives up at once on a permanent refusal', async () => {
    const q = queue({ concurrency: 1 });
    let attempts = 0;
    const results: string[] = [];
    q.submit({
      key: 'flaky',
      kind: 'Test',
      node: 'a',
      lane: 'bulk',
      run: async () => {
        attempts += 1;
        if (attempts < 3) throw new Error('connection reset');
      },
      settled: (r) => results.push(`flaky:${r}`),
    });
    q.submit({ key: 'forbidden', kind: 'Test', node: 'b', lane: 'bulk', run: () => Promise.reject(new KubeApiError(403, 'Forbidden', 'no')), settled: (r) => results.push(`forbidden:${r}`) });
    await waitFor(() => results.length === 2, { what: 'both settled', timeoutMs: 20_000 });
    expect(results).toEqual(['forbidden:failed', 'flaky:ok']);
    expect(attempts).toBe(3);
  });
});
