/**
 * Cluster-wide edge configuration both ends agree on: ConfigMaps in the hub's namespace labelled
 * `edge-sync.io/filter-rules=true` carry the agents' upstream event rules under `rules.yaml`;
 * the annotation `edge-sync.io/node-selector` (a label selector) narrows one to the nodes whose
 * Node labels match. The hub decides which nodes receive them; the agent reads them.
 */
export const FILTER_RULES_LABEL = 'edge-sync.io/filter-rules';
export const FILTER_RULES_KEY = 'rules.yaml';
export const NODE_SELECTOR_ANNOTATION = 'edge-sync.io/node-selector';
