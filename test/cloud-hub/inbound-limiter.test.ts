/** The per-node inbound budgets: token buckets that go into debt by one frame, shared by a node's sessions. */
import { describe, expect, it } from 'vitest';
import { InboundLimiter, NodeBudget, TokenBucket } from '../../cloud-hub/session/inbound-limiter.js';
import { DEFAULT_NODE_LIMITS, type NodeLimits } from '../../cloud-hub/session/node-limits.js';

const limits: NodeLimits = { ...DEFAULT_NODE_LIMITS, frameRate: 10, byteRate: 1_000, eventRate: 5, burstSeconds: 2 };

describe('TokenBucket', () => {
  it('allows a burst of its capacity, then is in debt for as long as the rate needs to pay it', () => {
    const bucket = new TokenBucket(10, 20, 0);
    bucket.charge(20, 0);
    expect(bucket.debtMs(0)).toBe(0);
    bucket.charge(5, 0);
    expect(bucket.debtMs(0)).toBe(500);
    expect(bucket.debtMs(250)).toBe(250);
    expect(bucket.debtMs(500)).toBe(0);
    expect(bucket.full(2_500)).toBe(true);
    // Refilling stops at the capacity: a long idle time buys no bigger burst.
    bucket.charge(21, 100_000);
    expect(bucket.debtMs(100_000)).toBe(100);
  });
});

describe('NodeBudget', () => {
  it('names the read limit with the longest debt; events are in debt on their own and never stop reading', () => {
    const budget = new NodeBudget(limits, 0, 0);
    expect(budget.over(0)).toBeUndefined();
    budget.charge('frames', 21, 0); // capacity 20: 100 ms of debt
    budget.charge('events', 15, 0); // capacity 10: 1 s of debt
    expect(budget.over(0)).toEqual({ kind: 'frames', waitMs: 100 });
    expect(budget.over(100)).toBeUndefined();
    expect(budget.debtMs('events', 0)).toBe(1_000);
    expect(budget.debtMs('events', 500)).toBe(500);
    expect(budget.debtMs('events', 1_000)).toBe(0);
  });

  it('always holds two of the largest frames in its byte burst, whatever the byte rate', () => {
    const budget = new NodeBudget(limits, 8_000, 0);
    budget.charge('bytes', 8_000, 0);
    expect(budget.over(0)).toBeUndefined();
    budget.charge('bytes', 1_000, 0);
    expect(budget.over(0)).toEqual({ kind: 'bytes', waitMs: 1_000 });
  });
});

describe('InboundLimiter', () => {
  it('gives every session of a node the same budget, and keeps a budget in debt across a reconnect', () => {
    const limiter = new InboundLimiter(limits, 100);
    const first = limiter.acquire('edge-1');
    const second = limiter.acquire('edge-1');
    expect(second).toBe(first);
    expect(limiter.acquire('edge-2')).not.toBe(first);
    first.charge('frames', 100);
    limiter.release('edge-1');
    limiter.release('edge-1');
    // Reconnecting does not clear the debt.
    const again = limiter.acquire('edge-1');
    expect(again).toBe(first);
    expect(again.over()).toMatchObject({ kind: 'frames' });
  });

  it('forgets the budget of a node that left with a full budget', () => {
    const limiter = new InboundLimiter(limits, 100);
    limiter.acquire('edge-1');
    limiter.release('edge-1');
    expect(limiter.size).toBe(0);
  });
});
