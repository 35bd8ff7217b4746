/**
 * Quiescence: every node that should be connected is in sync, the hub's send queues are empty
 * (when its metrics are known) and no frame has reached any node for a second.
 */
import type { Fleet } from '../fleet/fleet.js';
import type { HubWatch } from '../metrics/hub-watch.js';

export async function settle(fleet: Fleet, hub: HubWatch, timeoutMs: number, quietMs = 1_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let activity = -1;
  let quietSince = Date.now();
  for (;;) {
    const totals = fleet.totals();
    const now = Date.now();
    const seen = totals.framesIn + totals.liveDeliveries + totals.resyncDeliveries;
    if (seen !== activity) {
      activity = seen;
      quietSince = now;
    }
    if (fleet.reported && totals.started === totals.nodes && totals.synced === totals.nodes - totals.paused && now - quietSince >= quietMs) {
      const sample = await hub.sample();
      if (!sample || !Number.isFinite(sample.queueDepth) || sample.queueDepth === 0) return true;
    }
    if (now > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Waits until every node has started and is in sync (the initial connect), or the deadline. */
export async function allSynced(fleet: Fleet, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (fleet.error) throw fleet.error;
    const totals = fleet.totals();
    if (fleet.reported && totals.started === totals.nodes && totals.synced === totals.nodes) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
