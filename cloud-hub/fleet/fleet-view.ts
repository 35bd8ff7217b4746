/**
 * The fleet as the edge sees it: every watched object once (the WatchCache) and which of them
 * each node may and must see (the NodeScope). It is the one place a watch event becomes what
 * nodes should hold: the hub subscribes it to its informers, the simulator's verifier feeds it a
 * fresh list, and sessions read it through the narrow DesiredState they declare.
 *
 * Token Secrets in the hub's namespace are never part of it: they are credentials, and the
 * token store (cloud-hub/auth/token-store.ts) takes them from the same informer.
 */
import { isTokenSecret } from '../auth/node-tokens.js';
import type { WatchEvent, WatchEventHandler } from '../kube/watched-kinds.js';
import type { DesiredChangeListener, DesiredChanges, DesiredState } from '../session/desired-state.js';
import { NodeScope } from './node-scope.js';
import { WatchCache, type ObjectVersion } from './watch-cache.js';

export class FleetView implements WatchEventHandler, DesiredState, DesiredChanges {
  private readonly cache = new WatchCache();
  private readonly scope: NodeScope;
  private listeners: readonly DesiredChangeListener[] = [];

  /** @param namespace the hub's namespace: its token Secrets are left out, its filter-rule ConfigMaps are edge configuration */
  constructor(private readonly namespace = 'edge-system') {
    this.scope = new NodeScope(
      {
        changed: (node, key, at) => {
          for (const listener of this.listeners) listener.changed(node, key, at);
        },
        changedForEveryNode: (key, at) => {
          for (const listener of this.listeners) listener.changedForEveryNode(key, at);
        },
      },
      namespace,
    );
  }

  /** Objects held, once each however many nodes see them. */
  get size(): number {
    return this.cache.size;
  }

  subscribe(listener: DesiredChangeListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((other) => other !== listener);
    };
  }

  /** One watch event: the cache takes it, and the scope tells listeners which nodes it may concern. */
  apply(event: WatchEvent): void {
    if (event.kind === 'Secret' && isTokenSecret(event.obj, this.namespace)) return;
    const change = this.cache.apply(event);
    if (change) this.scope.apply(change);
  }

  desired(node: string): Map<string, ObjectVersion> {
    const result = new Map<string, ObjectVersion>();
    for (const key of this.scope.desiredKeys(node)) {
      const version = this.cache.get(key);
      if (version) result.set(key, version);
    }
    return result;
  }

  wanted(node: string, key: string): ObjectVersion | undefined {
    return this.scope.inScope(node, key) ? this.cache.get(key) : undefined;
  }

  putOp(version: ObjectVersion): string {
    return this.cache.putOp(version);
  }

  putOpShared(version: ObjectVersion): boolean {
    return this.cache.putOpShared(version);
  }

  /** The current version of `key`, whoever may see it (upstream checks: a Node's uid, a Pod being deleted). */
  get(key: string): ObjectVersion | undefined {
    return this.cache.get(key);
  }

  /** Whether `key` is in `node`'s desired set, whether or not the object exists. */
  inScope(node: string, key: string): boolean {
    return this.scope.inScope(node, key);
  }

  /** The node a Pod is bound to and the Pod's uid, if the hub knows the Pod. */
  placementOf(podKey: string): { node: string; uid: string } | undefined {
    return this.scope.placementOf(podKey);
  }

  /** Nodes whose Node object carries `label` (any value). */
  nodesLabelled(label: string): IterableIterator<string> {
    return this.scope.nodesLabelled(label);
  }

  nodesReferencing(key: string): Iterable<string> {
    return this.scope.nodesReferencing(key);
  }

  /** Keys of the Pods bound to `node` (spec.nodeName), whether or not a session is open. */
  podsOn(node: string): Iterable<string> {
    return this.scope.podsOn(node);
  }
}
