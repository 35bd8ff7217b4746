/**
 * Which objects each node may and must see (the NodeAuthorizer rule): its own Node, the Pods
 * bound to it, and exactly the ConfigMaps and Secrets those Pods reference (env, envFrom,
 * volumes, projected volumes, imagePullSecrets), plus cluster-wide edge configuration.
 *
 * Maintained incrementally from watch cache changes. For every affected (node, key) pair it
 * tells its listener; the session then works out what to send from the watch cache, so the
 * scope never builds ops and never holds object bodies (a ConfigMap shared by 1,000 nodes is
 * held once, in the WatchCache, with a reference count per node here).
 */
import { formatKey, parseKey, type JsonObject } from '../../protocol/index.js';
import type { DesiredChangeListener } from '../session/desired-state.js';
import { EdgeConfigIndex } from './edge-config.js';
import { KeyIndex } from './key-index.js';
import { podReferenceKeys } from './pod-references.js';
import type { ObjectChange } from './watch-cache.js';

interface PodPlacement {
  node: string;
  uid: string;
  refs: readonly string[];
}

export class NodeScope {
  private readonly pods = new Map<string, PodPlacement>();
  private readonly podsByNode = new KeyIndex();
  /** node -> referenced ConfigMap/Secret key -> number of the node's Pods referencing it. */
  private readonly refCounts = new Map<string, Map<string, number>>();
  /** ConfigMap/Secret key -> nodes with at least one Pod referencing it. */
  private readonly referencingNodes = new KeyIndex();
  /** Node -> its labels (from its Node object), for edge configuration selectors. */
  private readonly nodeLabels = new Map<string, Record<string, string>>();
  private readonly edgeConfig: EdgeConfigIndex;

  /** @param hubNamespace where cluster-wide edge configuration lives (see edge-config.ts) */
  constructor(
    private readonly listener: DesiredChangeListener,
    hubNamespace = 'edge-system',
  ) {
    this.edgeConfig = new EdgeConfigIndex(hubNamespace);
  }

  apply(change: ObjectChange): void {
    switch (change.kind) {
      case 'Node': {
        const node = parseKey(change.key).name;
        const labels = ((change.obj?.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {}) as Record<string, string>;
        if (change.obj) this.nodeLabels.set(node, labels);
        else this.nodeLabels.delete(node);
        this.listener.changed(node, change.key, change.at);
        // Labels decide which edge configuration the node gets.
        for (const key of this.edgeConfig.keys) this.listener.changed(node, key, change.at);
        return;
      }
      case 'Pod':
        this.applyPod(change);
        return;
      case 'ConfigMap':
      case 'Secret':
        if (change.kind === 'ConfigMap' && this.edgeConfig.update(change.key, change.obj)) {
          // Every node, including connected ones the scope knows nothing of yet.
          this.listener.changedForEveryNode(change.key, change.at);
          return;
        }
        for (const node of this.referencingNodes.members(change.key)) this.listener.changed(node, change.key, change.at);
        return;
    }
  }

  /**
   * The keys of the node's desired set, whether or not the objects exist (yet). Ordered Node,
   * ConfigMaps and Secrets, then Pods, so an agent applying in order has a Pod's
   * configuration before the Pod; a key may come twice (edge configuration a Pod references).
   */
  *desiredKeys(node: string): IterableIterator<string> {
    yield formatKey('Node', '', node);
    const labels = this.nodeLabels.get(node) ?? {};
    for (const key of this.edgeConfig.keys) if (this.edgeConfig.matches(key, labels)) yield key;
    yield* this.refCounts.get(node)?.keys() ?? [];
    yield* this.podsByNode.members(node);
  }

  /** Whether `key` is in `node`'s desired set (ignoring whether the object exists). */
  inScope(node: string, key: string): boolean {
    // On every op of every send: prefix checks, not a parse.
    if (key.startsWith('Node/')) return key === formatKey('Node', '', node);
    if (key.startsWith('Pod/')) return this.pods.get(key)?.node === node;
    if (this.edgeConfig.has(key) && this.edgeConfig.matches(key, this.nodeLabels.get(node) ?? {})) return true;
    return (this.refCounts.get(node)?.get(key) ?? 0) > 0;
  }

  /** The node a Pod is bound to and the Pod's uid, if the hub knows the Pod. */
  placementOf(podKey: string): { node: string; uid: string } | undefined {
    return this.pods.get(podKey);
  }

  /** Nodes whose Node object carries `label` (any value). */
  *nodesLabelled(label: string): IterableIterator<string> {
    for (const [node, labels] of this.nodeLabels) if (Object.hasOwn(labels, label)) yield node;
  }

  /** Nodes with a Pod referencing the ConfigMap or Secret `key`. */
  nodesReferencing(key: string): Iterable<string> {
    return this.referencingNodes.members(key);
  }

  /** Keys of the Pods bound to `node`. */
  podsOn(node: string): Iterable<string> {
    return this.podsByNode.members(node);
  }

  private applyPod(change: ObjectChange): void {
    const { key, at } = change;
    const old = this.pods.get(key);
    const next = change.obj ? placementOf(change.obj) : undefined;
    if (old && (!next || old.node !== next.node)) {
      this.pods.delete(key);
      this.podsByNode.remove(old.node, key);
      this.listener.changed(old.node, key, at);
      for (const ref of old.refs) this.release(old.node, ref, at);
    }
    if (!next) return;
    this.pods.set(key, next);
    if (old && old.node === next.node) {
      // Configuration first: a Pod that gains a reference is sent after what it references.
      for (const ref of next.refs) if (!old.refs.includes(ref)) this.retain(next.node, ref, at);
      this.listener.changed(next.node, key, at);
      for (const ref of old.refs) if (!next.refs.includes(ref)) this.release(next.node, ref, at);
      return;
    }
    this.podsByNode.add(next.node, key);
    for (const ref of next.refs) this.retain(next.node, ref, at);
    this.listener.changed(next.node, key, at);
  }

  private retain(node: string, ref: string, at: number): void {
    let counts = this.refCounts.get(node);
    if (!counts) this.refCounts.set(node, (counts = new Map()));
    const count = counts.get(ref) ?? 0;
    counts.set(ref, count + 1);
    if (count === 0) {
      this.referencingNodes.add(ref, node);
      this.listener.changed(node, ref, at);
    }
  }

  private release(node: string, ref: string, at: number): void {
    const counts = this.refCounts.get(node);
    const count = counts?.get(ref) ?? 0;
    if (!counts || count === 0) return;
    if (count > 1) {
      counts.set(ref, count - 1);
      return;
    }
    counts.delete(ref);
    if (counts.size === 0) this.refCounts.delete(node);
    this.referencingNodes.remove(ref, node);
    this.listener.changed(node, ref, at);
  }
}

/** Where a Pod runs and what it references; undefined for Pods not bound to a node. */
function placementOf(pod: JsonObject): PodPlacement | undefined {
  const node = (pod.spec as { nodeName?: unknown } | undefined)?.nodeName;
  if (typeof node !== 'string' || node.length === 0) return undefined;
  const uid = (pod.metadata as { uid?: unknown } | undefined)?.uid;
  return { node, uid: typeof uid === 'string' ? uid : '', refs: podReferenceKeys(pod) };
}
