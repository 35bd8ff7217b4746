/**
 * Conditions on one value of the event (`match.fields`). Every operator given must hold. No
 * type coercion: `eq: 1` does not match `"1"`, and the numeric comparisons hold only for
 * numbers, because bus payloads come from many apps and a silent string-to-number guess would
 * match things nobody meant to. A missing value satisfies only `exists: false` and `ne`
 * (it is not equal to anything), as in MongoDB queries.
 */
import { isJsonObject, type JsonValue } from '../../protocol/index.js';

export interface FieldCondition {
  eq?: JsonValue;
  ne?: JsonValue;
  in?: readonly JsonValue[];
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  exists?: boolean;
}

export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i] as JsonValue));
  if (isJsonObject(a)) {
    if (!isJsonObject(b)) return false;
    const names = Object.keys(a);
    if (names.length !== Object.keys(b).length) return false;
    return names.every((name) => Object.hasOwn(b, name) && jsonEqual(a[name] as JsonValue, b[name] as JsonValue));
  }
  return false;
}

/** Whether `value` (undefined when the path is missing) satisfies every operator of `condition`. */
export function conditionHolds(condition: FieldCondition, value: JsonValue | undefined): boolean {
  if (condition.exists !== undefined && condition.exists !== (value !== undefined)) return false;
  if (condition.ne !== undefined && value !== undefined && jsonEqual(value, condition.ne)) return false;
  if (condition.eq !== undefined && (value === undefined || !jsonEqual(value, condition.eq))) return false;
  if (condition.in !== undefined && (value === undefined || !condition.in.some((option) => jsonEqual(value, option)))) return false;
  const hasComparison = condition.gt !== undefined || condition.gte !== undefined || condition.lt !== undefined || condition.lte !== undefined;
  if (!hasComparison) return true;
  if (typeof value !== 'number') return false;
  if (condition.gt !== undefined && !(value > condition.gt)) return false;
  if (condition.gte !== undefined && !(value >= condition.gte)) return false;
  if (condition.lt !== undefined && !(value < condition.lt)) return false;
  if (condition.lte !== undefined && !(value <= condition.lte)) return false;
  return true;
}
