/**
 * Tables for the embedded API: the shared kube printers (protocol/kube/table.ts) with the
 * server's clock, so tests can pin the AGE columns.
 */
import type { JsonObject } from '../../protocol/index.js';
import { kubeTable, tableColumns, type TableColumnDefinition, type TableOptions } from '../../protocol/kube/index.js';
import type { ResourceDefinition } from './resources.js';

export class TableConverter {
  constructor(private readonly now: () => number = Date.now) {}

  columns(def: ResourceDefinition): TableColumnDefinition[] {
    return tableColumns(def.kind);
  }

  table(def: ResourceDefinition, objects: JsonObject[], options: Omit<TableOptions, 'now'>): JsonObject {
    return kubeTable(def.kind, objects, { ...options, now: this.now() });
  }
}
