/**
 * What a session needs to know of what its node should hold, and nothing more: the desired set
 * for a resync, the version of one key for the steady stream, the `put` op of a version, and
 * word that a key may have changed. The fleet view (cloud-hub/fleet/fleet-view.ts) implements
 * it; sessions never see the watch cache or the scope rule behind it.
 */

/** One version of an object, as a session sends it. */
export interface DesiredVersion {
  readonly key: string;
  /** Content version (protocol rv). */
  readonly rv: string;
  /** A `patch` op from the previous version, present when it is smaller than a `put`. */
  readonly patch?: { readonly baseRv: string; readonly opJson: string };
}

export interface DesiredState {
  /**
   * The node's desired set, key -> version, in the order an agent should apply it: its Node,
   * configuration (ConfigMaps and Secrets), then Pods.
   */
  desired(node: string): ReadonlyMap<string, DesiredVersion>;
  /** The version of `key` the node should hold now; undefined: it must not hold the key. */
  wanted(node: string, key: string): DesiredVersion | undefined;
  /** The `put` op JSON of `version`, one this view handed out (built once for objects many nodes share). */
  putOp(version: DesiredVersion): string;
  /** True when putOp gives every node the same string for `version` (kinds many nodes share), so its bytes are worth keeping. */
  putOpShared(version: DesiredVersion): boolean;
}

/** Told which (node, key) pairs may have changed; what to send is worked out when the key is sent. */
export interface DesiredChangeListener {
  changed(node: string, key: string, at: number): void;
  /**
   * `key` may have changed for every node (cluster-wide edge configuration): the view cannot
   * name nodes it has no Node object or Pod of, and a node may be connected without either.
   */
  changedForEveryNode(key: string, at: number): void;
}

export interface DesiredChanges {
  /** Calls `listener` for every change from now on; returns the unsubscribe. */
  subscribe(listener: DesiredChangeListener): () => void;
}
