/**
 * The end-of-run check: every node's cache digest against its desired set. The fleet is given
 * time to settle (the hub may still be sending the last changes, registering Nodes, or a
 * reconnecting node may be mid-resync); the check repeats until all agree or the deadline.
 */
import type { Fleet } from '../fleet/fleet.js';
import type { DesiredSets } from './desired-sets.js';

export interface Divergence {
  node: string;
  expectedObjects: number;
  heldObjects: number;
  link: string;
}

export interface VerificationResult {
  nodes: number;
  divergent: number;
  /** A few of the divergent nodes, for the report. */
  examples: Divergence[];
  /** How long it took to agree (or the deadline), ms. */
  settleMs: number;
  attempts: number;
}

export async function verifyConvergence(fleet: Fleet, desired: DesiredSets, nodes: readonly string[], deadlineMs: number): Promise<VerificationResult> {
  const started = Date.now();
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const expected = await desired.compute(nodes);
    const held = await fleet.digests();
    const divergent: Divergence[] = [];
    for (const [node, digest, size, link] of held) {
      const want = expected.get(node);
      if (!want || want.digest !== digest) divergent.push({ node, expectedObjects: want?.size ?? 0, heldObjects: size, link });
    }
    const out = Date.now() - started >= deadlineMs;
    if (divergent.length === 0 || out) {
      return { nodes: held.length, divergent: divergent.length, examples: divergent.slice(0, 5), settleMs: Date.now() - started, attempts };
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
