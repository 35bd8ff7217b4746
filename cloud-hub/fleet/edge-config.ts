/**
 * Cluster-wide edge configuration that nodes receive without any Pod referencing it: the
 * ConfigMaps in the hub's namespace labelled `edge-sync.io/filter-rules=true` (the agents'
 * upstream event rules). Annotation `edge-sync.io/node-selector` (a label selector) narrows a
 * ConfigMap to the nodes whose Node labels match; without it every node gets it.
 */
import { FILTER_RULES_LABEL, NODE_SELECTOR_ANNOTATION, parseKey, type JsonObject } from '../../protocol/index.js';
import { parseLabelSelector, type LabelSelector } from '../../protocol/kube/index.js';


interface EdgeConfigEntry {
  /** Empty: every node. Undefined: the selector does not parse, so no node gets it. */
  selector: LabelSelector | undefined;
}

export class EdgeConfigIndex {
  private readonly configs = new Map<string, EdgeConfigEntry>();

  constructor(private readonly namespace: string) {}

  get keys(): IterableIterator<string> {
    return this.configs.keys();
  }

  /** Whether `key` is an edge configuration object (now or before this change). */
  has(key: string): boolean {
    return this.configs.has(key);
  }

  /** Records a ConfigMap change; returns true when `key` is (or was) edge configuration. */
  update(key: string, obj: JsonObject | undefined): boolean {
    const { kind, namespace } = parseKey(key);
    if (kind !== 'ConfigMap' || namespace !== this.namespace) return false;
    const metadata = (obj?.metadata ?? {}) as { labels?: Record<string, string>; annotations?: Record<string, string> };
    const wasConfig = this.configs.delete(key);
    if (!obj || metadata.labels?.[FILTER_RULES_LABEL] !== 'true') return wasConfig;
    let selector: LabelSelector | undefined;
    try {
      selector = parseLabelSelector(metadata.annotations?.[NODE_SELECTOR_ANNOTATION] ?? '');
    } catch {
      selector = undefined;
    }
    this.configs.set(key, { selector });
    return true;
  }

  /** Whether a node with `labels` gets the configuration `key`. */
  matches(key: string, labels: Record<string, string>): boolean {
    const entry = this.configs.get(key);
    return entry?.selector !== undefined && entry.selector.matches(labels);
  }
}
