/**
 * What the hub believes one node holds (key -> rv) after every frame sent so far, and the op
 * that takes a key from there to the node's desired state.
 */
import { encodeOp, mapDigest } from '../../protocol/index.js';
import type { DesiredState, DesiredVersion } from './desired-state.js';

/** An rv no object has: the node holds the key at a version the hub does not know. */
export const UNKNOWN_RV = '';

export interface PlannedOp {
  json: string;
  type: 'put' | 'patch' | 'del';
  /** The same string goes to every node that needs this version (a patch, a shared kind's put): its bytes can be shared too. */
  shared: boolean;
}

export class NodeView {
  private readonly held = new Map<string, string>();

  get size(): number {
    return this.held.size;
  }

  rvOf(key: string): string | undefined {
    return this.held.get(key);
  }

  set(key: string, rv: string): void {
    this.held.set(key, rv);
  }

  /** The node holds `key` at a version we cannot patch from (after `need`). */
  forget(key: string): void {
    if (this.held.has(key)) this.held.set(key, UNKNOWN_RV);
  }

  keys(): IterableIterator<string> {
    return this.held.keys();
  }

  digest(): string {
    return mapDigest(this.held);
  }

  /**
   * The op that brings `key` on the node to `wanted` (undefined: must not be there), or
   * undefined when the node already has it right. Records the result as held.
   */
  plan(key: string, wanted: DesiredVersion | undefined, state: DesiredState): PlannedOp | undefined {
    const current = this.held.get(key);
    if (!wanted) {
      if (current === undefined) return undefined;
      this.held.delete(key);
      return { json: encodeOp({ op: 'del', key }), type: 'del', shared: false };
    }
    if (current === wanted.rv) return undefined;
    this.held.set(key, wanted.rv);
    if (wanted.patch && current === wanted.patch.baseRv) return { json: wanted.patch.opJson, type: 'patch', shared: true };
    return { json: state.putOp(wanted), type: 'put', shared: state.putOpShared(wanted) };
  }
}
