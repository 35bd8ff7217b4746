/**
 * The printer of each kind: its columns and how a row is computed, as kube-apiserver prints
 * Nodes (STATUS from the Ready condition, ROLES from node-role labels), Events, ConfigMaps,
 * Secrets, Namespaces and Leases; Pods are pod-printer.ts. Priority-1 columns are the ones
 * kubectl shows only with `-o wide`; the server always sends them, as kube-apiserver does.
 */
import type { JsonObject } from '../json.js';
import { AGE, age, column, conditionStatus, NAME, since, type RowPrinter, type TableCell, type TableColumnDefinition } from './columns.js';
import { arrayField, nameOf, numberField, objectField, objectsIn, stringField } from './object-fields.js';
import { POD_COLUMNS, podRow } from './pod-printer.js';

const NODE_COLUMNS: TableColumnDefinition[] = [
  NAME,
  column('Status', 'The status of the node'),
  column('Roles', 'The roles of the node'),
  AGE,
  column('Version', 'Kubelet Version reported by the node.'),
  column('Internal-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.', { priority: 1 }),
  column('External-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.', { priority: 1 }),
  column('OS-Image', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', { priority: 1 }),
  column('Kernel-Version', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", { priority: 1 }),
  column('Container-Runtime', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', { priority: 1 }),
];

function nodeRoles(node: JsonObject): string[] {
  const labels = objectField(objectField(node, 'metadata'), 'labels') ?? {};
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(labels)) {
    if (key.startsWith('node-role.kubernetes.io/')) {
      const role = key.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (key === 'kubernetes.io/role' && typeof value === 'string' && value !== '') {
      roles.add(value);
    }
  }
  return [...roles].sort();
}

function nodeAddress(node: JsonObject, type: string): string {
  for (const address of objectsIn(arrayField(objectField(node, 'status'), 'addresses'))) {
    if (stringField(address, 'type') === type) return stringField(address, 'address') ?? '<none>';
  }
  return '<none>';
}

export function nodeRow(node: JsonObject, now: number): TableCell[] {
  const status = objectField(node, 'status') ?? {};
  const states: string[] = [];
  const ready = conditionStatus(objectsIn(arrayField(status, 'conditions')), 'Ready');
  if (ready !== undefined) states.push(ready === 'True' ? 'Ready' : 'NotReady');
  if (states.length === 0) states.push('Unknown');
  if (objectField(node, 'spec')?.unschedulable === true) states.push('SchedulingDisabled');
  const roles = nodeRoles(node).join(',') || '<none>';
  const info = objectField(status, 'nodeInfo') ?? {};
  return [
    nameOf(node),
    states.join(','),
    roles,
    age(node, now),
    stringField(info, 'kubeletVersion') ?? '',
    nodeAddress(node, 'InternalIP'),
    nodeAddress(node, 'ExternalIP'),
    stringField(info, 'osImage') || '<unknown>',
    stringField(info, 'kernelVersion') || '<unknown>',
    stringField(info, 'containerRuntimeVersion') || '<unknown>',
  ];
}

function dataCount(obj: JsonObject): number {
  return Object.keys(objectField(obj, 'data') ?? {}).length + Object.keys(objectField(obj, 'binaryData') ?? {}).length;
}

const EVENT_COLUMNS: TableColumnDefinition[] = [
  column('Last Seen', 'The last time the event was seen'),
  column('Type', 'Type of this event (Normal, Warning), new types could be added in the future.'),
  column('Reason', 'This should be a short, machine understandable string that gives the reason for this event being generated.'),
  column('Object', 'The object this Event is about.'),
  column('Message', 'A human-readable description of the status of this operation.'),
  column('Source', 'The component reporting this event.', { priority: 1 }),
  column('Count', 'The number of times this event has occurred.', { type: 'integer', priority: 1 }),
  column('Name', 'Name must be unique within a namespace.', { format: 'name', priority: 1 }),
];

function eventRow(event: JsonObject, now: number): TableCell[] {
  const involved = objectField(event, 'involvedObject') ?? {};
  const lastSeen = stringField(event, 'lastTimestamp') || stringField(event, 'eventTime') || stringField(objectField(event, 'metadata'), 'creationTimestamp');
  const source = objectField(event, 'source');
  return [
    since(lastSeen, now),
    stringField(event, 'type') ?? '',
    stringField(event, 'reason') ?? '',
    `${(stringField(involved, 'kind') ?? '').toLowerCase()}/${stringField(involved, 'name') ?? ''}`,
    (stringField(event, 'message') ?? '').trim(),
    [stringField(source, 'component'), stringField(source, 'host')].filter(Boolean).join(', ') || stringField(event, 'reportingComponent') || '',
    numberField(event, 'count') ?? 1,
    nameOf(event),
  ];
}

export interface KindPrinter {
  columns: TableColumnDefinition[];
  row: RowPrinter;
}

const PRINTERS: Record<string, KindPrinter> = {
  Pod: { columns: POD_COLUMNS, row: podRow },
  Node: { columns: NODE_COLUMNS, row: nodeRow },
  ConfigMap: {
    columns: [NAME, column('Data', 'Data contains the configuration data.', { type: 'integer' }), AGE],
    row: (obj, now) => [nameOf(obj), dataCount(obj), age(obj, now)],
  },
  Secret: {
    columns: [NAME, column('Type', 'Used to facilitate programmatic handling of secret data.'), column('Data', 'Data contains the secret data.', { type: 'integer' }), AGE],
    row: (obj, now) => [nameOf(obj), stringField(obj, 'type') ?? 'Opaque', dataCount(obj), age(obj, now)],
  },
  Namespace: {
    columns: [NAME, column('Status', 'The status of the namespace'), AGE],
    row: (obj, now) => [nameOf(obj), stringField(objectField(obj, 'status'), 'phase') ?? '', age(obj, now)],
  },
  Lease: {
    columns: [NAME, column('Holder', 'The holder of the lease'), AGE],
    row: (obj, now) => [nameOf(obj), stringField(objectField(obj, 'spec'), 'holderIdentity') ?? '', age(obj, now)],
  },
  Event: { columns: EVENT_COLUMNS, row: eventRow },
};

const DEFAULT_PRINTER: KindPrinter = { columns: [NAME, AGE], row: (obj, now) => [nameOf(obj), age(obj, now)] };

/** The printer for objects of `kind`; kinds without one get Name and Age. */
export function printerFor(kind: string): KindPrinter {
  return PRINTERS[kind] ?? DEFAULT_PRINTER;
}
