/** Turning a candidate into the `EdgeEvent` that travels in an `event` frame. */
import type { EdgeEvent } from '../../protocol/index.js';
import { MAX_MESSAGE, type CandidateEvent } from './candidate.js';

export interface EdgeEventExtras {
  priority: number;
  /** ms since the epoch. */
  expires: number;
  /** How many occurrences the event stands for, when that is not just itself. */
  count?: number;
}

/**
 * The wire form of `candidate` with the forwarding rule's priority and expiry. Members are set
 * only when present and in the order the protocol lists them, so encoded events read alike.
 */
export function toEdgeEvent(candidate: CandidateEvent, extras: EdgeEventExtras): EdgeEvent {
  const { id, ts, source, type, reason, message, object, topic, payload } = candidate;
  return {
    id,
    ts,
    source,
    type,
    reason,
    ...(message !== undefined ? { message: truncate(message) } : {}),
    ...(object !== undefined ? { object } : {}),
    ...(topic !== undefined ? { topic } : {}),
    ...(payload !== undefined ? { payload } : {}),
    priority: extras.priority,
    ...(extras.count !== undefined ? { count: extras.count } : {}),
    expires: extras.expires,
  };
}

/** A long message is still worth sending; the protocol caps it at 8192 characters. */
function truncate(message: string): string {
  return message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE - 1)}\u2026`;
}
