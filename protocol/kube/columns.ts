/**
 * What every kube printer shares (pkg/printers/internalversion in Kubernetes): column
 * definitions, the Name and Age columns, and kube's human-readable durations.
 */
import type { JsonObject } from '../json.js';
import { objectField, stringField } from './object-fields.js';

export interface TableColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  /** 0: always shown; 1: only with `-o wide`. */
  priority: number;
}

export type TableCell = string | number | boolean;
/** The cells of one object's row, with AGE computed against `now`. */
export type RowPrinter = (obj: JsonObject, now: number) => TableCell[];

/** A column as kube defines it: a string column, always shown, unless `extra` says otherwise. */
export function column(name: string, description: string, extra: Partial<TableColumnDefinition> = {}): TableColumnDefinition {
  return { name, type: 'string', format: '', description, priority: 0, ...extra };
}

export const NAME = column('Name', 'Name must be unique within a namespace.', { format: 'name' });
export const AGE = column('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.');

/** kube's duration.HumanDuration: "5s", "3m20s", "5h", "2d3h", "3y". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    const years = Math.floor(hours / 24 / 365);
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** How long ago `timestamp` was, as kube prints it; `<unknown>` for none or an unreadable one. */
export function since(timestamp: string | undefined, now: number): string {
  if (!timestamp) return '<unknown>';
  const at = Date.parse(timestamp);
  if (Number.isNaN(at)) return '<unknown>';
  return humanDuration(now - at);
}

/** The AGE column: since metadata.creationTimestamp. */
export function age(obj: JsonObject, now: number): string {
  return since(stringField(objectField(obj, 'metadata'), 'creationTimestamp'), now);
}

/** The status ("True", "False", "Unknown") of the condition of this type, if there is one. */
export function conditionStatus(conditions: JsonObject[], type: string): string | undefined {
  for (const condition of conditions) if (stringField(condition, 'type') === type) return stringField(condition, 'status');
  return undefined;
}

