/**
 * What a hello costs: the node's digest and `have` list against its desired set. The hub keeps
 * no state between connections (a hub restart, a failover and a week offline take this same
 * path: protocol/README.md), so this comparison is all a reconnect is.
 */
import type { HelloFrame } from '../../protocol/index.js';
import type { DesiredVersion } from './desired-state.js';
import { NodeView } from './node-view.js';

export type ResyncPlan =
  /** The node holds exactly its desired set: `welcome` and `synced` are all it needs. */
  | { equal: true; digest: string }
  /** Keys to send (put, patch or del), in desired-set order, then the keys the node must drop. */
  | { equal: false; pending: Set<string> };

/**
 * Compares `hello` with `desired` and records in `view` what the node holds: the desired set
 * when the digests are equal, else the node's own `have` list, from which the pending keys'
 * ops are planned as they are sent.
 */
export function planResync(hello: HelloFrame, desired: ReadonlyMap<string, DesiredVersion>, view: NodeView): ResyncPlan {
  const wanted = new NodeView();
  for (const [key, version] of desired) wanted.set(key, version.rv);
  const digest = wanted.digest();
  if (hello.digest === digest) {
    for (const [key, version] of desired) view.set(key, version.rv);
    return { equal: true, digest };
  }
  const pending = new Set<string>();
  for (const [key, rv] of hello.have) view.set(key, rv);
  for (const [key, version] of desired) {
    if (view.rvOf(key) !== version.rv) pending.add(key);
  }
  for (const key of view.keys()) if (!desired.has(key)) pending.add(key);
  return { equal: false, pending };
}
