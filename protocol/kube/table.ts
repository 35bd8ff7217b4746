/**
 * Server-side printing, shared by the two Kubernetes-wire APIs of edge-sync (the hub's API
 * server and the agent's local API): `meta.k8s.io/v1` Tables, which kubectl asks for
 * (`Accept: ...;as=Table`) for `get` and `get -w`. The rows follow kube-apiserver's printers
 * (printers.ts, pod-printer.ts), because people read `kubectl get pods -o wide` and
 * `kubectl get nodes` to see what the edge is doing.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import type { TableColumnDefinition } from './columns.js';
import { objectField, stringField } from './object-fields.js';
import { printerFor } from './printers.js';

/** What each row carries of its object: nothing, its metadata (kubectl's default) or all of it. */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableOptions {
  includeObject: IncludeObject;
  /** kube sends column definitions once per watch; later event tables leave them empty. */
  withColumns: boolean;
  /** `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`, whichever the client asked for. */
  apiVersion: string;
  resourceVersion?: string;
  continueToken?: string;
  /** The clock AGE columns are computed against. */
  now: number;
}

/** The columns a Table of `kind` has. */
export function tableColumns(kind: string): TableColumnDefinition[] {
  return printerFor(kind).columns;
}

/** A `Table` of `objects`, all of one `kind`. */
export function kubeTable(kind: string, objects: readonly JsonObject[], options: TableOptions): JsonObject {
  const printer = printerFor(kind);
  const metadata: JsonObject = {};
  if (options.resourceVersion !== undefined) metadata.resourceVersion = options.resourceVersion;
  if (options.continueToken) metadata.continue = options.continueToken;
  const rows: JsonValue[] = objects.map((obj) => {
    const row: JsonObject = { cells: printer.row(obj, options.now) };
    const phase = stringField(objectField(obj, 'status'), 'phase');
    if (kind === 'Pod' && (phase === 'Succeeded' || phase === 'Failed')) {
      row.conditions = [{ type: 'Completed', status: 'True', reason: phase, message: phase === 'Succeeded' ? 'The pod has completed successfully.' : 'The pod failed.' }];
    }
    if (options.includeObject === 'Object') row.object = obj;
    else if (options.includeObject === 'Metadata') row.object = partialObjectMetadata(obj, options.apiVersion);
    return row;
  });
  return {
    kind: 'Table',
    apiVersion: options.apiVersion,
    metadata,
    columnDefinitions: options.withColumns ? printer.columns.map((c) => ({ ...c })) : [],
    rows,
  };
}

/** `PartialObjectMetadata` of an object (what clients that only need metadata ask for). */
export function partialObjectMetadata(obj: JsonObject, apiVersion: string): JsonObject {
  return { kind: 'PartialObjectMetadata', apiVersion, metadata: isJsonObject(obj.metadata) ? obj.metadata : {} };
}
