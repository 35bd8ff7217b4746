/**
 * Dotted paths into a candidate event: `payload.sensor`, `payload.readings.0.value`, `object`,
 * `topic`. Rule conditions, keys and aggregate fields all name values this way, rooted at the
 * event so that one syntax reaches both the payload and the event's own members. A member name
 * that itself contains a dot cannot be named; JSON from the bus rarely has them and escapes
 * would make every path harder to read.
 */
import { isJsonObject, type JsonValue } from '../../protocol/index.js';
import { CANDIDATE_MEMBERS, type CandidateEvent } from './candidate.js';

/** A parsed path: the first segment is a candidate member, the rest index into the payload. */
export type EventPath = readonly string[];

const MAX_SEGMENTS = 32;
const ROOTS: ReadonlySet<string> = new Set(CANDIDATE_MEMBERS);

/** Why `text` is not a usable path, or undefined. */
export function pathError(text: string): string | undefined {
  if (text.length === 0) return 'expected a dotted path such as payload.value';
  const segments = text.split('.');
  if (segments.length > MAX_SEGMENTS) return `a path has at most ${MAX_SEGMENTS} segments`;
  if (segments.some((segment) => segment.length === 0)) return `empty segment in path "${text}"`;
  const root = segments[0] ?? '';
  if (!ROOTS.has(root)) return `path "${text}" must start with one of ${CANDIDATE_MEMBERS.join(', ')}`;
  if (segments.length > 1 && root !== 'payload') return `only payload has members below it, not ${root}`;
  return undefined;
}

export function parsePath(text: string): EventPath {
  const why = pathError(text);
  if (why !== undefined) throw new Error(why);
  return text.split('.');
}

/**
 * The value at `path`, or undefined when any step is missing. Arrays are indexed by decimal
 * segments. Only own members are read, so `payload.constructor` is missing, not a function.
 */
export function readPath(candidate: CandidateEvent, path: EventPath): JsonValue | undefined {
  const root = path[0];
  if (root === undefined) return undefined;
  let value: JsonValue | undefined = (candidate as unknown as Record<string, JsonValue | undefined>)[root];
  for (let i = 1; i < path.length && value !== undefined; i++) {
    const segment = path[i] as string;
    if (Array.isArray(value)) {
      value = /^(?:0|[1-9]\d*)$/.test(segment) ? value[Number(segment)] : undefined;
    } else if (isJsonObject(value)) {
      value = Object.hasOwn(value, segment) ? value[segment] : undefined;
    } else {
      value = undefined;
    }
  }
  return value;
}
