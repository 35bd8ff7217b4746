/**
 * `aggregate`: matching events are not sent one by one. Per key, a window opens with the first
 * event and lasts `window`; when it ends, one summary event goes up with the count and, for a
 * numeric `field`, min, max, avg, sum and the last value. Windows start at each key's first
 * event rather than on the wall-clock minute, so thousands of agents do not all send their
 * summaries in the same second.
 *
 * The summary keeps the first event's id (that event was never sent, so the id is still
 * unique), source, type and reason; `object` and `topic` only when every event in the window
 * had the same one. Its payload:
 * `{rule, key, count, from, to, field?, values?, min?, max?, avg?, sum?, last?}` where `key`
 * holds the key's values by path, `from`/`to` are the window's start and end (engine clock),
 * and `values` counts the events whose field was a number (min..last are null when none was).
 */
import type { JsonObject, JsonValue } from '../../../protocol/index.js';
import type { CandidateEvent } from '../candidate.js';
import type { Outcome } from '../counters.js';
import { BoundedMap } from '../bounded-map.js';
import { formatDuration } from '../duration.js';
import { parsePath, readPath, type EventPath } from '../event-path.js';
import type { KeyFunction } from '../event-key.js';
import type { TimerHandle } from '../scheduler.js';
import type { Action, ActionContext } from './action.js';

interface Bucket {
  start: number;
  /** What the summary keeps of the first event; its payload and message are not held. */
  first: Pick<CandidateEvent, 'id' | 'source' | 'type' | 'reason' | 'object' | 'topic'>;
  key: Record<string, JsonValue>;
  sameObject: boolean;
  sameTopic: boolean;
  count: number;
  values: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  timer?: TimerHandle;
}

export class AggregateAction implements Action {
  private readonly buckets: BoundedMap<string, Bucket>;
  private readonly field: EventPath | undefined;

  constructor(
    private readonly ctx: ActionContext,
    private readonly window: number,
    private readonly key: KeyFunction,
    private readonly fieldText: string | undefined,
  ) {
    this.field = fieldText === undefined ? undefined : parsePath(fieldText);
    // An evicted bucket sends its summary early (over a shorter window) rather than losing it.
    this.buckets = new BoundedMap(ctx.maxKeys, (_key, bucket) => {
      ctx.evicted();
      this.report(bucket);
    });
  }

  offer(candidate: CandidateEvent): Outcome {
    const key = this.key(candidate);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      const { id, source, type, reason, object, topic } = candidate;
      const opened: Bucket = {
        start: this.ctx.clock(),
        first: { id, source, type, reason, object, topic },
        key: this.key.values(candidate),
        sameObject: true,
        sameTopic: true,
        count: 0,
        values: 0,
        sum: 0,
        min: Infinity,
        max: -Infinity,
        last: 0,
      };
      // Stored before its timer exists: storing may evict (and send) another bucket, and if that
      // send throws, no timer must be left behind for a bucket that was never kept.
      this.buckets.set(key, opened);
      opened.timer = this.ctx.schedule(this.window, () => {
        opened.timer = undefined;
        if (this.buckets.peek(key) === opened) this.buckets.delete(key);
        this.report(opened);
      });
      bucket = opened;
    }
    bucket.count += 1;
    if (candidate.object !== bucket.first.object) bucket.sameObject = false;
    if (candidate.topic !== bucket.first.topic) bucket.sameTopic = false;
    if (this.field) {
      const value = readPath(candidate, this.field);
      if (typeof value === 'number' && Number.isFinite(value)) {
        bucket.values += 1;
        bucket.sum += value;
        if (value < bucket.min) bucket.min = value;
        if (value > bucket.max) bucket.max = value;
        bucket.last = value;
      }
    }
    return 'aggregated';
  }

  /** Ends every window now and sends its summary. */
  flush(): void {
    for (const [key, bucket] of this.buckets.entries()) {
      this.buckets.delete(key);
      this.report(bucket);
    }
  }

  close(): void {
    for (const [, bucket] of this.buckets.entries()) if (bucket.timer !== undefined) this.ctx.cancel(bucket.timer);
    this.buckets.clear();
  }

  private report(bucket: Bucket): void {
    if (bucket.timer !== undefined) {
      this.ctx.cancel(bucket.timer);
      bucket.timer = undefined;
    }
    if (bucket.count === 0) return;
    const now = this.ctx.clock();
    const payload: JsonObject = { rule: this.ctx.rule ?? null, key: bucket.key, count: bucket.count, from: bucket.start, to: now };
    if (this.fieldText !== undefined) {
      const any = bucket.values > 0;
      payload.field = this.fieldText;
      payload.values = bucket.values;
      payload.min = any ? bucket.min : null;
      payload.max = any ? bucket.max : null;
      payload.avg = any ? bucket.sum / bucket.values : null;
      payload.sum = any ? bucket.sum : null;
      payload.last = any ? bucket.last : null;
    }
    const { id, source, type, reason, object, topic } = bucket.first;
    const summary: CandidateEvent = {
      id,
      ts: now,
      source,
      type,
      reason,
      message: `${bucket.count} event${bucket.count === 1 ? '' : 's'} in ${formatDuration(now - bucket.start)} (aggregated by ${this.ctx.rule === undefined ? 'the unmatched defaults' : `rule ${this.ctx.rule}`})`,
      ...(bucket.sameObject && object !== undefined ? { object } : {}),
      ...(bucket.sameTopic && topic !== undefined ? { topic } : {}),
      payload,
    };
    this.ctx.summary(summary, bucket.count);
  }
}
