/** Lease renewal pacing: the configured interval, stretched when a large fleet would eat the API write budget. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LeaseRenewer } from '../../cloud-hub/upstream/lease-renewer.js';
import type { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import type { WriteQueue, WriteRequest } from '../../cloud-hub/upstream/write-queue.js';

function renewer(apiQps: number) {
  const warnings: unknown[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
  const submitted: string[] = [];
  const writes = { submit: (request: WriteRequest) => submitted.push(request.key) } as unknown as WriteQueue;
  const leases = new LeaseRenewer({ client: {} as KubeClient, writes, logger, renewIntervalMs: 10_000, leaseDurationSeconds: 40, holder: (n) => n, apiQps, gracePeriodMs: 40_000 });
  return { leases, warnings, submitted };
}

describe('lease renewal pacing', () => {
  it('keeps the configured interval while renewals fit in half the write budget', () => {
    const { leases } = renewer(500);
    for (let i = 0; i < 2_000; i++) leases.connected(`n-${i}`, 0);
    expect(leases.effectiveIntervalMs(0)).toBe(10_000);
  });

  it('stretches the interval for a larger fleet, and warns once past a third of the grace period', () => {
    const { leases, warnings } = renewer(500);
    for (let i = 0; i < 5_000; i++) leases.connected(`n-${i}`, 0);
    expect(leases.effectiveIntervalMs(0)).toBe(20_000);
    expect(warnings).toHaveLength(1);
    leases.effectiveIntervalMs(1_000);
    expect(warnings).toHaveLength(1);
  });

  it('renews a heartbeating node at most once per interval', () => {
    const { leases, submitted } = renewer(500);
    leases.heartbeat('a', 100_000);
    leases.heartbeat('a', 105_000);
    leases.heartbeat('a', 110_001);
    expect(submitted).toEqual(['Lease/a', 'Lease/a']);
  });
});
