/**
 * protocol/kube/: the Kubernetes wire format both Kubernetes-shaped APIs of edge-sync serve (the
 * hub's API server and the agent's local API). Not part of the hub<->agent contract, which is
 * `protocol/index.ts`; import this index explicitly.
 */
export * from './discovery.js';
export * from './field-selector.js';
export * from './label-selector.js';
export * from './object-fields.js';
export * from './object-filter.js';
export * from './query.js';
export * from './representation.js';
export * from './status.js';
export * from './table.js';
export { humanDuration, type TableCell, type TableColumnDefinition } from './columns.js';
export { podRow } from './pod-printer.js';
export { nodeRow } from './printers.js';
export * from './time.js';
export * from './taints.js';
export { nodeSystemInfo } from './node-system-info.js';
export * from './quantity.js';
