/**
 * What the event inputs offer the filter: an event before any rule has looked at it. It carries no
 * priority or expiry; those come from the rule that forwards it.
 */
import { EVENT_LIMITS, EVENT_SOURCES, isKey, type JsonValue } from '../../protocol/index.js';

export { EVENT_SOURCES };
export type EventSource = (typeof EVENT_SOURCES)[number];

export interface CandidateEvent {
  /** Unique at birth; a forwarded event keeps it, so the hub can de-duplicate resends. */
  id: string;
  /** When it happened, ms since the epoch. */
  ts: number;
  source: EventSource;
  /** `Normal` or `Warning` for Kubernetes-style events; free for bus messages. */
  type: string;
  reason: string;
  message?: string;
  /** Key of the involved object, `Pod/ns/name`. */
  object?: string;
  /** Local MQTT topic, for `bus` events. */
  topic?: string;
  payload?: JsonValue;
}

/** The members a rule path may start with (`payload.temp`, `object`, ...). */
export const CANDIDATE_MEMBERS = ['id', 'ts', 'source', 'type', 'reason', 'message', 'object', 'topic', 'payload'] as const;

// Limits of the `event` frame (protocol/frames.ts EVENT_LIMITS). A candidate that breaks one would
// make the hub refuse the whole frame it travels in, so the engine turns it away at the door instead.
export const MAX_ID = EVENT_LIMITS.id;
export const MAX_TYPE = EVENT_LIMITS.type;
export const MAX_REASON = EVENT_LIMITS.reason;
export const MAX_TOPIC = EVENT_LIMITS.topic;
/** Longer messages are cut, not refused: the event is still worth sending. */
export const MAX_MESSAGE = EVENT_LIMITS.message;

const SOURCE_SET: ReadonlySet<string> = new Set(EVENT_SOURCES);

/** Why `candidate` cannot become an `EdgeEvent`, or undefined when it can. */
export function candidateProblem(candidate: CandidateEvent): string | undefined {
  const { id, ts, source, type, reason, object, topic, message } = candidate;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID) return `id must be 1 to ${MAX_ID} characters`;
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return 'ts must be a finite number';
  if (!SOURCE_SET.has(source)) return `source must be one of ${EVENT_SOURCES.join(', ')}`;
  if (typeof type !== 'string' || type.length > MAX_TYPE) return `type must be a string of at most ${MAX_TYPE} characters`;
  if (typeof reason !== 'string' || reason.length > MAX_REASON) return `reason must be a string of at most ${MAX_REASON} characters`;
  if (message !== undefined && typeof message !== 'string') return 'message must be a string';
  if (object !== undefined && (typeof object !== 'string' || object.length > 1024 || !isKey(object))) return 'object must be an object key Kind/namespace/name';
  if (topic !== undefined && (typeof topic !== 'string' || topic.length > MAX_TOPIC)) return `topic must be a string of at most ${MAX_TOPIC} characters`;
  return undefined;
}
